"""Callbacks for migration DAGs: say which step failed, why, and where to look in the console."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def step_links(context: Any) -> dict[str, str]:
    """The extra links (name -> URL) the failed task persisted before it failed."""
    ti = context.get("ti")
    task = context.get("task")
    links: dict[str, str] = {}
    if ti is None or task is None:
        return links
    for link in getattr(task, "operator_extra_links", ()) or ():
        try:
            url = link.get_link(operator=task, ti_key=ti.key)
        except Exception as err:  # a link that cannot be built must not hide the real failure
            log.debug("No %s link for %s: %s", getattr(link, "name", link), ti.task_id, err)
            continue
        if url:
            links[str(link.name)] = str(url)
    return links


def log_failed_step(context: Any) -> None:
    """``on_failure_callback``: log the failed step, its error and its AWS console links."""
    ti = context.get("ti")
    step = getattr(ti, "task_id", "unknown step")
    error = context.get("exception")
    lines = [f"Migration step {step!r} failed: {error or 'no exception recorded'}"]
    for name, url in step_links(context).items():
        lines.append(f"  {name}: {url}")
    log.error("\n".join(lines))

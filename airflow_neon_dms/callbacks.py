"""Callbacks for migration DAGs: say which step failed, why, and where to look in the console."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from airflow_neon_dms.masking import scrub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailedStep:
    """What a failure callback knows about the failed step, with secrets scrubbed from the reason."""

    dag_id: str
    run_id: str
    step: str
    try_number: int | None
    reason: str
    links: dict[str, str] = field(default_factory=dict)
    log_url: str | None = None


def step_links(context: Any) -> dict[str, str]:
    """The extra links (name -> URL) the task persisted, built the way Airflow's task runner builds them.

    Airflow 3's task runner calls ``link.get_link(operator=task, ti_key=ti)`` with the
    ``RuntimeTaskInstance`` itself as the key (it carries dag_id, task_id, run_id and map_index,
    which is all ``XCom.get_value`` reads). A link whose data the task never persisted gives an
    empty URL and is left out; a link that raises is logged as a warning and left out.
    """
    ti = context.get("ti")
    task = context.get("task") or getattr(ti, "task", None)
    links: dict[str, str] = {}
    if ti is None or task is None:
        return links
    for link in getattr(task, "operator_extra_links", ()) or ():
        name = str(getattr(link, "name", type(link).__name__))
        try:
            url = link.get_link(operator=task, ti_key=ti)
        except Exception as err:  # a link that cannot be built must not hide the real failure
            log.warning("Could not build the %r link of step %r: %s", name, ti.task_id, scrub(str(err)))
            continue
        if url:
            links[name] = str(url)
    return links


def failed_step(context: Any) -> FailedStep:
    """The failed step of ``context`` (a task failure callback's context)."""
    ti = context.get("ti")
    dag_run = context.get("dag_run")
    error = context.get("exception")
    try:
        log_url: str | None = ti.log_url if ti is not None else None
    except Exception:  # the URL needs the API base URL from the configuration; optional here
        log_url = None
    return FailedStep(
        dag_id=str(getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "unknown DAG")),
        run_id=str(getattr(ti, "run_id", None) or context.get("run_id") or "unknown run"),
        step=str(getattr(ti, "task_id", "unknown step")),
        try_number=getattr(ti, "try_number", None),
        reason=scrub(str(error)) if error else "no exception recorded",
        links=step_links(context),
        log_url=log_url,
    )


def log_failed_step(context: Any) -> None:
    """``on_failure_callback``: log the failed step, its error and its AWS console links."""
    failed = failed_step(context)
    lines = [f"Migration step {failed.step!r} failed: {failed.reason}"]
    for name, url in failed.links.items():
        lines.append(f"  {name}: {url}")
    log.error("\n".join(lines))

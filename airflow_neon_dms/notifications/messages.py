"""The text of the migration's alerts: a failed step, or the closing report (pure, no Airflow import).

Every notifier gets the same three renderings (``subject``, ``text`` and ``html``) so a mail, a
chat message and a page say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from html import escape
from typing import Any

from airflow_neon_dms.callbacks import FailedStep
from airflow_neon_dms.migration_report import format_report

#: Longest reason shown in a subject line; the body always has all of it.
SUBJECT_REASON_CHARS = 120


@dataclass(frozen=True)
class MigrationAlert:
    """One message in three renderings; notifiers' templates read it as ``neon_dms_alert``."""

    kind: str
    subject: str
    text: str
    html: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _short(reason: str) -> str:
    first = reason.strip().splitlines()[0] if reason.strip() else reason
    return first if len(first) <= SUBJECT_REASON_CHARS else first[: SUBJECT_REASON_CHARS - 3] + "..."


def failure_alert(failed: FailedStep) -> MigrationAlert:
    """The alert for a failed step: which step, why, and where to look (console links, task log)."""
    subject = f"[{failed.dag_id}] Migration step {failed.step} failed: {_short(failed.reason)}"
    attempt = f" (try {failed.try_number})" if failed.try_number else ""
    places = dict(failed.links)
    if failed.log_url:
        places["Airflow task log"] = failed.log_url
    text_lines = [
        f"Migration step {failed.step!r} of DAG {failed.dag_id!r} failed{attempt}.",
        f"Run: {failed.run_id}",
        "",
        "Reason:",
        failed.reason,
    ]
    if places:
        text_lines += ["", "Where to look:", *(f"  {name}: {url}" for name, url in places.items())]
    html_places = "".join(
        f'<li>{escape(name)}: <a href="{escape(url)}">{escape(url)}</a></li>' for name, url in places.items()
    )
    html = (
        f"<p>Migration step <b>{escape(failed.step)}</b> of DAG <b>{escape(failed.dag_id)}</b> "
        f"failed{escape(attempt)}.<br>Run: {escape(failed.run_id)}</p>"
        f"<p><b>Reason</b></p><pre>{escape(failed.reason)}</pre>"
        + (f"<p><b>Where to look</b></p><ul>{html_places}</ul>" if places else "")
    )
    return MigrationAlert(kind="failure", subject=subject, text="\n".join(text_lines), html=html)


def report_alert(dag_id: str, run_id: str, report: Mapping[str, Any]) -> MigrationAlert:
    """The closing report: the per-table table of the ``report`` step and its verdict."""
    tables = len(report.get("tables", []))
    if report.get("verified"):
        verdict = f"verified, {tables} table(s) identical on Neon"
    else:
        verdict = "finished but NOT verified"
    subject = f"[{dag_id}] Migration into Neon {verdict}"
    table = format_report(report)
    text = f"Migration into Neon of DAG {dag_id!r}, run {run_id}: {verdict}.\n\n{table}"
    html = (
        f"<p>Migration into Neon of DAG <b>{escape(dag_id)}</b>, run {escape(run_id)}: "
        f"<b>{escape(verdict)}</b>.</p><pre>{escape(table)}</pre>"
    )
    return MigrationAlert(kind="report", subject=subject, text=text, html=html)

"""The migration's closing report: DMS's word, the reloads, and the independent diff, per table.

Pure functions over the XCom values of the validation, reload, data-diff and sequence-sync steps,
and with CDC the cutover window: seconds from the moment the application's writes stopped (a
person approved, or the quiet window began) to Neon verified and its sequences synced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from tabulate import tabulate


def _name(item: Mapping[str, Any]) -> str:
    return f"{item.get('schema')}.{item.get('table')}"


def build_report(
    *,
    validation: Mapping[str, Any] | None,
    reload: Mapping[str, Any] | None,
    diff: Mapping[str, Any] | None,
    sequences: Mapping[str, Any] | None,
    cutover: Mapping[str, Any] | None = None,
    assessment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One row per table plus totals; ``verified`` only when the diff compared every table.

    ``cutover`` is the :func:`cutover_window` of a migration with CDC (None for a full load).
    """
    rows: dict[str, dict[str, Any]] = {}
    for item in (validation or {}).get("tables", []):
        rows.setdefault(_name(item), {}).update(
            dms_rows=item.get("rows"),
            table_state=item.get("table_state"),
            validation_state=item.get("validation_state"),
        )
    reloaded = [_name(t) for t in (reload or {}).get("tables", [])]
    for name in reloaded:
        rows.setdefault(name, {})["reloaded"] = True
    reload_report = (reload or {}).get("report") or {}
    for item in reload_report.get("tables", []):
        if _name(item) in reloaded:
            rows[_name(item)]["validation_after_reload"] = item.get("validation_state")
    for item in (diff or {}).get("tables", []):
        rows.setdefault(_name(item), {}).update(
            source_rows=item.get("rows_source"),
            neon_rows=item.get("rows_target"),
            identical=item.get("error") is None
            and not (
                item.get("missing_in_target_count")
                or item.get("missing_in_source_count")
                or item.get("different_count")
            ),
            diff_error=item.get("error"),
            compared_as=item.get("compared_as"),
        )
    diff_ok = bool(diff and diff.get("complete") and diff.get("identical"))
    return {
        "verified": diff_ok,
        "tables": [{"table": name, **values} for name, values in sorted(rows.items())],
        "reloaded_tables": reloaded,
        "rows_source": (diff or {}).get("rows_source"),
        "rows_neon": (diff or {}).get("rows_target"),
        "sequences_changed": (sequences or {}).get("changed", 0),
        "cutover": dict(cutover) if cutover else None,
        "premigration_assessment": dict(assessment) if assessment else None,
    }


def _instant(value: Any) -> datetime | None:
    """A datetime (aware, UTC) from a datetime or an ISO 8601 string; None when absent."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def writes_stopped_at(
    approval: Mapping[str, Any] | None, *, quiet_seconds: float, now: datetime | None = None
) -> dict[str, Any]:
    """When the application stopped writing, as the DAG knows it.

    ``approval`` is the ApprovalOperator's result (``responded_at``, ``responded_by_user``): the
    person's answer is the moment. Without one (``cutover=quiet``), the quiescence wait has just
    seen ``quiet_seconds`` without a change, so the writes stopped ``quiet_seconds`` before ``now``.
    """
    if approval and approval.get("responded_at"):
        responded = _instant(approval["responded_at"])
        assert responded is not None
        by = approval.get("responded_by_user") or {}
        return {
            "mode": "approval",
            "at": responded.isoformat(),
            "by": by.get("name") if isinstance(by, Mapping) else str(by),
        }
    moment = (now or datetime.now(timezone.utc)) - timedelta(seconds=quiet_seconds)
    return {"mode": "quiet", "at": moment.isoformat(), "quiet_seconds": quiet_seconds}


def cutover_window(
    writes_stopped: Mapping[str, Any] | None,
    cutover: Mapping[str, Any],
    *,
    poll_seconds: float,
    finished_at: datetime | None = None,
) -> dict[str, Any]:
    """Seconds (and DMS poll intervals) from the writes stopping to Neon verified and synced.

    ``cutover`` is NeonDmsCutoverOperator's facts; ``finished_at`` (default now) is when the diff
    proved Neon identical and the sequences were synced. Also splits the window at the task's stop.
    """
    end = finished_at or datetime.now(timezone.utc)
    start = _instant((writes_stopped or {}).get("at")) or _instant(cutover.get("requested_at"))
    stopped = _instant(cutover.get("stopped_at"))
    window: dict[str, Any] = {
        "mode": (writes_stopped or {}).get("mode"),
        "writes_stopped_at": start.isoformat() if start else None,
        "task_stopped_at": stopped.isoformat() if stopped else None,
        "verified_at": end.isoformat(),
        "seconds": None,
        "poll_intervals": None,
        "to_task_stopped_seconds": None,
    }
    if start is not None:
        seconds = max((end - start).total_seconds(), 0.0)
        window["seconds"] = round(seconds, 1)
        window["poll_intervals"] = round(seconds / poll_seconds, 1) if poll_seconds > 0 else None
        if stopped is not None:
            window["to_task_stopped_seconds"] = round(max((stopped - start).total_seconds(), 0.0), 1)
    return window


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a text table for the task log."""
    body = [
        [
            row["table"],
            row.get("source_rows", ""),
            row.get("neon_rows", ""),
            " -> ".join(
                str(state)
                for state in (row.get("validation_state"), row.get("validation_after_reload"))
                if state
            ),
            "yes" if row.get("reloaded") else "",
            {True: "identical", False: "DIFFERENT"}.get(row.get("identical"), "not compared")
            + (" (as a multiset: no key)" if row.get("compared_as") == "multiset" else ""),
        ]
        for row in report.get("tables", [])
    ]
    table = tabulate(
        body, headers=["table", "source rows", "Neon rows", "DMS validation", "reloaded", "data diff"]
    )
    verdict = (
        "Every migrated table is identical on the source and on Neon."
        if report.get("verified")
        else "NOT verified: see the data diff."
    )
    sequences = f"Sequences moved: {report.get('sequences_changed', 0)}."
    return f"{table}\n\n{verdict} {sequences}{_assessment_line(report)}{_cutover_line(report)}"


def _cutover_line(report: Mapping[str, Any]) -> str:
    window = report.get("cutover")
    if not window or window.get("seconds") is None:
        return ""
    began = "the approval" if window.get("mode") == "approval" else "the start of the quiet window"
    text = (
        f"\nCutover window: {window['seconds']:.1f} s ({window['poll_intervals']} poll intervals) from "
        f"{began} to Neon verified and sequences synced"
    )
    if window.get("to_task_stopped_seconds") is not None:
        text += f"; the task stopped after {window['to_task_stopped_seconds']:.1f} s"
    return text + "."


def _assessment_line(report: Mapping[str, Any]) -> str:
    assessment = report.get("premigration_assessment")
    if not assessment:
        return "\nPremigration assessment: not run."
    failed = assessment.get("failed") or []
    detail = f", failed: {', '.join(failed)}" if failed else ""
    return (
        f"\nPremigration assessment: {assessment.get('status')}{detail} "
        f"(results in {assessment.get('result_location')})."
    )

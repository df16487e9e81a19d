"""The closing report merges DMS's validation, the reload and the independent diff per table."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.migration_report import build_report, format_report

VALIDATION = {
    "tables": [
        {
            "schema": "public",
            "table": "orders",
            "rows": 10,
            "table_state": "Table completed",
            "validation_state": "Mismatched records",
        },
        {
            "schema": "public",
            "table": "views",
            "rows": 4,
            "table_state": "Table completed",
            "validation_state": "No primary key",
        },
    ],
    "failed_tables": [{"schema": "public", "table": "orders"}],
}
RELOAD = {
    "tables": [{"schema": "public", "table": "orders"}],
    "report": {"tables": [{"schema": "public", "table": "orders", "validation_state": "Validated"}]},
}


def _diff(orders_different: int = 0, error: str | None = None) -> dict[str, Any]:
    return {
        "complete": error is None,
        "identical": error is None and not orders_different,
        "rows_source": 14,
        "rows_target": 14,
        "tables": [
            {
                "schema": "public",
                "table": "orders",
                "rows_source": 10,
                "rows_target": 10,
                "missing_in_target_count": 0,
                "missing_in_source_count": 0,
                "different_count": orders_different,
                "error": error,
                "compared_as": "key",
            },
            {
                "schema": "public",
                "table": "views",
                "rows_source": 4,
                "rows_target": 4,
                "missing_in_target_count": 0,
                "missing_in_source_count": 0,
                "different_count": 0,
                "error": None,
                "compared_as": "multiset",
            },
        ],
    }


def test_verified_after_a_reload() -> None:
    report = build_report(validation=VALIDATION, reload=RELOAD, diff=_diff(), sequences={"changed": 2})
    assert report["verified"] is True
    assert report["reloaded_tables"] == ["public.orders"]
    orders = next(row for row in report["tables"] if row["table"] == "public.orders")
    assert orders["validation_state"] == "Mismatched records"
    assert orders["validation_after_reload"] == "Validated"
    text = format_report(report)
    assert "Mismatched records -> Validated" in text
    assert "identical (as a multiset: no key)" in text
    assert "Every migrated table is identical" in text and "Sequences moved: 2" in text


def test_a_difference_or_an_incomplete_diff_is_not_verified() -> None:
    differing = build_report(
        validation=VALIDATION, reload=None, diff=_diff(orders_different=1), sequences=None
    )
    assert differing["verified"] is False
    assert "DIFFERENT" in format_report(differing)
    broken = build_report(
        validation=VALIDATION, reload=None, diff=_diff(error="cannot connect"), sequences=None
    )
    assert broken["verified"] is False
    assert "NOT verified" in format_report(broken)


def test_no_diff_at_all_is_not_verified() -> None:
    report = build_report(validation=VALIDATION, reload=None, diff=None, sequences=None)
    assert report["verified"] is False
    assert "not compared" in format_report(report)


# -- the cutover window -----------------------------------------------------------------------------


def test_the_window_runs_from_the_approval_to_verified() -> None:
    from datetime import datetime, timezone

    from airflow_neon_dms.migration_report import cutover_window, writes_stopped_at

    approved = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)
    stopped = writes_stopped_at(
        {"responded_at": approved, "responded_by_user": {"id": "1", "name": "dba"}}, quiet_seconds=300
    )
    assert stopped == {"mode": "approval", "at": approved.isoformat(), "by": "dba"}
    facts = {"requested_at": "2026-11-30T12:00:02+00:00", "stopped_at": "2026-11-30T12:00:20+00:00"}
    window = cutover_window(
        stopped, facts, poll_seconds=5, finished_at=datetime(2026, 11, 30, 12, 0, 30, tzinfo=timezone.utc)
    )
    assert window["seconds"] == 30.0
    assert window["poll_intervals"] == 6.0
    assert window["to_task_stopped_seconds"] == 20.0
    summary = build_report(
        validation=VALIDATION, reload=RELOAD, diff=_diff(), sequences={"changed": 2}, cutover=window
    )
    assert summary["cutover"] == window
    text = format_report(summary)
    assert "Cutover window: 30.0 s (6.0 poll intervals) from the approval to Neon verified and" in text
    assert "the task stopped after 20.0 s" in text


def test_a_quiet_cutover_starts_when_the_quiet_window_began() -> None:
    from datetime import datetime, timezone

    from airflow_neon_dms.migration_report import cutover_window, writes_stopped_at

    now = datetime(2026, 11, 30, 12, 0, 10, tzinfo=timezone.utc)
    stopped = writes_stopped_at(None, quiet_seconds=10, now=now)
    assert stopped["mode"] == "quiet"
    assert stopped["at"] == "2026-11-30T12:00:00+00:00"
    window = cutover_window(stopped, {}, poll_seconds=2, finished_at=now)
    assert (window["seconds"], window["poll_intervals"]) == (10.0, 5.0)
    text = format_report(
        build_report(validation=VALIDATION, reload=None, diff=_diff(), sequences=None, cutover=window)
    )
    assert "from the start of the quiet window" in text


def test_a_full_load_report_has_no_cutover_line() -> None:
    summary = build_report(validation=VALIDATION, reload=None, diff=_diff(), sequences=None)
    assert summary["cutover"] is None
    assert "Cutover window" not in format_report(summary)


def test_report_states_the_premigration_assessment() -> None:
    assessment = {
        "assessment_run_arn": "arn:aws:dms:us-east-1:1:assessment-run:R",
        "status": "failed",
        "failed": ["table-with-lob-but-without-primary-key-or-unique-constraint"],
        "assessments": {},
        "result_location": "s3://b/f/R/",
    }
    with_run = build_report(validation=None, reload=None, diff=None, sequences=None, assessment=assessment)
    assert with_run["premigration_assessment"] == assessment
    text = format_report(with_run)
    assert "Premigration assessment: failed, failed: table-with-lob-but-without-primary-key" in text
    assert "s3://b/f/R/" in text
    without = build_report(validation=None, reload=None, diff=None, sequences=None)
    assert format_report(without).endswith("Premigration assessment: not run.")

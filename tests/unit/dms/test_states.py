"""Task, connection, table and validation state rules."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_neon_dms.dms.states import (
    Outcome,
    TableState,
    ValidationState,
    classify_connection,
    classify_startable,
    classify_table,
    classify_task,
    last_run_started,
    pending_tables,
    start_type_for,
    stop_reason_code,
    table_failure_reason,
    table_is_pending,
    table_progress,
    task_summary,
    unmodelled_state_message,
)
from airflow_neon_dms.dms.table_names import TableRef


def _task(
    status: str, stop_reason: str | None = None, migration: str = "full-load", **stats: Any
) -> dict[str, Any]:
    return {
        "ReplicationTaskIdentifier": "orders",
        "Status": status,
        "StopReason": stop_reason,
        "MigrationType": migration,
        "LastFailureMessage": "Cannot connect to ODBC provider",
        "ReplicationTaskStats": {"FullLoadProgressPercent": 100, "TablesErrored": 0, **stats},
    }


def test_full_load_finished_is_success() -> None:
    verdict = classify_task(_task("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED"))
    assert verdict.outcome == Outcome.SUCCESS
    assert "FULL_LOAD_ONLY_FINISHED" in verdict.message


def test_fatal_error_stop_is_failure_with_reason_and_message() -> None:
    verdict = classify_task(_task("stopped", "Stop Reason FATAL_ERROR"))
    assert verdict.outcome == Outcome.FAILED
    assert "Stop Reason FATAL_ERROR" in verdict.message
    assert "Cannot connect to ODBC provider" in verdict.message


def test_failed_status_is_failure() -> None:
    assert classify_task(_task("failed")).outcome == Outcome.FAILED


def test_user_stop_mid_load_is_not_success() -> None:
    verdict = classify_task(_task("stopped", "Stop Reason NORMAL", FullLoadProgressPercent=40))
    assert verdict.outcome == Outcome.FAILED


def test_finished_with_errored_tables_is_failure() -> None:
    verdict = classify_task(_task("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED", TablesErrored=2))
    assert verdict.outcome == Outcome.FAILED
    assert "2 table(s) in error" in verdict.message


def test_running_full_load_task_keeps_waiting() -> None:
    assert classify_task(_task("running")).outcome == Outcome.WAITING


@pytest.mark.parametrize(("percent", "expected"), [(100, Outcome.SUCCESS), (60, Outcome.WAITING)])
def test_cdc_task_succeeds_once_full_load_is_complete(percent: int, expected: Outcome) -> None:
    task = _task("running", migration="full-load-and-cdc", FullLoadProgressPercent=percent)
    assert classify_task(task).outcome == expected


def test_cdc_task_can_be_waited_until_it_stops() -> None:
    task = _task("running", migration="full-load-and-cdc")
    assert classify_task(task, wait_for_cdc_stop=True).outcome == Outcome.WAITING


def test_unknown_status_warns_and_waits(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        verdict = classify_task(_task("hibernating"))
    assert verdict.outcome == Outcome.WAITING
    assert "unknown status 'hibernating'" in caplog.text


def test_stop_reason_code() -> None:
    assert stop_reason_code("Stop Reason FULL_LOAD_ONLY_FINISHED") == "FULL_LOAD_ONLY_FINISHED"
    assert stop_reason_code(None) == ""


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("successful", Outcome.SUCCESS),
        ("failed", Outcome.FAILED),
        ("testing", Outcome.WAITING),
        ("new-state", Outcome.WAITING),
        (None, Outcome.WAITING),
    ],
)
def test_classify_connection(status: str | None, expected: Outcome) -> None:
    assert classify_connection({"Status": status} if status else None) == expected


@pytest.mark.parametrize(
    ("table_state", "validation_state", "pending", "failure"),
    [
        ("Table completed", "Validated", False, None),
        ("Full load", "Pending records", True, None),
        ("Table completed", "Pending records", True, None),
        ("Table completed", "Mismatched records", False, "Mismatched records"),
        ("Table completed", "Suspended records", False, "Suspended records"),
        ("Table error", "Table error", False, "Table error"),
        ("Table completed", "No primary key", False, None),
        ("Table is being reloaded", "Pending revalidation", True, None),
        ("Table in a new state", "Validated", False, "unmodelled TableState 'Table in a new state'"),
    ],
)
def test_table_states(table_state: str, validation_state: str, pending: bool, failure: str | None) -> None:
    stats = {
        "SchemaName": "public",
        "TableName": "t",
        "TableState": table_state,
        "ValidationState": validation_state,
    }
    assert table_is_pending(stats) is pending
    assert table_failure_reason(stats) == failure


def test_task_summary_has_no_settings_or_secrets() -> None:
    summary = task_summary(_task("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED", TablesLoaded=3))
    assert summary["tables_loaded"] == 3
    assert summary["status"] == "stopped"
    assert set(summary) == {
        "replication_task_arn",
        "replication_task_identifier",
        "status",
        "stop_reason",
        "migration_type",
        "full_load_progress_percent",
        "tables_loaded",
        "tables_errored",
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("creating", Outcome.WAITING),
        ("modifying", Outcome.WAITING),
        ("moving", Outcome.WAITING),
        ("testing", Outcome.WAITING),
        ("ready", Outcome.SUCCESS),
        ("stopped", Outcome.SUCCESS),
        ("failed", Outcome.SUCCESS),  # a failed task can be started again
        ("running", Outcome.SUCCESS),  # started elsewhere: the start step leaves it alone
        ("starting", Outcome.SUCCESS),
        ("deleting", Outcome.FAILED),
        ("failed-move", Outcome.FAILED),
    ],
)
def test_classify_startable(status: str, expected: Outcome) -> None:
    verdict = classify_startable(_task(status))
    assert verdict.outcome == expected
    assert f"orders is {status}" in verdict.message


def test_classify_startable_waits_on_an_unknown_status_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        verdict = classify_startable(_task("hibernating"))
    assert verdict.outcome == Outcome.WAITING
    assert "unknown status 'hibernating'" in caplog.text


def test_pending_tables_counts_missing_and_stale_tables() -> None:
    from datetime import datetime, timezone

    done = {
        "SchemaName": "public",
        "TableName": "a",
        "TableState": "Table completed",
        "ValidationState": "Validated",
        "FullLoadEndTime": datetime(2020, 1, 1, tzinfo=timezone.utc),
    }
    assert pending_tables([done]) == []
    assert pending_tables([done], [TableRef("public", "a"), TableRef("public", "b")]) == [
        TableRef("public", "b")
    ]
    assert pending_tables([done], None, reloaded_since=time.time()) == [TableRef("public", "a")]


#: Each botocore TableState: (waiting, failed) on its own (validation not enabled).
TABLE_STATE_VERDICTS = {
    TableState.NOT_EXIST: Outcome.FAILED,
    TableState.BEFORE_LOAD: Outcome.WAITING,
    TableState.FULL_LOAD: Outcome.WAITING,
    TableState.COMPLETED: Outcome.SUCCESS,
    TableState.CANCELLED: Outcome.FAILED,
    TableState.ERROR: Outcome.FAILED,
    TableState.RELOADING: Outcome.WAITING,
}
#: Each botocore ValidationState on a completed table.
VALIDATION_STATE_VERDICTS = {
    ValidationState.NOT_ENABLED: Outcome.SUCCESS,
    ValidationState.PENDING_RECORDS: Outcome.WAITING,
    ValidationState.MISMATCHED: Outcome.FAILED,
    ValidationState.SUSPENDED: Outcome.FAILED,
    ValidationState.NO_PRIMARY_KEY: Outcome.SUCCESS,
    ValidationState.TABLE_ERROR: Outcome.FAILED,
    ValidationState.VALIDATED: Outcome.SUCCESS,
    ValidationState.ERROR: Outcome.FAILED,
    ValidationState.PENDING_VALIDATION: Outcome.WAITING,
    ValidationState.PREPARING: Outcome.WAITING,
    ValidationState.PENDING_REVALIDATION: Outcome.WAITING,
}


def _row(table_state: str, validation_state: str = "Not enabled", **times: Any) -> dict[str, Any]:
    return {
        "SchemaName": "public",
        "TableName": "t",
        "TableState": table_state,
        "ValidationState": validation_state,
        **times,
    }


def test_every_botocore_state_is_modelled() -> None:
    assert set(TABLE_STATE_VERDICTS) == set(TableState)
    assert set(VALIDATION_STATE_VERDICTS) == set(ValidationState)


@pytest.mark.parametrize("table_state", list(TableState))
@pytest.mark.parametrize("validation_state", list(ValidationState))
def test_classify_table_over_every_state_pair(
    table_state: TableState, validation_state: ValidationState
) -> None:
    verdict = classify_table(_row(table_state.value, validation_state.value))
    by_table = TABLE_STATE_VERDICTS[table_state]
    by_validation = VALIDATION_STATE_VERDICTS[validation_state]
    if by_table != Outcome.SUCCESS:
        expected = by_table  # loading wins over validation; a failed load is final
    else:
        expected = by_validation
    assert verdict.outcome == expected
    assert not verdict.unknown
    if expected == Outcome.FAILED:
        assert verdict.reason in (table_state.value, validation_state.value)
        assert table_failure_reason(_row(table_state.value, validation_state.value)) == verdict.reason


@pytest.mark.parametrize(
    ("table_state", "validation_state", "named"),
    [
        ("Table paused", "Validated", "TableState 'Table paused'"),
        ("Table completed", "Validation halted", "ValidationState 'Validation halted'"),
    ],
)
def test_an_unmodelled_state_fails_closed_naming_the_table(
    table_state: str, validation_state: str, named: str
) -> None:
    progress = table_progress([_row(table_state, validation_state)], [TableRef("public", "t")])
    assert progress.pending == [] and progress.settled
    [unknown] = progress.unknown
    assert unknown.table == TableRef("public", "t") and named in unknown.reason
    message = unmodelled_state_message("Reload of X", progress.unknown)
    assert "public.t" in message and named in message


def test_a_reload_that_ends_in_table_error_is_terminal() -> None:
    """DMS need not set FullLoadEndTime when a reload fails: the earlier one may still show."""
    before = datetime(2020, 1, 1, tzinfo=timezone.utc)
    since = time.time() - 5
    errored = _row(
        "Table error",
        "Table error",
        FullLoadEndTime=before,
        FullLoadStartTime=datetime.now(timezone.utc),
        LastUpdateTime=datetime.now(timezone.utc),
    )
    progress = table_progress([errored], [TableRef("public", "t")], reloaded_since=since)
    assert progress.pending == []
    assert [v.describe() for v in progress.failed] == ["public.t (Table error)"]
    # the same error before the reload request is the old load's: the reload has not shown yet
    stale = _row("Table error", "Table error", FullLoadEndTime=before, LastUpdateTime=before)
    assert pending_tables([stale], None, reloaded_since=since) == [TableRef("public", "t")]
    # a row with no timestamps cannot be told apart: judge its state rather than wait forever
    assert table_progress([_row("Table cancelled")], None, since).failed[0].reason == "Table cancelled"


def _ran(status: str, migration: str, started: datetime | None) -> dict[str, Any]:
    stats = {"StartDate": started, "FreshStartDate": started} if started else {}
    return {"Status": status, "MigrationType": migration, "ReplicationTaskStats": stats}


YESTERDAY = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("status", "migration", "started", "requested", "sent"),
    [
        ("ready", "full-load", None, "start-replication", "start-replication"),
        ("ready", "cdc", None, "resume-processing", "start-replication"),
        ("ready", "full-load", None, "reload-target", "start-replication"),
        ("stopped", "full-load", YESTERDAY, "start-replication", "reload-target"),
        ("stopped", "cdc", YESTERDAY, "start-replication", "resume-processing"),
        ("stopped", "full-load-and-cdc", YESTERDAY, "start-replication", "resume-processing"),
        ("failed", "full-load-and-cdc", YESTERDAY, "reload-target", "reload-target"),
        ("stopped", "full-load", YESTERDAY, "resume-processing", "resume-processing"),
    ],
)
def test_start_type_for(
    status: str, migration: str, started: datetime | None, requested: str, sent: str
) -> None:
    assert start_type_for(_ran(status, migration, started), requested).value == sent


def test_a_stop_from_an_earlier_run_keeps_the_wait_going() -> None:
    task = {
        **_task("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED"),
        "ReplicationTaskStats": {"StartDate": YESTERDAY},
    }
    verdict = classify_task(task, started_after=YESTERDAY + timedelta(hours=20))
    assert verdict.outcome == Outcome.WAITING
    assert "earlier run" in verdict.message
    assert classify_task(task, started_after=YESTERDAY).outcome == Outcome.SUCCESS


def test_scheduled_start_date_is_not_a_run_start() -> None:
    task = {"Status": "ready", "ReplicationTaskStartDate": YESTERDAY, "ReplicationTaskStats": {}}
    assert last_run_started(task) is None
    assert start_type_for(task, "start-replication").value == "start-replication"

"""Verdicts of the CDC path: full load done on a running task, the cutover stop, replicating or not."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_neon_dms.dms.cdc import cutover_stop, full_load_done, not_replicating, stop_facts
from airflow_neon_dms.dms.states import Outcome
from airflow_neon_dms.dms.table_names import TableRef


def task(status: str = "running", migration: str = "full-load-and-cdc", **stats: Any) -> dict[str, Any]:
    base = {"FullLoadProgressPercent": 100, "TablesLoading": 0, "TablesQueued": 0, "TablesErrored": 0}
    return {
        "ReplicationTaskIdentifier": "orders",
        "Status": status,
        "MigrationType": migration,
        "ReplicationTaskStats": {**base, **stats},
    }


def row(table: str, state: str = "Table completed") -> dict[str, str]:
    return {"SchemaName": "public", "TableName": table, "TableState": state}


DONE = [row("a"), row("b")]


def test_running_with_every_table_completed_is_done() -> None:
    verdict = full_load_done(task(), DONE)
    assert verdict.outcome == Outcome.SUCCESS and "all 2 table(s)" in verdict.message


@pytest.mark.parametrize(
    "stats",
    [{"FullLoadProgressPercent": 99}, {"TablesLoading": 1}, {"TablesQueued": 2}],
)
def test_progress_still_under_way_waits(stats: dict[str, int]) -> None:
    assert full_load_done(task(**stats), DONE).outcome == Outcome.WAITING


@pytest.mark.parametrize("state", ["Before load", "Full load", "Table is being reloaded", "Something new"])
def test_a_table_not_completed_waits(state: str) -> None:
    verdict = full_load_done(task(), [row("a"), row("b", state)])
    assert verdict.outcome == Outcome.WAITING and "public.b" in verdict.message


@pytest.mark.parametrize("state", ["Table error", "Table cancelled", "Table does not exist"])
def test_a_failed_table_fails_naming_it(state: str) -> None:
    verdict = full_load_done(task(), [row("a"), row("b", state)])
    assert verdict.outcome == Outcome.FAILED and f"public.b ({state})" in verdict.message


def test_tables_errored_in_the_task_stats_fail() -> None:
    assert full_load_done(task(TablesErrored=1), DONE).outcome == Outcome.FAILED


def test_expected_tables_without_statistics_wait() -> None:
    expected = [TableRef("public", "a"), TableRef("public", "c")]
    verdict = full_load_done(task(), DONE, expected)
    assert verdict.outcome == Outcome.WAITING and "public.c" in verdict.message


def test_no_statistics_yet_waits() -> None:
    assert full_load_done(task(), []).outcome == Outcome.WAITING


@pytest.mark.parametrize("status", ["starting", "creating", "modifying"])
def test_not_yet_running_waits(status: str) -> None:
    assert full_load_done(task(status), DONE).outcome == Outcome.WAITING


@pytest.mark.parametrize("status", ["stopped", "failed", "deleting"])
def test_a_task_that_no_longer_runs_fails(status: str) -> None:
    assert full_load_done(task(status), DONE).outcome == Outcome.FAILED


def test_a_full_load_task_is_the_wrong_wait() -> None:
    verdict = full_load_done(task("stopped", "full-load"), DONE)
    assert verdict.outcome == Outcome.FAILED and "NeonDmsTaskCompletedSensor" in verdict.message


@pytest.mark.parametrize("reason", [None, "Stop Reason NORMAL", "Stop Reason STOPPED_AT_SERVER_TIME"])
def test_a_requested_stop_succeeds(reason: str | None) -> None:
    assert cutover_stop({**task("stopped"), "StopReason": reason}).outcome == Outcome.SUCCESS


@pytest.mark.parametrize(
    "reason",
    ["Stop Reason FATAL_ERROR", "Stop Reason RECOVERABLE_ERROR", "Stop Reason STOPPED_DUE_TO_LOW_DISK"],
)
def test_an_error_stop_fails(reason: str) -> None:
    verdict = cutover_stop({**task("stopped"), "StopReason": reason, "LastFailureMessage": "boom"})
    assert verdict.outcome == Outcome.FAILED and "boom" in verdict.message


def test_a_stop_with_tables_in_error_fails() -> None:
    assert cutover_stop(task("stopped", TablesErrored=2)).outcome == Outcome.FAILED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("running", "waiting"),
        ("stopping", "waiting"),
        ("failed", "failed"),
        ("deleting", "failed"),
        ("brand-new", "waiting"),
    ],
)
def test_cutover_stop_other_states(status: str, outcome: str) -> None:
    assert cutover_stop(task(status)).outcome == Outcome(outcome)


def test_not_replicating_names_the_state() -> None:
    assert not_replicating(task()) is None
    assert not_replicating(task("starting")) is None
    assert "no longer exists" in str(not_replicating(None))
    message = str(not_replicating({**task("stopped"), "StopReason": "Stop Reason NORMAL"}))
    assert "stopped" in message and "resume-processing" in message


def test_stop_facts_are_json_ready() -> None:
    stopped = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    facts = stop_facts({**task("stopped", StopDate=stopped), "StopReason": "Stop Reason NORMAL"})
    assert facts["stopped_at"] == "2026-01-02T03:04:05+00:00"
    assert facts["stop_reason"] == "Stop Reason NORMAL" and facts["status"] == "stopped"

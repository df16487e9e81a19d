"""Progress lines of a DMS wait: what they say, and that a wait logs only what changed."""

from __future__ import annotations

from airflow_neon_dms.dms.progress import (
    TASK_LINE,
    CdcLatency,
    ProgressLog,
    table_line,
    table_progress_lines,
    task_progress,
    task_progress_lines,
)
from airflow_neon_dms.dms.table_names import TableRef

RUNNING = {
    "ReplicationTaskIdentifier": "orders-load",
    "Status": "running",
    "ReplicationTaskStats": {
        "FullLoadProgressPercent": 40,
        "TablesLoaded": 2,
        "TablesLoading": 1,
        "TablesQueued": 2,
        "TablesErrored": 0,
        "ElapsedTimeMillis": 1234,
    },
}
TABLES = [
    {"SchemaName": "public", "TableName": "a", "TableState": "Table completed", "FullLoadRows": 1500},
    {"SchemaName": "public", "TableName": "b", "TableState": "Full load", "FullLoadRows": 250},
]


def test_task_line_has_counts_rows_and_percent() -> None:
    line = task_progress_lines(RUNNING, TABLES)[TASK_LINE]
    assert line == (
        "Replication task orders-load running: full load 40%: 2 of 5 table(s) loaded, 1 loading, "
        "2 queued, 0 errored; 1,750 row(s) copied"
    )


def test_task_line_without_table_statistics_has_no_rows() -> None:
    line = task_progress_lines(RUNNING)[TASK_LINE]
    assert "row(s)" not in line and "40%" in line


def test_counts_come_from_table_states_when_the_task_has_no_stats_yet() -> None:
    tables = [*TABLES, {"SchemaName": "s", "TableName": "c", "TableState": "Table error"}]
    progress = task_progress({"Status": "starting"}, tables)
    assert (progress.loaded, progress.loading, progress.queued, progress.errored) == (1, 1, 0, 1)
    assert progress.percent is None and progress.rows == 1750


def test_cdc_latency_is_shown_when_known() -> None:
    line = task_progress_lines(RUNNING, TABLES, CdcLatency(source_seconds=3, target_seconds=12.4))[TASK_LINE]
    assert line.endswith("; CDC latency source 3 s, target 12 s")
    assert CdcLatency().describe() == ""


def test_table_lines_name_each_table_its_state_rows_and_validation() -> None:
    row = {
        "SchemaName": "public",
        "TableName": "orders",
        "TableState": "Table is being reloaded",
        "FullLoadRows": 1200,
        "FullLoadErrorRows": 2,
        "ValidationState": "Pending records",
    }
    assert table_line(row) == (
        "public.orders: Table is being reloaded, 1,200 row(s), 2 error row(s), validation Pending records"
    )
    lines = table_progress_lines([row], [TableRef("public", "orders"), TableRef("public", "late")])
    assert lines["public.late"] == "public.late: no statistics yet"


def test_progress_log_returns_only_changed_lines() -> None:
    log = ProgressLog()
    first = table_progress_lines(TABLES)
    assert log.changes(first) == list(first.values())
    assert log.changes(first) == []  # the next poll saw the same: nothing to log
    moved = [TABLES[0], {**TABLES[1], "FullLoadRows": 900}]
    assert log.changes(table_progress_lines(moved)) == ["public.b: Full load, 900 row(s)"]

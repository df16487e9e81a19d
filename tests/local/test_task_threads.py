"""Tasks run on their own threads: the API answers during a long load, progress shows, stop cancels."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import pytest

ROWS = 400_000


def test_long_load_shows_progress_and_can_be_stopped(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="airflow_neon_dms")
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, %s) g", [ROWS])
        conn.execute("CREATE TABLE other (id int)")
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings={"FullLoadSettings": {"MaxFullLoadSubTasks": 1}},
    )
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    mid_load = None
    for _ in range(3000):
        # every poll is an HTTP round trip answered while the load runs on its own thread
        stats = dms.table_stats(task).get(("public", "big"))
        if stats and stats["TableState"] == "Full load" and 0 < stats["FullLoadRows"] < ROWS:
            mid_load = stats
            break
        time.sleep(0.01)
    assert mid_load is not None, "never saw the load in progress"
    described = dms.describe_task(task)
    assert described["Status"] == "running"
    assert described["ReplicationTaskStats"]["TablesLoading"] == 1
    dms.client.stop_replication_task(ReplicationTaskArn=task)
    dms.wait("replication_task_stopped", task)
    described = dms.describe_task(task)
    assert described["StopReason"] == "Stop Reason NORMAL"
    assert dms.table_stats(task)[("public", "big")]["TableState"] == "Table cancelled"
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        exists = conn.execute("SELECT to_regclass('public.big') IS NOT NULL").fetchone()
        count = conn.execute("SELECT count(*) FROM big").fetchone() if exists and exists[0] else (0,)
    assert count == (0,)  # the cancelled table's transaction was rolled back
    # the emulator's log tells the story without any password in it
    assert "Replication task" in caplog.text and "stopped" in caplog.text
    assert (pg_server.password or "unused") not in caplog.text

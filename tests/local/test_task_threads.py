"""Tasks run on their own threads: the API answers during a long load, progress shows, stop cancels."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import pytest

from tests.local.support import Dms, HeldTable, target_rows

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


def test_a_stop_accepted_while_a_table_is_loading_commits_none_of_its_rows(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    """A small table loads in one batch (no cancellation point inside it): its rows must still not
    commit once StopReplicationTask has been accepted. The source table is held locked, so the
    load's COPY is in flight when the stop lands."""
    source_db, target_db = pg_pair
    source_dsn = pg_server.dsn(source_db)
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small SELECT generate_series(1, 50)"
        )
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    held = HeldTable(source_dsn, "small")
    try:
        dms.client.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )
        held.wait_for_reader()
        assert dms.describe_task(task)["Status"] == "running"
        dms.client.stop_replication_task(ReplicationTaskArn=task)
    finally:
        held.release()
    dms.wait("replication_task_stopped", task)
    stopped = dms.describe_task(task)
    assert stopped["StopReason"] == "Stop Reason NORMAL"
    assert stopped["ReplicationTaskStats"]["TablesLoaded"] == 0
    stats = dms.table_stats(task)[("public", "small")]
    assert stats["TableState"] == "Table cancelled" and stats["FullLoadRows"] == 0
    assert target_rows(pg_server.dsn(target_db), "small") is None  # rolled back, CREATE TABLE too

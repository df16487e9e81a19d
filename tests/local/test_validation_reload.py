"""Validation by primary key, DescribeTableStatistics paging, and ReloadTables rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.local.logical_source import logical_pair, logical_server  # noqa: F401 (CDC tasks)

VALIDATE = {"ValidationSettings": {"EnableValidation": True}}


def _wait_for(condition: Callable[[], bool], attempts: int = 300) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


@pytest.fixture
def running_task(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> tuple[str, str, str]:
    """A full-load-and-cdc task (stays running) whose tables t0..t11 are loaded; (arn, source, target)."""
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        for i in range(12):
            conn.execute(
                f"CREATE TABLE t{i} (id int PRIMARY KEY, v text);"  # noqa: S608 (fixed names)
                f"INSERT INTO t{i} SELECT g, 'row ' || g FROM generate_series(1, 50) g"
            )
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings=VALIDATE,
        migration_type="full-load-and-cdc",
    )
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    dms.wait("replication_task_running", task)
    _wait_for(lambda: dms.describe_task(task)["ReplicationTaskStats"].get("FullLoadProgressPercent") == 100)
    _wait_for(lambda: all(s["ValidationState"] == "Validated" for s in dms.table_stats(task).values()))
    yield task, source_db, target_db
    dms.client.stop_replication_task(ReplicationTaskArn=task)
    dms.wait("replication_task_stopped", task)


def _stat(dms: Any, task: str, table: str) -> dict[str, Any]:
    return dict(dms.table_stats(task)[("public", table)])


def test_validation_finds_a_changed_row_and_reload_repairs_it(
    dms: Any, pg_server: Any, running_task: tuple[str, str, str]
) -> None:
    task, _, target_db = running_task
    with psycopg.connect(pg_server.dsn(target_db), autocommit=True) as conn:
        conn.execute("UPDATE t3 SET v = 'tampered' WHERE id = 7")
        conn.execute("DELETE FROM t3 WHERE id = 8")
    dms.client.reload_tables(
        ReplicationTaskArn=task,
        TablesToReload=[{"SchemaName": "public", "TableName": "t3"}],
        ReloadOption="validate-only",
    )
    _wait_for(lambda: _stat(dms, task, "t3")["ValidationState"] == "Mismatched records")
    stat = _stat(dms, task, "t3")
    assert stat["ValidationFailedRecords"] == 2
    assert stat["FullLoadReloaded"] is False

    dms.client.reload_tables(
        ReplicationTaskArn=task,
        TablesToReload=[{"SchemaName": "public", "TableName": "t3"}],
        ReloadOption="data-reload",
    )
    _wait_for(lambda: _stat(dms, task, "t3")["ValidationState"] == "Validated")
    stat = _stat(dms, task, "t3")
    assert stat["TableState"] == "Table completed"
    assert stat["FullLoadReloaded"] is True
    assert stat["FullLoadRows"] == 50
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        assert conn.execute("SELECT v FROM t3 WHERE id IN (7, 8) ORDER BY id").fetchall() == [
            ("row 7",),
            ("row 8",),
        ]


def test_reload_tables_rules(dms: Any, running_task: tuple[str, str, str]) -> None:
    task = running_task[0]

    def reload(tables: list[str], option: str = "data-reload") -> str:
        with pytest.raises(ClientError) as err:
            dms.client.reload_tables(
                ReplicationTaskArn=task,
                TablesToReload=[{"SchemaName": "public", "TableName": t} for t in tables],
                ReloadOption=option,
            )
        return f"{err.value.response['Error']['Code']}: {err.value.response['Error']['Message']}"

    assert reload([f"t{i}" for i in range(11)]).startswith(
        "InvalidParameterValueException: TablesToReload names 11"
    )
    assert "more than once" in reload(["t1", "t1"])
    assert "not part of replication task" in reload(["missing"])
    assert reload(["t1"], option="everything").startswith("InvalidParameterValueException")
    with pytest.raises(ClientError) as err:
        dms.client.reload_tables(
            ReplicationTaskArn=task + "X", TablesToReload=[{"SchemaName": "public", "TableName": "t1"}]
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    ten = [{"SchemaName": "public", "TableName": f"t{i}"} for i in range(10)]
    assert dms.client.reload_tables(ReplicationTaskArn=task, TablesToReload=ten)["ReplicationTaskArn"] == task
    _wait_for(lambda: all(_stat(dms, task, f"t{i}")["FullLoadReloaded"] for i in range(10)))
    assert not _stat(dms, task, "t11")["FullLoadReloaded"]


def test_table_statistics_paging_and_filters(dms: Any, running_task: tuple[str, str, str]) -> None:
    task = running_task[0]
    first = dms.client.describe_table_statistics(ReplicationTaskArn=task, MaxRecords=20)
    assert len(first["TableStatistics"]) == 12 and "Marker" not in first
    for bad in (19, 501):
        with pytest.raises(ClientError) as err:
            dms.client.describe_table_statistics(ReplicationTaskArn=task, MaxRecords=bad)
        assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    only = dms.client.describe_table_statistics(
        ReplicationTaskArn=task,
        Filters=[
            {"Name": "schema-name", "Values": ["public"]},
            {"Name": "table-name", "Values": ["t1", "t2"]},
            {"Name": "table-state", "Values": ["Table completed"]},
        ],
    )["TableStatistics"]
    assert sorted(s["TableName"] for s in only) == ["t1", "t2"]
    with pytest.raises(ClientError):
        dms.client.describe_table_statistics(
            ReplicationTaskArn=task, Filters=[{"Name": "rows", "Values": ["1"]}]
        )


def test_marker_paging_over_many_tables(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        for i in range(25):
            conn.execute(f"CREATE TABLE p{i:02d} (id int)")
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    dms.run_full_load(task)
    page = dms.client.describe_table_statistics(ReplicationTaskArn=task, MaxRecords=20)
    assert len(page["TableStatistics"]) == 20
    rest = dms.client.describe_table_statistics(ReplicationTaskArn=task, MaxRecords=20, Marker=page["Marker"])
    assert len(rest["TableStatistics"]) == 5 and "Marker" not in rest
    names = {s["TableName"] for s in page["TableStatistics"] + rest["TableStatistics"]}
    assert names == {f"p{i:02d}" for i in range(25)}
    assert all(s["ValidationState"] == "Not enabled" for s in rest["TableStatistics"])


def test_reload_in_do_nothing_mode_applies_no_prep(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    """AWS DMS user guide, "Reloading tables during a task": DMS applies TargetTablePrepMode before
    a reload, and with DO_NOTHING the table must be truncated by hand first. Untruncated, the
    reloaded rows meet the ones already there (here: duplicate keys, so the table errors); after a
    manual TRUNCATE the reload fills the user-created table again."""
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    with psycopg.connect(pg_server.dsn(target_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text, loaded_at timestamptz DEFAULT now())")
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings={"FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"}},
        migration_type="full-load-and-cdc",
    )
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    _wait_for(lambda: dms.table_stats(task).get(("public", "t"), {}).get("TableState") == "Table completed")
    reload_t = {"ReplicationTaskArn": task, "TablesToReload": [{"SchemaName": "public", "TableName": "t"}]}
    dms.client.reload_tables(**reload_t)
    _wait_for(lambda: _stat(dms, task, "t")["TableState"] == "Table error")
    with psycopg.connect(pg_server.dsn(target_db), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)  # kept, not emptied
        conn.execute("TRUNCATE t")
    dms.client.reload_tables(**reload_t)
    _wait_for(lambda: _stat(dms, task, "t")["TableState"] == "Table completed")
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        assert conn.execute("SELECT id, v, loaded_at IS NOT NULL FROM t ORDER BY id").fetchall() == [
            (1, "a", True),
            (2, "b", True),
        ]
    dms.client.stop_replication_task(ReplicationTaskArn=task)
    dms.wait("replication_task_stopped", task)

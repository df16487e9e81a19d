"""CDC replication tasks through boto3 against the local DMS over HTTP, with real sources.

PostgreSQL sources use the session's wal_level=logical server, MySQL sources the session's MariaDB
with the binary log on (both from tests/conftest.py's plugins). Every wait polls with a deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError
from psycopg import sql

from airflow_neon_dms.local.databases import DatabaseAddress
from tests.conftest import MySqlServer, PgServer
from tests.local.cdc.support import Writer, connect, rows
from tests.local.support import INCLUDE_ALL_PUBLIC, Dms
from tests.logical_postgres import LogicalPg

WAIT_SECONDS = 180


def wait_until(
    condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS, state: Callable[[], Any] = str
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}: {state()}")
        time.sleep(0.2)


def pg_endpoint(dms: Dms, endpoint_type: str, host: str, port: int, user: str, database: str) -> str:
    return dms.endpoint(
        endpoint_type, "postgres", ServerName=host, Port=port, Username=user, Password="unused",
        DatabaseName=database,
    )  # fmt: skip


def logical_endpoint(dms: Dms, pg: LogicalPg, endpoint_type: str, database: str) -> str:
    return pg_endpoint(dms, endpoint_type, pg.host, pg.port, pg.user, database)


def cdc_task(
    dms: Dms, source: str, target: str, migration_type: str = "full-load-and-cdc", **extra: Any
) -> str:
    answer = dms.client.create_replication_task(
        ReplicationTaskIdentifier=f"cdc-{time.monotonic_ns()}",
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=dms.instance_arn,
        MigrationType=migration_type,
        TableMappings=json.dumps(extra.pop("mappings", INCLUDE_ALL_PUBLIC)),
        ReplicationTaskSettings=json.dumps({"FullLoadSettings": {"MaxFullLoadSubTasks": 2}}),
        **extra,
    )
    arn = str(answer["ReplicationTask"]["ReplicationTaskArn"])
    dms.wait("replication_task_ready", arn)
    return arn


def status(dms: Dms, arn: str) -> str:
    return str(dms.describe_task(arn)["Status"])


def start(dms: Dms, arn: str, start_type: str = "start-replication", **extra: Any) -> None:
    dms.client.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType=start_type, **extra)


def stop(dms: Dms, arn: str) -> dict[str, Any]:
    dms.client.stop_replication_task(ReplicationTaskArn=arn)
    wait_until(lambda: status(dms, arn) == "stopped", "the task to stop")
    return dms.describe_task(arn)


def task_state(dms: Dms, arn: str) -> Callable[[], Any]:
    """What a failed wait reports: the task's status, failure and table states."""

    def state() -> Any:
        task = dms.describe_task(arn)
        tables = {k: v["TableState"] for k, v in dms.table_stats(arn).items()}
        return task["Status"], task.get("LastFailureMessage"), tables

    return state


def loaded(dms: Dms, arn: str, tables: int) -> bool:
    states = [s["TableState"] for s in dms.table_stats(arn).values()]
    return len(states) == tables and all(s == "Table completed" for s in states)


def slots(pg: LogicalPg, database: str) -> list[str]:
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        found = conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", [database])
        return [r[0] for r in found.fetchall()]


def identical(source: psycopg.Connection[Any], target: psycopg.Connection[Any], *tables: str) -> bool:
    return all(rows(source, t) == rows(target, t) for t in tables)


@pytest.fixture
def pg_databases(make_logical_database: Callable[[], str]) -> tuple[str, str]:
    return make_logical_database(), make_logical_database()


@pytest.fixture
def tasks(dms: Dms) -> Iterator[list[str]]:
    """Tasks to stop and delete after the test, whatever happened."""
    created: list[str] = []
    yield created
    for arn in created:
        try:
            if status(dms, arn) in ("starting", "running"):
                stop(dms, arn)
            dms.client.delete_replication_task(ReplicationTaskArn=arn)
        except (ClientError, AssertionError):
            pass


SOURCE_SQL = """
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL);
INSERT INTO items SELECT g, 'row ' || g, 0 FROM generate_series(1, 30000) g;
CREATE TABLE plain (a int, b text);
INSERT INTO plain VALUES (1, 'one'), (2, 'two');
CREATE TABLE fullrow (a int, b text);
ALTER TABLE fullrow REPLICA IDENTITY FULL;
INSERT INTO fullrow VALUES (1, 'one'), (2, 'two');
"""


def test_full_load_and_cdc_under_writes_then_stop_resume_and_delete(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        src.execute(SOURCE_SQL)
        arn = cdc_task(
            dms,
            logical_endpoint(dms, logical_pg, "source", source_db),
            logical_endpoint(dms, logical_pg, "target", target_db),
        )
        tasks.append(arn)
        writer = Writer(logical_pg, source_db)
        writer.start()  # writing before the slot exists, during the load and after it
        try:
            start(dms, arn)
            wait_until(lambda: loaded(dms, arn, 3), "every table to be loaded", state=task_state(dms, arn))
            assert status(dms, arn) == "running"
            seen = writer.transactions
            wait_until(lambda: writer.transactions >= seen + 20, "writes after the full load")
            # keyless tables: with REPLICA IDENTITY FULL updates apply; without, DMS ignores them
            src.execute("UPDATE plain SET b = 'changed' WHERE a = 1")
            src.execute("DELETE FROM plain WHERE a = 2")
            src.execute("INSERT INTO plain VALUES (3, 'three')")
            src.execute("UPDATE fullrow SET b = 'changed' WHERE a = 1")
            src.execute("DELETE FROM fullrow WHERE a = 2")
        finally:
            writer.stop()
        wait_until(lambda: identical(src, tgt, "items", "fullrow"), "the target to catch up")
        wait_until(lambda: ["(1,one)", "(2,two)", "(3,three)"] == rows(tgt, "plain"), "the keyless insert")
        stats = dms.table_stats(arn)
        items = stats[("public", "items")]
        assert items["FullLoadRows"] > 0
        assert items["Inserts"] == items["AppliedInserts"] > 0
        assert items["Updates"] == items["AppliedUpdates"] > 0
        assert items["Deletes"] == items["AppliedDeletes"] > 0
        plain = stats[("public", "plain")]
        assert plain["TableState"] == "Table completed"  # ignored changes are no table error
        assert (plain["Updates"], plain["AppliedUpdates"], plain["Deletes"], plain["AppliedDeletes"]) == (
            1,
            0,
            1,
            0,
        )
        assert stats[("public", "fullrow")]["AppliedUpdates"] == 1
        assert dms.describe_task(arn)["ReplicationTaskStats"]["TablesLoaded"] == 3

        # Stop under load, keep writing while stopped, resume: nothing lost, nothing doubled.
        writer = Writer(logical_pg, source_db, first_id=5_000_000)
        writer.start()
        try:
            seen = writer.transactions
            wait_until(lambda: writer.transactions >= seen + 10, "writes before the stop")
            stopped = stop(dms, arn)
            assert stopped["StopReason"] == "Stop Reason NORMAL"
            assert stopped.get("RecoveryCheckpoint")
            assert slots(logical_pg, source_db), "a stopped task keeps its slot"
            seen = writer.transactions
            wait_until(lambda: writer.transactions >= seen + 20, "writes while the task is stopped")
            start(dms, arn, "resume-processing")
            wait_until(lambda: status(dms, arn) == "running", "the task to run again")
            seen = writer.transactions
            wait_until(lambda: writer.transactions >= seen + 20, "writes after the resume")
        finally:
            writer.stop()
        wait_until(lambda: identical(src, tgt, "items", "fullrow"), "the resumed task to catch up")
        stop(dms, arn)
        dms.client.delete_replication_task(ReplicationTaskArn=arn)
        tasks.remove(arn)
        assert slots(logical_pg, source_db) == [], "deleting the task drops its slot"


def test_cdc_only_task_applies_changes_from_its_start(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for conn in (src, tgt):
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)")
        src.execute("INSERT INTO items VALUES (1, 'before the start', 0)")
        arn = cdc_task(
            dms,
            logical_endpoint(dms, logical_pg, "source", source_db),
            logical_endpoint(dms, logical_pg, "target", target_db),
            "cdc",
        )
        tasks.append(arn)
        start(dms, arn)
        wait_until(lambda: status(dms, arn) == "running" and bool(slots(logical_pg, source_db)), "the slot")
        src.execute("INSERT INTO items VALUES (2, 'after', 0)")
        src.execute("UPDATE items SET n = 5 WHERE id = 1")  # not on the target: matches no row
        src.execute("TRUNCATE items")
        src.execute("INSERT INTO items VALUES (3, 'after the truncate', 0)")
        wait_until(lambda: rows(tgt, "items") == ['(3,"after the truncate",0)'], "the changes to apply")
        items = dms.table_stats(arn)[("public", "items")]
        assert (items["Inserts"], items["AppliedInserts"], items["Ddls"], items["AppliedDdls"]) == (
            2,
            2,
            1,
            1,
        )


def test_cdc_stop_position_stops_with_the_dms_reason(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for conn in (src, tgt):
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)")
        source = logical_endpoint(dms, logical_pg, "source", source_db)
        target = logical_endpoint(dms, logical_pg, "target", target_db)
        past = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
        with pytest.raises(ClientError) as refused:
            cdc_task(dms, source, target, "cdc", CdcStopPosition=f"server_time:{past}")
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "in the past" in refused.value.response["Error"]["Message"]
        soon = (datetime.now(timezone.utc) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%S")
        arn = cdc_task(dms, source, target, "cdc", CdcStopPosition=f"server_time:{soon}")
        tasks.append(arn)
        assert dms.describe_task(arn)["CdcStopPosition"] == f"server_time:{soon}"
        start(dms, arn)
        wait_until(lambda: status(dms, arn) == "stopped", "the stop position")
        assert dms.describe_task(arn)["StopReason"] == "Stop Reason STOPPED_AT_SERVER_TIME"
        with pytest.raises(ClientError) as again:
            start(dms, arn, "resume-processing")  # the stop position has passed now
        assert again.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_a_source_without_logical_decoding_fails_the_task_and_leaves_no_slot(
    dms: Dms, pg_server: PgServer, make_pg_database: Callable[[], str], tasks: list[str]
) -> None:
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        wal_level = conn.execute("SHOW wal_level").fetchone()
    if wal_level == ("logical",):
        pytest.skip("the shared test PostgreSQL has wal_level=logical: no server without it to test")
    source_db, target_db = make_pg_database(), make_pg_database()
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY)")
    arn = cdc_task(
        dms, dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    tasks.append(arn)
    start(dms, arn)
    wait_until(lambda: status(dms, arn) == "failed", "the task to fail")
    message = dms.describe_task(arn)["LastFailureMessage"]
    assert "wal_level = logical" in message and "restart" in message
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        left = conn.execute("SELECT count(*) FROM pg_replication_slots WHERE database = %s", [source_db])
        assert left.fetchone() == (0,)


def test_no_free_replication_slot_fails_the_task_and_leaves_no_slot(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src:
        src.execute("CREATE TABLE items (id int PRIMARY KEY)")
        limit = int(src.execute("SHOW max_replication_slots").fetchone()[0])  # type: ignore[index]
        used = int(src.execute("SELECT count(*) FROM pg_replication_slots").fetchone()[0])  # type: ignore[index]
        fillers = [f"filler_{source_db}_{n}"[:63] for n in range(limit - used)]
        for name in fillers:
            src.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", [name])
        arn = cdc_task(
            dms,
            logical_endpoint(dms, logical_pg, "source", source_db),
            logical_endpoint(dms, logical_pg, "target", target_db),
        )
        tasks.append(arn)
        start(dms, arn)
        wait_until(lambda: status(dms, arn) == "failed", "the task to fail")
        message = dms.describe_task(arn)["LastFailureMessage"]
        assert "max_replication_slots" in message
        assert sorted(slots(logical_pg, source_db)) == sorted(fillers)


def test_mysql_binlog_full_load_and_cdc_under_writes(
    dms: Dms,
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    pg_server: PgServer,
    pg_database: str,
    tasks: list[str],
) -> None:
    from tests.local.cdc_mysql.workload import TABLES, create_source, source_rows, target_rows
    from tests.local.cdc_mysql.workload import Writer as MySqlWriter

    db = binlog_database
    create_source(binlog_server, db, orders=5_000, events=1_000)
    source = dms.endpoint(
        "source", "mariadb", ServerName=binlog_server.host, Port=binlog_server.port,
        Username=binlog_server.user, DatabaseName=db,
    )  # fmt: skip
    target = dms.pg_endpoint("target", pg_server, pg_database)
    mappings = {
        "rules": [
            {
                "rule-type": "selection", "rule-id": "1", "rule-name": "all",
                "object-locator": {"schema-name": db, "table-name": "%"}, "rule-action": "include",
            }
        ]
    }  # fmt: skip
    arn = cdc_task(dms, source, target, mappings=mappings)
    tasks.append(arn)
    writer = MySqlWriter(binlog_server, db)
    writer.start()
    try:
        start(dms, arn)
        wait_until(
            lambda: loaded(dms, arn, len(TABLES)), "every table to be loaded", state=task_state(dms, arn)
        )
        writer.wait_for(writer.transactions + 30)
    finally:
        writer.stop()
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:

        def same() -> bool:
            return all(target_rows(conn, db, t) == source_rows(binlog_server, db, t) for t in TABLES)

        wait_until(same, "the target to equal the MySQL source")
    stats = dms.table_stats(arn)
    assert sum(s["AppliedInserts"] + s["AppliedUpdates"] + s["AppliedDeletes"] for s in stats.values()) > 0
    for table in stats.values():
        for name in ("Inserts", "Updates", "Deletes"):
            assert table[f"Applied{name}"] == table[name]
    stopped = stop(dms, arn)
    assert stopped["StopReason"] == "Stop Reason NORMAL"


def test_reload_tables_while_the_stream_runs_loses_nothing(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        src.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)")
        src.execute("INSERT INTO items SELECT g, 'row ' || g, 0 FROM generate_series(1, 5000) g")
        arn = cdc_task(
            dms,
            logical_endpoint(dms, logical_pg, "source", source_db),
            logical_endpoint(dms, logical_pg, "target", target_db),
        )
        tasks.append(arn)
        start(dms, arn)
        wait_until(lambda: loaded(dms, arn, 1), "the table to be loaded", state=task_state(dms, arn))
        tgt.execute("DELETE FROM items WHERE id <= 5")  # drift the reload must repair
        writer = Writer(logical_pg, source_db)
        writer.start()
        try:
            seen = writer.transactions
            wait_until(lambda: writer.transactions >= seen + 10, "writes before the reload")
            dms.client.reload_tables(
                ReplicationTaskArn=arn, TablesToReload=[{"SchemaName": "public", "TableName": "items"}]
            )
            wait_until(
                lambda: dms.table_stats(arn)[("public", "items")]["FullLoadReloaded"] and loaded(dms, arn, 1),
                "the reload to finish",
                state=task_state(dms, arn),
            )
            seen = writer.transactions
            wait_until(lambda: writer.transactions >= seen + 10, "writes after the reload")
        finally:
            writer.stop()
        wait_until(lambda: identical(src, tgt, "items"), "the target to catch up after the reload")
        assert status(dms, arn) == "running"


def test_reload_of_several_tables_at_once_loads_each_from_its_own_snapshot(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    """ReloadTables calls in quick succession on a running CDC task: the reloads run in parallel,
    each from its own temporary snapshot slot (one shared name failed all but one), and every
    table loads."""
    source_db, target_db = pg_databases
    names = [f"t{i}" for i in range(10)]  # at most 10 a ReloadTables call
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for name in names:
            table = sql.Identifier(name)
            src.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, n int NOT NULL)").format(table))
            src.execute(sql.SQL("INSERT INTO {} SELECT g, g FROM generate_series(1, 20) g").format(table))
        arn = cdc_task(
            dms,
            logical_endpoint(dms, logical_pg, "source", source_db),
            logical_endpoint(dms, logical_pg, "target", target_db),
        )
        tasks.append(arn)
        start(dms, arn)
        wait_until(
            lambda: loaded(dms, arn, len(names)), "the tables to be loaded", state=task_state(dms, arn)
        )
        for name in names:
            # drift each reload must repair
            tgt.execute(sql.SQL("DELETE FROM {} WHERE id <= 5").format(sql.Identifier(name)))
        for half in (names[:5], names[5:]):  # two calls at once, as a caller past 10 tables makes
            dms.client.reload_tables(
                ReplicationTaskArn=arn,
                TablesToReload=[{"SchemaName": "public", "TableName": name} for name in half],
            )
        wait_until(
            lambda: (
                all(dms.table_stats(arn)[("public", n)]["FullLoadReloaded"] for n in names)
                and loaded(dms, arn, len(names))
            ),
            "the reloads to finish",
            state=task_state(dms, arn),
        )
        states = {n: dms.table_stats(arn)[("public", n)]["TableState"] for n in names}
        assert set(states.values()) == {"Table completed"}, states
        assert identical(src, tgt, *names)
        assert status(dms, arn) == "running"


def test_a_replicating_task_publishes_its_cdc_metrics_to_cloudwatch(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    """CDCLatencySource, CDCLatencyTarget and CDCIncomingChanges reach CloudWatch (namespace AWS/DMS,
    AWS's two dimensions) while the task applies changes, as the lag and cutover waits read them."""
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for conn in (src, tgt):
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)")
        arn = cdc_task(
            dms,
            logical_endpoint(dms, logical_pg, "source", source_db),
            logical_endpoint(dms, logical_pg, "target", target_db),
            "cdc",
        )
        tasks.append(arn)
        start(dms, arn)
        wait_until(lambda: status(dms, arn) == "running" and bool(slots(logical_pg, source_db)), "the slot")
        src.execute("INSERT INTO items VALUES (1, 'one', 0)")
        wait_until(
            lambda: rows(tgt, "items") == ["(1,one,0)"], "the change to apply", state=task_state(dms, arn)
        )

    cloudwatch, dimensions = task_cloudwatch(dms, arn)
    now = datetime.now(timezone.utc)

    def published(metric: str) -> list[dict[str, Any]]:
        return list(
            cloudwatch.get_metric_statistics(
                Namespace="AWS/DMS",
                MetricName=metric,
                Dimensions=dimensions,
                StartTime=now - timedelta(minutes=10),
                EndTime=now + timedelta(minutes=10),
                Period=60,
                Statistics=["Maximum"],
            )["Datapoints"]
        )

    for metric in ("CDCLatencySource", "CDCLatencyTarget", "CDCIncomingChanges"):
        wait_until(lambda metric=metric: bool(published(metric)), f"{metric} datapoints")


def task_cloudwatch(dms: Dms, arn: str) -> tuple[Any, list[dict[str, str]]]:
    """A CloudWatch client of the local DMS and the task's metric dimensions, as AWS names them."""
    import boto3

    meta = dms.client.meta
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=meta.endpoint_url,
        region_name=meta.region_name,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    instance = dms.client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [dms.instance_arn]}]
    )["ReplicationInstances"][0]["ReplicationInstanceIdentifier"]
    dimensions = [
        {"Name": "ReplicationInstanceIdentifier", "Value": instance},
        {"Name": "ReplicationTaskIdentifier", "Value": arn.rsplit(":", 1)[-1]},
    ]
    return cloudwatch, dimensions


def test_cdc_latency_target_rises_while_changes_wait_and_returns_to_zero_once_applied(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str]
) -> None:
    """A lock on the target table holds a captured change back: the published CDCLatencyTarget
    (AWS: from the first event waiting to commit on the target to now) and CDCIncomingChanges
    rise above 0 while it waits, and read 0 again once it is committed."""
    source_db, target_db = pg_databases
    with (
        connect(logical_pg, source_db) as src,
        connect(logical_pg, target_db) as tgt,
        connect(logical_pg, target_db) as blocker,
    ):
        for conn in (src, tgt):
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)")
        arn = cdc_task(
            dms,
            logical_endpoint(dms, logical_pg, "source", source_db),
            logical_endpoint(dms, logical_pg, "target", target_db),
            "cdc",
        )
        tasks.append(arn)
        start(dms, arn)
        wait_until(lambda: status(dms, arn) == "running" and bool(slots(logical_pg, source_db)), "the slot")
        cloudwatch, dimensions = task_cloudwatch(dms, arn)
        began = datetime.now(timezone.utc) - timedelta(seconds=1)

        def latest(metric: str) -> float | None:
            """The newest datapoint published since the change was made."""
            result = cloudwatch.get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": "m",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/DMS",
                                "MetricName": metric,
                                "Dimensions": dimensions,
                            },
                            "Period": 1,
                            "Stat": "Maximum",
                        },
                    }
                ],
                StartTime=began,
                EndTime=datetime.now(timezone.utc) + timedelta(minutes=1),
                ScanBy="TimestampDescending",
            )["MetricDataResults"][0]
            values = result.get("Values", [])
            return float(values[0]) if values else None

        with blocker.transaction():
            blocker.execute("LOCK TABLE items IN SHARE MODE")  # reads go on, writes wait
            src.execute("INSERT INTO items VALUES (1, 'held back', 0)")
            wait_until(
                lambda: (latest("CDCLatencyTarget") or 0) > 0 and (latest("CDCIncomingChanges") or 0) >= 1,
                "CDCLatencyTarget and CDCIncomingChanges above 0 while the change waits",
                state=lambda: (latest("CDCLatencyTarget"), latest("CDCIncomingChanges")),
            )
            assert rows(tgt, "items") == []
        wait_until(lambda: rows(tgt, "items") == ['(1,"held back",0)'], "the change to apply")
        wait_until(
            lambda: latest("CDCLatencyTarget") == 0 and latest("CDCIncomingChanges") == 0,
            "CDCLatencyTarget and CDCIncomingChanges back to 0 once applied",
            state=lambda: (latest("CDCLatencyTarget"), latest("CDCIncomingChanges")),
        )


# --- CdcStartPosition / CdcStartTime on a PostgreSQL source (local/cdc/start_position.py) ---
ITEMS = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)"


@pytest.fixture
def user_slot(logical_pg: LogicalPg, pg_databases: tuple[str, str]) -> Iterator[str]:
    """A test_decoding slot the user created on the source; dropped after the test."""
    name = f"user_slot_{pg_databases[0]}"[:63]
    with connect(logical_pg, pg_databases[0]) as src:
        src.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", [name])
    yield name
    with psycopg.connect(logical_pg.dsn(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
            [name],
        )


def _source(dms: Dms, pg: LogicalPg, database: str, slot: str = "") -> str:
    settings = {"PostgreSQLSettings": {"SlotName": slot}} if slot else {}
    return dms.endpoint(
        "source",
        "postgres",
        ServerName=pg.host,
        Port=pg.port,
        Username=pg.user,
        Password="unused",
        DatabaseName=database,
        **settings,
    )


def _lsn(conn: psycopg.Connection[object]) -> str:
    row = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def _failure(dms: Dms, arn: str) -> str:
    wait_until(lambda: status(dms, arn) == "failed", "the task to fail", state=task_state(dms, arn))
    return str(dms.describe_task(arn)["LastFailureMessage"])


def test_cdc_start_position_with_the_endpoint_slot_replicates_what_committed_after_it(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str], user_slot: str
) -> None:
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for conn in (src, tgt):
            conn.execute(ITEMS)
        src.execute("INSERT INTO items VALUES (1, 'before the start point', 0)")
        position = _lsn(src)
        src.execute("INSERT INTO items VALUES (2, 'after it, before the task', 0)")
        arn = cdc_task(
            dms,
            _source(dms, logical_pg, source_db, user_slot),
            logical_endpoint(dms, logical_pg, "target", target_db),
            "cdc",
        )
        tasks.append(arn)
        start(dms, arn, CdcStartPosition=position)
        wait_until(
            lambda: rows(tgt, "items") == ['(2,"after it, before the task",0)'],
            "the change after the start point",
            state=task_state(dms, arn),
        )
        assert dms.describe_task(arn)["CdcStartPosition"] == position
        src.execute("INSERT INTO items VALUES (3, 'while running', 0)")
        wait_until(lambda: len(rows(tgt, "items")) == 2, "the change while running")
        assert slots(logical_pg, source_db) == [user_slot]  # the task made no slot of its own
        dms.client.stop_replication_task(ReplicationTaskArn=arn)
        wait_until(lambda: status(dms, arn) == "stopped", "the task to stop")
        src.execute("INSERT INTO items VALUES (4, 'while stopped', 0)")
        start(dms, arn, "resume-processing")  # from the saved position, in the same slot
        wait_until(lambda: rows(tgt, "items") == rows(src, "items")[1:], "the resumed changes")
        dms.client.stop_replication_task(ReplicationTaskArn=arn)
        wait_until(lambda: status(dms, arn) == "stopped", "the task to stop")
        dms.client.delete_replication_task(ReplicationTaskArn=arn)
        tasks.remove(arn)

        def deleted() -> bool:
            try:
                dms.describe_task(arn)
            except ClientError:
                return True
            return False

        wait_until(deleted, "the task to be deleted")
        assert slots(logical_pg, source_db) == [user_slot]  # the user's slot stays


def test_aws_refusals_around_the_native_start_point(
    dms: Dms, logical_pg: LogicalPg, pg_databases: tuple[str, str], tasks: list[str], user_slot: str
) -> None:
    source_db, target_db = pg_databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for conn in (src, tgt):
            conn.execute(ITEMS)
        position = _lsn(src)
        target = logical_endpoint(dms, logical_pg, "target", target_db)
        plain = _source(dms, logical_pg, source_db)
        with_slot = _source(dms, logical_pg, source_db, user_slot)
        cases = [
            (plain, {"CdcStartTime": datetime.now(timezone.utc)}, "doesn't support a custom CDC start time"),
            (plain, {"CdcStartPosition": position}, "PostgreSQLSettings.SlotName"),
            (with_slot, {}, "needs a valid CdcStartPosition"),
            (with_slot, {"CdcStartPosition": "checkpoint:V1#1#x"}, "is not a PostgreSQL native start point"),
            (
                _source(dms, logical_pg, source_db, "no_such_slot"),
                {"CdcStartPosition": position},
                "does not exist",
            ),
        ]
        for source, extra, expected in cases:
            arn = cdc_task(dms, source, target, "cdc")
            tasks.append(arn)
            start(dms, arn, **extra)
            assert expected in _failure(dms, arn), (extra, expected)
        # Past the slot's confirmed position: those changes are gone from the slot.
        src.execute("INSERT INTO items VALUES (1, 'moves the slot', 0)")
        later = _lsn(src)
        src.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", [user_slot, later])
        arn = cdc_task(dms, with_slot, target, "cdc")
        tasks.append(arn)
        start(dms, arn, CdcStartPosition=position)
        assert f"is before the slot {user_slot}'s confirmed position" in _failure(dms, arn)
        assert slots(logical_pg, source_db) == [user_slot]  # no failed start dropped or added a slot

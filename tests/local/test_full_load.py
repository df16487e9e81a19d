"""Full loads through boto3: wildcard mappings, data types, prep modes, table and fatal errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.databases import DatabaseAddress, connect_postgres
from airflow_neon_dms.local.full_load import load_table
from airflow_neon_dms.local.postgres_source import PostgresSource
from tests.local.logical_source import logical_pair, logical_server  # noqa: F401 (CDC tasks)

SCHEMA_SQL = """
CREATE SCHEMA sales;
CREATE TABLE sales.customers (
    id integer PRIMARY KEY, name text NOT NULL, note text, balance numeric(12, 2),
    photo bytea, profile jsonb, seen_at timestamptz
);
INSERT INTO sales.customers VALUES
    (1, 'Zoë Ångström', 'naïve café ☕', 1234.56, '\\x00ff10', '{"tier": "gold", "tags": [1, 2]}',
     '2024-03-01 12:34:56.789+02'),
    (2, '日本語の名前', NULL, NULL, NULL, NULL, NULL),
    (3, 'tab\there', 'line
break', -0.01, '\\x', '{}', '1999-12-31 23:59:59+00');
CREATE TABLE sales.order_lines (
    order_id bigint, line_no smallint, qty integer NOT NULL, PRIMARY KEY (order_id, line_no)
);
INSERT INTO sales.order_lines SELECT g / 3, g % 3, g FROM generate_series(1, 3000) g;
CREATE TABLE sales.events (payload text, at timestamptz);
INSERT INTO sales.events VALUES ('a', now()), (NULL, NULL), ('a', now());
CREATE TABLE sales.tmp_scratch (id int PRIMARY KEY);
INSERT INTO sales.tmp_scratch VALUES (1);
CREATE TABLE public.not_selected (id int);
"""

WILDCARD_WITH_EXCLUDE = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "all-sales",
            "object-locator": {"schema-name": "sal%", "table-name": "%"},
            "rule-action": "include",
        },
        {
            "rule-type": "selection",
            "rule-id": "2",
            "rule-name": "no-tmp",
            "object-locator": {"schema-name": "sales", "table-name": "tmp%"},
            "rule-action": "exclude",
        },
    ]
}


def _rows(dsn: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


def _setup(pg_server: Any, database: str, script: str) -> None:
    with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
        conn.execute(script)


def test_wildcard_mapping_with_exclude_copies_every_type(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    _setup(pg_server, source_db, SCHEMA_SQL)
    source = dms.pg_endpoint("source", pg_server, source_db)
    target = dms.pg_endpoint("target", pg_server, target_db)
    task = dms.task(source, target, WILDCARD_WITH_EXCLUDE, {"ValidationSettings": {"EnableValidation": True}})

    described = dms.run_full_load(task)

    assert described["Status"] == "stopped"
    assert described["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert described["ReplicationTaskStats"]["TablesLoaded"] == 3
    assert described["ReplicationTaskStats"]["FullLoadProgressPercent"] == 100
    stats = dms.table_stats(task)
    assert set(stats) == {("sales", "customers"), ("sales", "order_lines"), ("sales", "events")}
    assert stats[("sales", "order_lines")]["FullLoadRows"] == 3000
    assert stats[("sales", "customers")]["FullLoadRows"] == 3
    assert all(s["TableState"] == "Table completed" for s in stats.values())
    assert stats[("sales", "customers")]["ValidationState"] == "Validated"
    assert stats[("sales", "order_lines")]["ValidationState"] == "Validated"
    assert stats[("sales", "events")]["ValidationState"] == "No primary key"
    for table in ("customers", "order_lines", "events"):
        query = f"SELECT * FROM sales.{table} ORDER BY 1, 2"  # noqa: S608 (fixed names)
        assert _rows(pg_server.dsn(target_db), query) == _rows(pg_server.dsn(source_db), query)
    target_tables = _rows(
        pg_server.dsn(target_db),
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('sales', 'public') ORDER BY 1, 2",
    )
    assert target_tables == [("sales", "customers"), ("sales", "events"), ("sales", "order_lines")]
    pk = _rows(
        pg_server.dsn(target_db),
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'sales.order_lines'::regclass "
        "AND i.indisprimary ORDER BY 1",
    )
    assert pk == [("line_no",), ("order_id",)]


@pytest.mark.parametrize(
    ("prep_mode", "expected"),
    [
        ("TRUNCATE_BEFORE_LOAD", [(1, "new"), (2, "new")]),
        ("DO_NOTHING", [(1, "new"), (2, "new"), (9, "old")]),
    ],
)
def test_target_table_prep_mode(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str], prep_mode: str, expected: list[tuple[int, str]]
) -> None:
    source_db, target_db = pg_pair
    _setup(
        pg_server, source_db, "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'new'), (2, 'new');"
    )
    # The target keeps its own schema (an extra default column) in both modes.
    _setup(
        pg_server,
        target_db,
        "CREATE TABLE t (id int, v text, loaded boolean DEFAULT true); INSERT INTO t VALUES (9, 'old');",
    )
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings={"FullLoadSettings": {"TargetTablePrepMode": prep_mode}},
    )
    assert dms.run_full_load(task)["Status"] == "stopped"
    assert _rows(pg_server.dsn(target_db), "SELECT id, v FROM t ORDER BY id") == expected
    assert _rows(pg_server.dsn(target_db), "SELECT count(*) FROM t WHERE loaded IS NULL") == [(0,)]


def test_drop_and_create_replaces_the_target_table(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    _setup(
        pg_server, source_db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'x');"
    )
    _setup(pg_server, target_db, "CREATE TABLE t (other int); INSERT INTO t VALUES (5);")
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    dms.run_full_load(task)
    assert _rows(pg_server.dsn(target_db), "SELECT * FROM t") == [(1, "x")]


def test_a_failing_table_does_not_stop_the_task(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    _setup(
        pg_server,
        source_db,
        "CREATE TABLE good (id int PRIMARY KEY); INSERT INTO good SELECT generate_series(1, 10);"
        "CREATE TABLE bad (id int PRIMARY KEY, v text); INSERT INTO bad VALUES (1, 'not a number');",
    )
    _setup(pg_server, target_db, "CREATE TABLE bad (id int PRIMARY KEY, v integer);")
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings={"FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"}},
    )
    described = dms.run_full_load(task)
    assert described["Status"] == "stopped"
    assert described["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert described["ReplicationTaskStats"]["TablesErrored"] == 1
    assert described["ReplicationTaskStats"]["TablesLoaded"] == 1
    stats = dms.table_stats(task)
    assert stats[("public", "bad")]["TableState"] == "Table error"
    assert stats[("public", "good")]["TableState"] == "Table completed"
    assert stats[("public", "good")]["FullLoadRows"] == 10
    assert _rows(pg_server.dsn(target_db), "SELECT count(*) FROM bad") == [(0,)]
    failed_only = dms.client.describe_table_statistics(
        ReplicationTaskArn=task, Filters=[{"Name": "table-state", "Values": ["Table error"]}]
    )["TableStatistics"]
    assert [s["TableName"] for s in failed_only] == ["bad"]


def test_unreachable_source_fails_the_task(dms: Any, pg_server: Any, pg_database: str) -> None:
    source = dms.endpoint(
        "source", ServerName="127.0.0.1", Port=1, Username="nobody", Password="secret-pw", DatabaseName="x"
    )
    task = dms.task(source, dms.pg_endpoint("target", pg_server, pg_database))
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    with pytest.raises(Exception, match="failure state"):
        dms.wait("replication_task_stopped", task)
    described = dms.describe_task(task)
    assert described["Status"] == "failed"
    assert described["StopReason"] == "Stop Reason FATAL_ERROR"
    assert "source endpoint" in described["LastFailureMessage"]
    assert "Connection refused" in described["LastFailureMessage"]
    assert "secret-pw" not in json.dumps(described, default=str)


def test_no_selected_table_is_a_fatal_error(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    with pytest.raises(Exception, match="failure state"):
        dms.wait("replication_task_stopped", task)
    assert "No tables were found" in dms.describe_task(task)["LastFailureMessage"]


def test_full_load_and_cdc_keeps_running_until_stopped(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    _setup(pg_server, source_db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        migration_type="full-load-and-cdc",
    )
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    dms.wait("replication_task_running", task)
    _wait_for(lambda: dms.table_stats(task).get(("public", "t"), {}).get("TableState") == "Table completed")
    assert dms.describe_task(task)["Status"] == "running"
    assert (
        dms.client.stop_replication_task(ReplicationTaskArn=task)["ReplicationTask"]["Status"] == "stopping"
    )
    dms.wait("replication_task_stopped", task)
    assert dms.describe_task(task)["StopReason"] == "Stop Reason NORMAL"
    # resume after a stop is allowed; start-replication is not
    with pytest.raises(dms.client.exceptions.ClientError, match="InvalidParameterCombination"):
        dms.client.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="resume-processing")
    dms.wait("replication_task_running", task)
    with pytest.raises(dms.client.exceptions.InvalidResourceStateFault):
        dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="reload-target")
    dms.client.stop_replication_task(ReplicationTaskArn=task)
    dms.wait("replication_task_stopped", task)


def _wait_for(condition: Callable[[], bool], attempts: int = 300) -> None:
    import time

    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_partitioned_table_and_user_defined_types(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    _setup(
        pg_server,
        source_db,
        "CREATE TYPE mood AS ENUM ('happy', 'sad');"
        "CREATE TABLE events (id int, at date, feeling mood, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
        "CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');"
        "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
        "INSERT INTO events VALUES (1, '2023-05-01', 'happy'), (2, '2024-05-01', 'sad'),"
        " (3, '2024-06-01', NULL);",
    )
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings={"ValidationSettings": {"EnableValidation": True}},
    )
    dms.run_full_load(task)
    stats = dms.table_stats(task)
    assert set(stats) == {("public", "events")}  # the partitions are loaded through their parent
    assert stats[("public", "events")]["FullLoadRows"] == 3
    assert stats[("public", "events")]["ValidationState"] == "Validated"
    assert _rows(pg_server.dsn(target_db), "SELECT id, feeling FROM events ORDER BY id") == [
        (1, "happy"),
        (2, "sad"),
        (3, None),
    ]
    assert _rows(
        pg_server.dsn(target_db),
        "SELECT data_type FROM information_schema.columns WHERE column_name = 'feeling'",
    ) == [("text",)]


def test_transformation_rules_choose_the_target_names(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    _setup(pg_server, source_db, SCHEMA_SQL)
    mappings = {
        "rules": [
            *WILDCARD_WITH_EXCLUDE["rules"],
            {
                "rule-type": "transformation",
                "rule-id": "3",
                "rule-name": "into-public",
                "rule-target": "schema",
                "object-locator": {"schema-name": "sales"},
                "rule-action": "rename",
                "value": "public",
            },
            {
                "rule-type": "transformation",
                "rule-id": "4",
                "rule-name": "prefix",
                "rule-target": "table",
                "object-locator": {"schema-name": "sales", "table-name": "%"},
                "rule-action": "add-prefix",
                "value": "legacy_",
            },
        ]
    }
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        mappings,
        {"ValidationSettings": {"EnableValidation": True}},
    )
    dms.run_full_load(task)
    stats = dms.table_stats(task)
    assert stats[("sales", "customers")]["ValidationState"] == "Validated"
    assert stats[("sales", "order_lines")]["FullLoadRows"] == 3000
    tables = _rows(
        pg_server.dsn(target_db),
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('sales', 'public') ORDER BY 1, 2",
    )
    assert tables == [
        ("public", "legacy_customers"),
        ("public", "legacy_events"),
        ("public", "legacy_order_lines"),
    ]
    assert _rows(pg_server.dsn(target_db), "SELECT count(*) FROM legacy_order_lines") == [(3000,)]


def test_engine_loads_a_table_without_http(pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    _setup(
        pg_server,
        source_db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, NULL), (2, 'ü');",
    )

    def address(database: str) -> DatabaseAddress:
        return DatabaseAddress(
            "postgres", pg_server.host, pg_server.port, pg_server.user, pg_server.password, database
        )

    source = PostgresSource(address(source_db))
    reported: list[int] = []
    try:
        with connect_postgres(address(target_db)) as target:
            rows = load_table(source, target, "public", "t", "DROP_AND_CREATE", progress=reported.append)
    finally:
        source.close()
    assert rows == 2
    assert sum(reported) == 2
    assert _rows(pg_server.dsn(target_db), "SELECT * FROM t ORDER BY id") == [(1, None), (2, "ü")]


def test_unsupported_engines_fail_the_task_with_a_clear_message(dms: Any) -> None:
    task = dms.task(dms.endpoint("source", "oracle"), dms.endpoint("target", "mysql"))
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    with pytest.raises(Exception, match="failure state"):
        dms.wait("replication_task_stopped", task)
    described = dms.describe_task(task)
    assert described["StopReason"] == "Stop Reason FATAL_ERROR"
    assert "PostgreSQL targets only, not mysql" in described["LastFailureMessage"]

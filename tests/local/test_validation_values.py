"""Validation on values Python compares badly: ±infinity, NaN, -0.0, numeric NaN, in arrays and ranges.

A full load copies these exactly; validation must then say ``Validated`` every time (NaN keys
too), and still find a real difference in such a table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.identifiers import mysql_identifier
from tests.local.logical_source import logical_pair, logical_server  # noqa: F401 (CDC tasks)

VALIDATE = {"ValidationSettings": {"EnableValidation": True}}
ROWS = 200  # the generate_series below
#: Every row of ``special_values`` carries NaN, ±infinity or -0 somewhere; ``small`` is -1 in row 5.
PG_SCHEMA = """
CREATE TABLE special_values (
    id int PRIMARY KEY, small int, f8 float8, f4 real, n numeric, ts timestamp, tstz timestamptz,
    d date, t time, iv interval, f8a float8[], na numeric[], da date[], tsa timestamptz[],
    nr numrange, tsr tsrange, dr daterange, j jsonb
);
INSERT INTO special_values
SELECT g, CASE WHEN g = 5 THEN -1 ELSE g END,
    (ARRAY['NaN', '-0', 'Infinity', '-Infinity', (g * 1.5)::text])[g % 5 + 1]::float8,
    (ARRAY['NaN', '-0', 'Infinity', '-Infinity', '0.1'])[g % 5 + 1]::real,
    (ARRAY['NaN', '-0', 'Infinity', '-Infinity', '1.50'])[g % 5 + 1]::numeric,
    (ARRAY['infinity', '-infinity', '20000-01-01 12:00', '4713-01-01 BC', '2024-02-29 23:59:59.999999'])
        [g % 5 + 1]::timestamp,
    (ARRAY['infinity', '-infinity', '20000-01-01 12:00+05', '0044-03-15 12:00+01 BC', '2024-01-01+02'])
        [g % 5 + 1]::timestamptz,
    (ARRAY['infinity', '-infinity', '5874897-12-31', '4713-01-01 BC', '2000-01-01'])[g % 5 + 1]::date,
    (ARRAY['24:00:00', '00:00:00', '23:59:59.999999', '12:00', '24:00'])[g % 5 + 1]::time,
    (ARRAY['100000000 years', '-100000000 years', '1 mon', '1 day', '00:00:01'])[g % 5 + 1]::interval,
    ARRAY['NaN', '-0', 'Infinity', '-Infinity', NULL, g]::float8[],
    ARRAY['NaN', '-0', 'Infinity', g]::numeric[],
    ARRAY['infinity', '-infinity', '2020-01-01']::date[],
    ARRAY['infinity', '20000-01-01+00']::timestamptz[],
    numrange(g, 'NaN'),
    tsrange('-infinity', 'infinity'),
    daterange('2020-01-01', 'infinity'),
    jsonb_build_object('x', -0.0, 'list', jsonb_build_array(g, 1.50, true))
FROM generate_series(1, 200) g;
CREATE TABLE special_keys (f float8, n numeric, ts timestamp, d date, v text, PRIMARY KEY (f, n, ts, d));
INSERT INTO special_keys VALUES
    ('NaN', 'NaN', 'infinity', 'infinity', 'nan row'),
    ('-0', '-0', '-infinity', '-infinity', 'minus zero row'),
    ('Infinity', 'Infinity', '20000-01-01', '4713-01-01 BC', 'far row'),
    ('-Infinity', '-Infinity', '2024-01-01', '2024-01-01', 'plain row'),
    (1.5, 1.5, '2024-01-01', '2024-01-02', 'number row');
CREATE TABLE nan_only (k float8 PRIMARY KEY, f float8, n numeric, f8a float8[], small int);
INSERT INTO nan_only
SELECT CASE WHEN g = 1 THEN 'NaN'::float8 ELSE g END, 'NaN', 'NaN', ARRAY[g::float8, 'NaN'],
    CASE WHEN g = 1 THEN -1 ELSE g END
FROM generate_series(1, 200) g;
"""
TABLES = ("special_values", "special_keys", "nan_only")
#: The row each difference below changes.
CHANGED_ROW = {"special_values": "id = 5", "special_keys": "f = 'NaN'", "nan_only": "k = 'NaN'"}

#: (table, column, new target value, the value to put back): each changes exactly one target row.
#: The rows are found by their key; the last change moves a NaN/infinity key, so the source row is
#: missing from the target and the target row is missing from the source: two records.
DIFFERENCES = [
    ("nan_only", "small", "-2", "-1", 1),  # hash(-1) == hash(-2) in CPython
    ("nan_only", "f", "1", "NaN", 1),
    ("special_values", "f8", "0", "NaN", 1),
    ("special_values", "small", "-2", "-1", 1),  # hash(-1) == hash(-2) in CPython
    ("special_values", "n", "Infinity", "NaN", 1),
    ("special_values", "ts", "2020-01-01", "infinity", 1),
    ("special_values", "tstz", "-infinity", "infinity", 1),
    ("special_values", "t", "00:00", "24:00", 1),
    ("special_values", "iv", "99999999 years", "100000000 years", 1),
    ("special_values", "f8a", "{1,-0,Infinity,-Infinity,NULL,5}", "{NaN,-0,Infinity,-Infinity,NULL,5}", 1),
    ("special_values", "na", "{1,-0,Infinity,5}", "{NaN,-0,Infinity,5}", 1),
    ("special_values", "nr", "[5,9)", "[5,NaN)", 1),
    ("special_values", "tsr", "[-infinity,2030-01-01)", "[-infinity,infinity)", 1),
    ("special_values", "j", '{"x": 1, "list": [5, 1.50, true]}', '{"x": -0.0, "list": [5, 1.50, true]}', 1),
    ("special_values", "j", '{"x": -0.0, "list": [5, 1.50, 1]}', '{"x": -0.0, "list": [5, 1.50, true]}', 1),
    ("special_keys", "v", "changed", "nan row", 1),
    ("special_keys", "ts", "2024-01-01", "infinity", 2),
]


def _wait_for(condition: Callable[[], bool], attempts: int = 600) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def _validation(dms: Any, task: str) -> dict[str, tuple[str, int]]:
    return {
        table: (stat["ValidationState"], stat["ValidationFailedRecords"])
        for (_, table), stat in dms.table_stats(task).items()
    }


#: ValidationStates after which validation of a table changes no more (botocore's TableStatistics).
FINAL_VALIDATION_STATES = ("Validated", "Mismatched records", "Table error", "Error", "No primary key")


def _finished(dms: Any, task: str) -> bool:
    states = _validation(dms, task)
    return len(states) == len(TABLES) and all(s[0] in FINAL_VALIDATION_STATES for s in states.values())


def _make_databases(pg_server: Any, source_db: str, target_db: str) -> None:
    """The special tables in the source; the target's sessions print times and intervals otherwise."""
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        for setting, value in (("TimeZone", "Asia/Kolkata"), ("IntervalStyle", "iso_8601")):
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(target_db), sql.Identifier(setting), sql.Literal(value)
                )
            )


def test_full_load_of_special_values_validates(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    _make_databases(pg_server, source_db, target_db)
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings=VALIDATE,
    )
    described = dms.run_full_load(task)
    assert described["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    stats = dms.table_stats(task)
    assert {t: s["FullLoadRows"] for (_, t), s in stats.items()} == {
        "special_values": ROWS,
        "special_keys": 5,
        "nan_only": ROWS,
    }
    assert _validation(dms, task) == {t: ("Validated", 0) for t in TABLES}


@pytest.fixture
def running_special_task(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """A running full-load-and-cdc task over the special tables, loaded and validated: (arn, target db)."""
    source_db, target_db = pg_pair
    _make_databases(pg_server, source_db, target_db)
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        settings=VALIDATE,
        migration_type="full-load-and-cdc",
    )
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    dms.wait("replication_task_running", task)
    _wait_for(lambda: _validation(dms, task) == {t: ("Validated", 0) for t in TABLES} or _finished(dms, task))
    stats = dms.table_stats(task)
    assert _validation(dms, task) == {t: ("Validated", 0) for t in TABLES}, stats
    yield task, target_db
    dms.client.stop_replication_task(ReplicationTaskArn=task)
    dms.wait("replication_task_stopped", task)


def _revalidate(dms: Any, task: str, table: str) -> tuple[str, int]:
    dms.client.reload_tables(
        ReplicationTaskArn=task,
        TablesToReload=[{"SchemaName": "public", "TableName": table}],
        ReloadOption="validate-only",
    )
    _wait_for(lambda: _validation(dms, task)[table][0] != "Pending revalidation")
    return _validation(dms, task)[table]


def test_special_values_validate_every_time(dms: Any, running_special_task: tuple[str, str]) -> None:
    task, _ = running_special_task
    assert _validation(dms, task) == {t: ("Validated", 0) for t in TABLES}
    for _ in range(10):
        for table in TABLES:
            assert _revalidate(dms, task, table) == ("Validated", 0)


def test_a_real_difference_among_special_values_is_mismatched(
    dms: Any, pg_server: Any, running_special_task: tuple[str, str]
) -> None:
    task, target_db = running_special_task
    with psycopg.connect(pg_server.dsn(target_db), autocommit=True) as conn:
        for table, column, changed, original, records in DIFFERENCES:
            update = sql.SQL("UPDATE {} SET {} = %s WHERE " + CHANGED_ROW[table]).format(  # noqa: S608 (fixed keys)
                sql.Identifier(table), sql.Identifier(column)
            )
            conn.execute(update, [changed])
            assert _revalidate(dms, task, table) == ("Mismatched records", records), (column, changed)
            conn.execute(update, [original])
            assert _revalidate(dms, task, table) == ("Validated", 0), (column, original)


MYSQL_SCHEMA = """
CREATE TABLE {db}.signed_zero (
    id DOUBLE PRIMARY KEY, dbl DOUBLE, flt FLOAT, dec_value DECIMAL(10,2), note VARCHAR(20)
);
INSERT INTO {db}.signed_zero VALUES
    (-0.0, -0.0, -0.0, -0.00, 'minus zero key'),
    (1.5, -0.0, 0.1, 1.50, 'minus zero value'),
    (-1, -1, -1, -1, 'minus one'),
    (1e308, -1e-300, 3.4e37, 99999999.99, 'extremes');
"""


def test_mysql_source_with_signed_zero_validates(
    dms: Any, mysql_server: Any, mysql_database: str, pg_server: Any, pg_database: str
) -> None:
    """MariaDB/MySQL have no NaN or infinity, but keep -0.0 in DOUBLE (and as a key)."""
    conn = mysql_server.connect()
    try:
        with conn.cursor() as cur:
            for statement in MYSQL_SCHEMA.format(db=mysql_identifier(mysql_database)).split(";"):
                if statement.strip():
                    cur.execute(statement)
    finally:
        conn.close()
    credentials = {"Password": mysql_server.password} if mysql_server.password else {}
    source = dms.endpoint(
        "source",
        "mariadb",
        ServerName=mysql_server.host,
        Port=mysql_server.port,
        Username=mysql_server.user,
        **credentials,
    )
    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "db",
                "object-locator": {"schema-name": mysql_database, "table-name": "%"},
                "rule-action": "include",
            }
        ]
    }
    task = dms.task(source, dms.pg_endpoint("target", pg_server, pg_database), mappings, settings=VALIDATE)
    dms.run_full_load(task)
    assert _validation(dms, task) == {"signed_zero": ("Validated", 0)}
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as target:
        target.execute(
            sql.SQL("UPDATE {}.signed_zero SET dbl = -2 WHERE id = -1").format(sql.Identifier(mysql_database))
        )
    from airflow_neon_dms.local.databases import DatabaseAddress, connect_postgres
    from airflow_neon_dms.local.mysql_source import MySqlSource
    from airflow_neon_dms.local.validation import validate_table

    source_reader = MySqlSource(
        DatabaseAddress(
            "mariadb",
            mysql_server.host,
            mysql_server.port,
            mysql_server.user,
            mysql_server.password,
            mysql_database,
        )
    )
    try:
        with connect_postgres(
            DatabaseAddress(
                "postgres", pg_server.host, pg_server.port, pg_server.user, pg_server.password, pg_database
            )
        ) as target_conn:
            result = validate_table(
                source_reader, target_conn, source_reader.table_shape(mysql_database, "signed_zero")
            )
    finally:
        source_reader.close()
    assert (result.state, result.failed_records) == ("Mismatched records", 1)

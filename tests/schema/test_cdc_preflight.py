"""The schema pre-flight with a CDC migration type, on real servers: readiness findings join the report.

The machine's PostgreSQL runs wal_level=replica (not ready); the test run's own logical server
(tests/logical_postgres.py) is ready except for what each test seeds. MySQL: the machine's
MariaDB, whose settings the test reads itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.exceptions import NeonConfigError, SchemaPreflightError
from airflow_neon_dms.schema.preflight import run_preflight
from tests.conftest import MySqlServer, PgServer
from tests.logical_postgres import LogicalPg

MAPPING = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "app",
            "object-locator": {"schema-name": "app", "table-name": "%"},
            "rule-action": "include",
        }
    ]
}

SOURCE = """
CREATE SCHEMA app;
CREATE TABLE app.parent (id int PRIMARY KEY);
CREATE TABLE app.child (id int PRIMARY KEY, parent_id int);
CREATE TABLE app.events (at timestamptz, payload text);
CREATE TABLE app.audit (at timestamptz, what text);
ALTER TABLE app.audit REPLICA IDENTITY FULL;
"""

TARGET = """
CREATE SCHEMA app;
CREATE TABLE app.parent (id int PRIMARY KEY);
CREATE TABLE app.child (id int PRIMARY KEY,
    parent_id int CONSTRAINT child_parent_fk REFERENCES app.parent (id));
CREATE TABLE app.events (at timestamptz, payload text);
CREATE TABLE app.audit (at timestamptz, what text);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER parent_touch BEFORE INSERT ON app.parent FOR EACH ROW EXECUTE FUNCTION app.touch();
"""


def _run(dsn: str, script: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(script)  # type: ignore[arg-type]


def _found(report: Any) -> set[tuple[str, str, str | None, str]]:
    return {(p.severity, p.table, p.column, p.code) for p in report.problems}


def _preflight(source_dsn: str, target_dsn: str, migration_type: str) -> Any:
    with psycopg.connect(source_dsn) as src, psycopg.connect(target_dsn) as tgt:
        return run_preflight(src, "postgresql", tgt, MAPPING, migration_type=migration_type)


FULL_LOAD_PROBLEMS = {
    ("error", "app.child", None, "target_foreign_key"),
    ("warning", "app.events", None, "no_key"),
    ("warning", "app.audit", None, "no_key"),
}


def test_ready_source_reports_keyless_table_and_neon_trigger_once_each(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    source, target = logical_pg.dsn(make_logical_database()), logical_pg.dsn(make_logical_database())
    _run(source, SOURCE)
    _run(target, TARGET)
    report = _preflight(source, target, "full-load-and-cdc")
    assert _found(report) == FULL_LOAD_PROBLEMS | {
        ("error", "app.events", None, "no_replica_identity"),
        ("error", "app.parent", None, "cdc_target_trigger"),
    }
    # The target foreign key is reported once, by the full-load comparison.
    assert [p.code for p in report.problems if p.table == "app.child"] == ["target_foreign_key"]
    messages = {p.code: p.message for p in report.problems}
    assert "ALTER TABLE app.events REPLICA IDENTITY FULL" in messages["no_replica_identity"]
    assert "DISABLE TRIGGER parent_touch" in messages["cdc_target_trigger"]
    assert not report.passed


def test_full_load_keeps_todays_report(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    source, target = logical_pg.dsn(make_logical_database()), logical_pg.dsn(make_logical_database())
    _run(source, SOURCE)
    _run(target, TARGET)
    assert _found(_preflight(source, target, "full-load")) == FULL_LOAD_PROBLEMS


def test_a_target_foreign_key_is_reported_once_with_cdc(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    source, target = logical_pg.dsn(make_logical_database()), logical_pg.dsn(make_logical_database())
    _run(source, "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, ref int);")
    _run(target, "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, ref int REFERENCES app.t (id));")
    report = _preflight(source, target, "cdc")
    codes = [p.code for p in report.problems]
    assert codes.count("target_foreign_key") == 1 and "cdc_target_foreign_key" not in codes


def test_plain_server_is_not_ready_for_cdc(pg_server: PgServer, make_pg_database: Callable[[], str]) -> None:
    source, target = pg_server.dsn(make_pg_database()), pg_server.dsn(make_pg_database())
    with psycopg.connect(source) as conn:
        wal_level = conn.execute("SHOW wal_level").fetchone()[0]  # type: ignore[index]
    if wal_level == "logical":
        pytest.skip("the test PostgreSQL runs wal_level=logical; this test needs one that does not")
    _run(source, "CREATE SCHEMA app; CREATE TABLE app.parent (id int PRIMARY KEY);")
    _run(target, "CREATE SCHEMA app; CREATE TABLE app.parent (id int PRIMARY KEY);")
    report = _preflight(source, target, "full-load-and-cdc")
    assert ("error", "source", "wal_level", "wal_level_not_logical") in _found(report)
    wal = next(p for p in report.problems if p.code == "wal_level_not_logical")
    assert f"wal_level = {wal_level}" in wal.message and "wal_level = logical" in wal.message
    assert "wal_level" in report.as_table()
    assert _found(_preflight(source, target, "full-load")) == set()


def test_mysql_source_findings_follow_its_binlog_settings(
    mysql_server: MySqlServer, mysql_database: str, pg_server: PgServer, make_pg_database: Callable[[], str]
) -> None:
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE items (id int PRIMARY KEY, name varchar(20))")
            cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format')")
            settings = {str(k).lower(): str(v).upper() for k, v in cur.fetchall()}
        target = pg_server.dsn(make_pg_database())
        _run(
            target,
            f'CREATE SCHEMA "{mysql_database}"; '
            f'CREATE TABLE "{mysql_database}".items (id int PRIMARY KEY, name varchar(20));',
        )
        mapping = {
            "rules": [
                {**MAPPING["rules"][0], "object-locator": {"schema-name": mysql_database, "table-name": "%"}}
            ]
        }
        with psycopg.connect(target) as tgt:
            full = run_preflight(conn, "mysql", tgt, mapping)
            cdc = run_preflight(conn, "mysql", tgt, mapping, migration_type="full-load-and-cdc")
    finally:
        conn.close()
    expected = set()
    if settings.get("log_bin") != "ON":
        expected.add("binlog_disabled")
    if settings.get("binlog_format") != "ROW":
        expected.add("binlog_format_not_row")
    assert full.problems == []
    assert {p.code for p in cdc.problems if p.severity == "error"} == expected


def test_unknown_migration_type_is_a_clear_error() -> None:
    with pytest.raises(NeonConfigError, match="full-load, cdc, full-load-and-cdc"):
        run_preflight(None, "postgresql", None, MAPPING, migration_type="full_load")


# --- the operator ------------------------------------------------------------------------------
def _conn(host: str, port: int, database: str, conn_type: str, **extra: Any) -> str:
    return json.dumps(
        {
            "conn_type": conn_type,
            "host": host,
            "port": port,
            "login": "postgres",
            "schema": database,
            "extra": extra,
        }
    )


def test_operator_fails_on_cdc_blockers_with_templated_migration_type(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_neon_dms.operators.schema_preflight import NeonSchemaPreflightOperator
    from tests.unit.conftest import make_context

    source_db, target_db = make_logical_database(), make_logical_database()
    _run(logical_pg.dsn(source_db), SOURCE)
    _run(
        logical_pg.dsn(target_db), TARGET.replace("CONSTRAINT child_parent_fk REFERENCES app.parent (id)", "")
    )
    monkeypatch.setenv("AIRFLOW_CONN_CDC_SRC", _conn(logical_pg.host, logical_pg.port, source_db, "postgres"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_CDC_NEON", _conn(logical_pg.host, logical_pg.port, target_db, "neon", sslmode="disable")
    )
    op = NeonSchemaPreflightOperator(
        task_id="preflight",
        source_conn_id="cdc_src",
        neon_conn_id="cdc_neon",
        table_mappings=MAPPING,
        migration_type="{{ params.migration_type }}",
    )
    assert "migration_type" in op.template_fields
    context = make_context()
    op.render_template_fields({**context, "params": {"migration_type": "full-load-and-cdc"}})
    assert op.migration_type == "full-load-and-cdc"
    with pytest.raises(SchemaPreflightError, match="CDC settings"):
        op.execute(context)  # type: ignore[arg-type]
    report = context["ti"].xcom["report"]
    assert {p["code"] for p in report["problems"] if p["severity"] == "error"} == {
        "no_replica_identity",
        "cdc_target_trigger",
    }

    op.migration_type = "full-load"
    result = op.execute(make_context())  # type: ignore[arg-type]
    assert result["passed"] is True and result["warnings"] == 4  # no_key, source and Neon side


def test_operator_rejects_an_unknown_migration_type_before_connecting() -> None:
    from airflow_neon_dms.operators.schema_preflight import NeonSchemaPreflightOperator
    from tests.unit.conftest import make_context

    op = NeonSchemaPreflightOperator(
        task_id="preflight",
        source_conn_id="nowhere",
        neon_conn_id="nowhere",
        table_mappings=MAPPING,
        migration_type="CDC",
    )
    with pytest.raises(NeonConfigError, match="migration_type 'CDC'"):
        op.execute(make_context())  # type: ignore[arg-type]

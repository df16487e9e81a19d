"""Schema pre-flight on deliberately mismatched schemas finds exactly the seeded problems."""

from __future__ import annotations

import psycopg
import pytest

from airflow_neon_dms.schema.preflight import run_preflight

MAPPING = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "all-public",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        },
        {
            "rule-type": "selection",
            "rule-id": "2",
            "rule-name": "not-skipme",
            "object-locator": {"schema-name": "public", "table-name": "skip%"},
            "rule-action": "exclude",
        },
    ]
}

PG_SOURCE = """
CREATE TABLE public.customers (id int PRIMARY KEY, name varchar(100) NOT NULL, email text, "Region" text,
    created timestamptz, score numeric(10, 2), big bigint, flag boolean);
CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_id int, total numeric(12, 2));
CREATE TABLE public.events (payload jsonb, at timestamp);
CREATE TABLE public.absent (id int PRIMARY KEY);
CREATE TABLE public.counters (id bigint PRIMARY KEY, n int, doubled int);
CREATE TABLE public.skipme (id int);
"""

PG_TARGET = """
CREATE TABLE public.customers (id int PRIMARY KEY, name varchar(50), email text NOT NULL, region text,
    created timestamptz, score numeric(10, 2), big integer, flag boolean, extra_required int NOT NULL,
    extra_opt text);
CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_id int CONSTRAINT orders_customer_fk
    REFERENCES public.customers (id), total numeric(12, 2));
CREATE TABLE public.events (payload jsonb, at timestamp);
CREATE TABLE public.counters (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n int,
    doubled int GENERATED ALWAYS AS (n * 2) STORED);
"""


def _run(dsn: str, script: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(script)


def _found(report) -> set[tuple[str, str, str | None, str]]:  # type: ignore[no-untyped-def]
    return {(p.severity, p.table, p.column, p.code) for p in report.problems}


def test_postgres_source_seeded_problems(pg_server, make_pg_database) -> None:  # type: ignore[no-untyped-def]
    source_dsn, target_dsn = pg_server.dsn(make_pg_database()), pg_server.dsn(make_pg_database())
    _run(source_dsn, PG_SOURCE)
    _run(target_dsn, PG_TARGET)
    with psycopg.connect(source_dsn) as src, psycopg.connect(target_dsn) as tgt:
        report = run_preflight(src, "postgresql", tgt, MAPPING)
    assert [t["table"] for t in report.tables] == ["absent", "counters", "customers", "events", "orders"]
    assert _found(report) == {
        ("error", "public.absent", None, "missing_table"),
        ("error", "public.customers", "name", "type_incompatible"),
        ("warning", "public.customers", "name", "nullability"),
        ("error", "public.customers", "email", "nullability"),
        ("error", "public.customers", "Region", "column_name_case"),
        ("error", "public.customers", "big", "type_incompatible"),
        ("error", "public.customers", "extra_required", "extra_column"),
        ("warning", "public.customers", "extra_opt", "extra_column"),
        ("error", "public.orders", None, "target_foreign_key"),
        ("warning", "public.events", None, "no_key"),
        ("error", "public.counters", "id", "target_identity_always"),
        ("error", "public.counters", "doubled", "target_generated_column"),
    }
    assert len(report.problems) == 13  # events lacks a key on both sides
    assert not report.passed
    fk = next(p for p in report.problems if p.code == "target_foreign_key")
    assert "orders_customer_fk" in fk.message and "DROP CONSTRAINT" in fk.message
    assert "length shrinks from 100 to 50" in next(p.message for p in report.problems if p.column == "name")
    text = report.as_table()
    assert text.splitlines()[0].split() == ["SEVERITY", "TABLE", "COLUMN", "CODE", "MESSAGE"]
    assert len(text.splitlines()) == 14


def test_matching_schema_passes_and_empty_selection_fails(pg_server, make_pg_database) -> None:  # type: ignore[no-untyped-def]
    source_dsn, target_dsn = pg_server.dsn(make_pg_database()), pg_server.dsn(make_pg_database())
    same = "CREATE TABLE public.t (id bigint PRIMARY KEY, v numeric(5, 1) NOT NULL, at timestamptz)"
    _run(source_dsn, same)
    _run(target_dsn, same)
    with psycopg.connect(source_dsn) as src, psycopg.connect(target_dsn) as tgt:
        ok = run_preflight(src, "postgresql", tgt, MAPPING)
        nothing = run_preflight(
            src,
            "postgresql",
            tgt,
            {
                "rules": [
                    {**MAPPING["rules"][0], "object-locator": {"schema-name": "Public", "table-name": "%"}}
                ]
            },
        )
    assert ok.passed and ok.problems == []
    assert [(p.severity, p.code) for p in nothing.problems] == [("error", "nothing_selected")]


MYSQL_SOURCE = """
CREATE TABLE items (id INT UNSIGNED PRIMARY KEY, sku CHAR(36), price DECIMAL(10, 2), ratio DOUBLE,
    active TINYINT(1), made DATETIME(6), kind ENUM('a', 'b', 'c'), body LONGBLOB, note VARCHAR(20),
    stamp TIMESTAMP NULL, doc JSON)
"""

PG_FOR_MYSQL = """
CREATE TYPE public.kind AS ENUM ('a', 'b');
CREATE TABLE {schema}.items (id integer PRIMARY KEY, sku uuid, price numeric(8, 2), ratio double precision,
    active boolean, made timestamp(3), kind public.kind, body bytea, note varchar(20), stamp timestamptz,
    doc jsonb);
"""


@pytest.mark.mysql
def test_mariadb_source_seeded_problems(mysql_server, mysql_database, pg_server, pg_database) -> None:  # type: ignore[no-untyped-def]
    conn = mysql_server.connect(mysql_database)
    target_dsn = pg_server.dsn(pg_database)
    schema = psycopg.sql.Identifier(mysql_database).as_string(None)
    _run(target_dsn, f"CREATE SCHEMA {schema};" + PG_FOR_MYSQL.format(schema=schema))
    mapping = {
        "rules": [
            {**MAPPING["rules"][0], "object-locator": {"schema-name": mysql_database, "table-name": "items"}}
        ]
    }
    try:
        with conn.cursor() as cur:
            cur.execute(MYSQL_SOURCE)
        with psycopg.connect(target_dsn) as tgt:
            report = run_preflight(conn, "mysql", tgt, mapping)
    finally:
        conn.close()
    label = f"{mysql_database}.items"
    assert _found(report) == {
        ("error", label, "id", "type_incompatible"),
        ("warning", label, "sku", "type_lossy"),
        ("error", label, "price", "type_incompatible"),
        ("error", label, "made", "type_incompatible"),
        ("error", label, "kind", "type_incompatible"),
    }
    messages = {p.column: p.message for p in report.problems}
    assert "needs 64-bit" in messages["id"]
    assert "lacks labels ['c']" in messages["kind"]
    assert "fractional seconds shrink from 6 to 3" in messages["made"]

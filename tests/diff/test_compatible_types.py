"""Columns of different but compatible types compare by canonical value, and still find changes.

The same Neon table is compared with the same data held in a PostgreSQL source and in a MariaDB
source, each declaring the columns in its own natural types.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.diff.connect import Endpoint, endpoint_from_dsn
from airflow_neon_dms.diff.engine import DiffOptions, TableSpec, diff_table
from airflow_neon_dms.identifiers import mysql_identifier

SMALL = DiffOptions(first_pass_rows=40, leaf_rows=10, fetch_limit=20)
COLUMNS = ("id", "ref", "flag", "amount", "happened", "small", "label", "name", "doc")
ROWS = 120

#: The Neon table: each column in a type that differs from both sources' declarations.
NEON_TABLE = """
CREATE TABLE shop.items (
    id bigint PRIMARY KEY,
    ref varchar(36),
    flag boolean,
    amount numeric(14, 4),
    happened timestamp(6),
    small integer,
    label text,
    name text,
    doc jsonb
)
"""

PG_SOURCE_TABLE = """
CREATE TYPE shop.label AS ENUM ('new', 'paid', 'late');
CREATE TABLE shop.items (
    id integer PRIMARY KEY,
    ref uuid,
    flag smallint,
    amount numeric(12, 2),
    happened timestamp(3),
    small smallint,
    label shop.label,
    name varchar(40),
    doc json
)
"""

MYSQL_SOURCE_TABLE = """
CREATE TABLE {db}.items (
    id INT NOT NULL PRIMARY KEY,
    ref UUID,
    flag TINYINT(1),
    amount DECIMAL(12, 2),
    happened DATETIME(3),
    small SMALLINT,
    label ENUM('new', 'paid', 'late'),
    name VARCHAR(40),
    doc TEXT  -- JSON documents in jsonb's normal form (MariaDB's JSON is text as given)
)
"""


def _row(i: int) -> tuple[Any, ...]:
    if i % 11 == 0:
        return (i, *([None] * (len(COLUMNS) - 1)))
    return (
        i,
        str(uuid.UUID(int=i * 104729 + 12345)),
        i % 2,
        Decimal(i * 125) / 100,
        dt.datetime(2024, 3, 1, 9, 0, 0) + dt.timedelta(minutes=i, milliseconds=i * 3),
        i - 60,
        ("new", "paid", "late")[i % 3],
        f"name {i}",
        f'{{"n": {i}}}',
    )


def _neon_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    values = list(row)
    if values[2] is not None:
        values[2] = bool(values[2])
    return tuple(values)


#: Fixed names only: the same statement runs on PostgreSQL and MariaDB.
INSERT = f"INSERT INTO {{}} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"  # noqa: S608


def _insert(cur: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    cur.executemany(INSERT.format(table), rows)


def _neon(pg_server, make_pg_database) -> tuple[str, Endpoint]:  # type: ignore[no-untyped-def]
    dsn = pg_server.dsn(make_pg_database())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute(NEON_TABLE)
        with conn.cursor() as cur:
            _insert(cur, "shop.items", [_neon_row(_row(i)) for i in range(1, ROWS + 1)])
    return dsn, endpoint_from_dsn(dsn, "target")


@pytest.fixture
def pg_source(pg_server, make_pg_database) -> tuple[Endpoint, TableSpec, str, Endpoint]:  # type: ignore[no-untyped-def]
    dsn = pg_server.dsn(make_pg_database())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute(PG_SOURCE_TABLE)
        with conn.cursor() as cur:
            _insert(cur, "shop.items", [_row(i) for i in range(1, ROWS + 1)])
    neon_dsn, neon = _neon(pg_server, make_pg_database)
    return endpoint_from_dsn(dsn, "source"), TableSpec("shop", "items"), neon_dsn, neon


@pytest.fixture
def mysql_source(mysql_server, mysql_database, pg_server, make_pg_database):  # type: ignore[no-untyped-def]
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute(MYSQL_SOURCE_TABLE.format(db=mysql_identifier(mysql_database)))
            _insert(cur, "items", [_row(i) for i in range(1, ROWS + 1)])
    finally:
        conn.close()
    dsn = f"mysql://{mysql_server.user}:{mysql_server.password}@{mysql_server.host}:{mysql_server.port}/"
    neon_dsn, neon = _neon(pg_server, make_pg_database)
    spec = TableSpec(mysql_database, "items", target_schema="shop")
    return endpoint_from_dsn(dsn, "source"), spec, neon_dsn, neon


SOURCES = ["pg_source", pytest.param("mysql_source", marks=pytest.mark.mysql)]


@pytest.mark.parametrize("source_kind", SOURCES)
@pytest.mark.parametrize("native_hash", ["record", "text"])
def test_same_data_in_compatible_types_is_identical(request, source_kind: str, native_hash: str) -> None:  # type: ignore[no-untyped-def]
    source, spec, _neon_dsn, neon = request.getfixturevalue(source_kind)
    options = DiffOptions(first_pass_rows=40, leaf_rows=10, fetch_limit=20, native_hash=native_hash)  # type: ignore[arg-type]
    result = diff_table(source, neon, spec, options)
    assert result.error is None
    assert (result.rows_source, result.rows_target) == (ROWS, ROWS)
    assert result.compared_columns == list(COLUMNS)
    assert result.identical, (result.different[:5], result.missing_in_target[:5])


@pytest.mark.parametrize("source_kind", SOURCES)
def test_changed_values_are_still_found_under_canonical_comparison(request, source_kind: str) -> None:  # type: ignore[no-untyped-def]
    source, spec, neon_dsn, neon = request.getfixturevalue(source_kind)
    with psycopg.connect(neon_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE shop.items SET ref = %s WHERE id = 7", (str(uuid.UUID(int=1)),)
        )  # uuid vs varchar
        conn.execute(
            "UPDATE shop.items SET amount = amount + 0.0001 WHERE id = 8"
        )  # scale beyond the source's
        conn.execute("UPDATE shop.items SET happened = happened + interval '1 microsecond' WHERE id = 9")
        conn.execute("UPDATE shop.items SET flag = false WHERE id = 22")  # NULL on the source
        conn.execute("UPDATE shop.items SET small = 70000 WHERE id = 30")  # wider than the source's type
        conn.execute("""UPDATE shop.items SET doc = '{"n": -1}' WHERE id = 40""")
        conn.execute("UPDATE shop.items SET label = 'Paid' WHERE id = 41")  # enum vs text
    result = diff_table(source, neon, spec, SMALL)
    assert sorted(result.different) == [[7], [8], [9], [22], [30], [40], [41]]
    assert result.missing_in_target == result.missing_in_source == []


def test_uuid_key_against_varchar_key(pg_server, make_pg_database) -> None:  # type: ignore[no-untyped-def]
    """A key declared uuid on one side and varchar(36) on the other is cut in the same order."""
    source_dsn, target_dsn = pg_server.dsn(make_pg_database()), pg_server.dsn(make_pg_database())
    keys = [str(uuid.UUID(int=(i * 2654435761) % 2**128)) for i in range(1, 401)]
    for dsn, key_type in ((source_dsn, "uuid"), (target_dsn, "varchar(36)")):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE TABLE public.k (id {} PRIMARY KEY, v int)").format(sql.SQL(key_type))
            )
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO public.k VALUES (%s, %s)", [(k, i) for i, k in enumerate(keys)])
    source, target = endpoint_from_dsn(source_dsn, "source"), endpoint_from_dsn(target_dsn, "target")
    assert diff_table(source, target, TableSpec("public", "k"), SMALL).identical
    with psycopg.connect(target_dsn, autocommit=True) as conn:
        conn.execute("UPDATE public.k SET v = -1 WHERE id = %s", (keys[100],))
        conn.execute("DELETE FROM public.k WHERE id = %s", (keys[200],))
    result = diff_table(source, target, TableSpec("public", "k"), SMALL)
    assert (result.different, result.missing_in_target) == ([[keys[100]]], [[keys[200]]])


def test_enum_columns_of_two_databases_are_identical(pg_pair) -> None:  # type: ignore[no-untyped-def]
    """An enum's own hash is its label's OID, which differs between databases: it is hashed as text."""
    for dsn, filler in (
        (pg_pair.source_dsn, ""),
        (pg_pair.target_dsn, "CREATE TYPE public.pad AS ENUM ('x');"),
    ):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(filler + "CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy')")
            conn.execute("CREATE TABLE public.m (id int PRIMARY KEY, mood public.mood)")
            conn.execute(
                "INSERT INTO public.m SELECT g, (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::public.mood "
                "FROM generate_series(1, 60) g"
            )
    options = DiffOptions(native_hash="record")
    assert diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "m"), options).identical

"""Keyless tables, MariaDB/MySQL -> PostgreSQL: the multiset diff in canonical text on real servers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.diff.connect import Endpoint, endpoint_from_dsn
from airflow_neon_dms.diff.engine import DiffOptions, TableSpec, diff_table

pytestmark = pytest.mark.mysql

DISTINCT, COPIES = 400, 3
MYSQL_TABLE = (
    "CREATE TABLE views (viewed_at DATETIME(6), path VARCHAR(40), customer_id INT, amount DECIMAL(8, 2), "
    "referrer TEXT)"
)
PG_TABLE = (
    "CREATE TABLE {} (viewed_at timestamp(6), path varchar(40), customer_id int, amount numeric(8, 2), "
    "referrer text)"
)
INSERT = "INSERT INTO {} VALUES (%s, %s, %s, %s, %s)"
OPTION_SETS = {
    "streamed": DiffOptions(),
    "bucketed": DiffOptions(first_pass_rows=16, fetch_batch_rows=100),
}


def _value(i: int) -> tuple[Any, ...]:
    return (
        dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i, microseconds=i),
        f"/p/{i} \u00e9",
        None if i % 7 == 0 else i,
        Decimal(i) / 4,
        None if i % 3 == 0 else "ref",
    )


def _listed(i: int) -> list[Any]:
    """A row as the report lists it: the canonical text of every non-integer column."""
    at = dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i, microseconds=i)
    amount = str((Decimal(i) / 4).normalize()) if i % 4 else str(i // 4)
    return [
        at.strftime("%Y-%m-%d %H:%M:%S.%f"),
        f"/p/{i} \u00e9",
        None if i % 7 == 0 else i,
        amount,
        _value(i)[4],
    ]


ROWS = [_value(i) for i in range(DISTINCT)] * COPIES + [(None,) * 5] * 2


@pytest.fixture
def keyless(
    mysql_server, mysql_database, pg_server, pg_database
) -> Iterator[tuple[str, Endpoint, Endpoint, str]]:  # type: ignore[no-untyped-def]
    """The same keyless table (duplicates and NULL rows) on MariaDB and on PostgreSQL."""
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute(MYSQL_TABLE)
            cur.executemany(INSERT.format("views"), ROWS)
    finally:
        conn.close()
    target_dsn = pg_server.dsn(pg_database)
    table = sql.Identifier(mysql_database, "views")
    with psycopg.connect(target_dsn, autocommit=True) as pg:
        pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(mysql_database)))
        pg.execute(sql.SQL(PG_TABLE).format(table))
        with pg.cursor() as cur:
            cur.executemany(sql.SQL(INSERT).format(table), ROWS)
    source = endpoint_from_dsn(f"mysql://root@{mysql_server.host}:{mysql_server.port}/", "source")
    source.params.update(user=mysql_server.user, password=mysql_server.password)
    yield mysql_database, source, endpoint_from_dsn(target_dsn, "target"), target_dsn


def _on_target(target_dsn: str, schema: str, statement: str, *params: Any) -> None:
    """Run ``statement`` on the PostgreSQL copy; ``{t}`` is the table."""
    with psycopg.connect(target_dsn, autocommit=True) as pg:
        query = sql.SQL(statement).format(t=sql.Identifier(schema, "views"))
        assert pg.execute(query, params).rowcount == 1


DELETE_ONE_COPY = "DELETE FROM {t} WHERE ctid = (SELECT ctid FROM {t} WHERE path = %s LIMIT 1)"
CHANGE_ONE_COPY = (
    "UPDATE {t} SET amount = amount + 0.01 WHERE ctid = (SELECT ctid FROM {t} WHERE path = %s LIMIT 1)"
)


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_identical_keyless_copy(keyless, options: DiffOptions) -> None:  # type: ignore[no-untyped-def]
    schema, source, target, _dsn = keyless
    result = diff_table(source, target, TableSpec(schema, "views"), options)
    assert result.error is None and result.identical, (
        result.missing_in_target[:3],
        result.missing_in_source[:3],
    )
    assert result.compared_as == "multiset"
    assert (result.rows_source, result.rows_target) == (len(ROWS), len(ROWS))


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_duplicate_deleted_and_changed_rows_across_engines(keyless, options: DiffOptions) -> None:  # type: ignore[no-untyped-def]
    schema, source, target, dsn = keyless
    _on_target(dsn, schema, "INSERT INTO {t} SELECT * FROM {t} WHERE path = %s LIMIT 1", "/p/8 \u00e9")
    result = diff_table(source, target, TableSpec(schema, "views"), options)
    assert (result.missing_in_target, result.missing_in_source) == ([], [_listed(8)])

    _on_target(dsn, schema, DELETE_ONE_COPY, "/p/42 \u00e9")
    result = diff_table(source, target, TableSpec(schema, "views"), options)
    assert (result.missing_in_target, result.missing_in_source) == ([_listed(42)], [_listed(8)])

    _on_target(dsn, schema, CHANGE_ONE_COPY, "/p/101 \u00e9")
    result = diff_table(source, target, TableSpec(schema, "views"), options)
    changed = _listed(101)
    changed[3] = "25.26"
    assert result.missing_in_target == [_listed(42), _listed(101)]
    assert result.missing_in_source == [_listed(8), changed]
    assert (result.missing_in_target_count, result.missing_in_source_count, result.different_count) == (
        2,
        2,
        0,
    )
    assert (result.rows_source, result.rows_target) == (len(ROWS), len(ROWS))


def test_every_row_changed_rows_fetched_afterwards(keyless) -> None:  # type: ignore[no-untyped-def]
    schema, source, target, dsn = keyless
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(sql.SQL("UPDATE {} SET referrer = 'x'").format(sql.Identifier(schema, "views")))
    options = DiffOptions(first_pass_rows=16, fetch_batch_rows=100, max_keys=5)
    result = diff_table(source, target, TableSpec(schema, "views"), options)
    assert (result.missing_in_target_count, result.missing_in_source_count) == (len(ROWS), len(ROWS))
    assert len(result.missing_in_target) == len(result.missing_in_source) == 5 and result.keys_truncated
    originals = [_listed(i) for i in range(DISTINCT)] + [[None] * 5]
    assert all(row in originals for row in result.missing_in_target)
    assert all(row[4] == "x" and row[:4] in [o[:4] for o in originals] for row in result.missing_in_source)

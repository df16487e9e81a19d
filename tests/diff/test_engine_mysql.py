"""MariaDB/MySQL -> PostgreSQL diff: canonical text makes equal data hash equally on both engines."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.diff.connect import endpoint_from_dsn
from airflow_neon_dms.diff.engine import DiffOptions, TableSpec, diff_table
from airflow_neon_dms.identifiers import mysql_identifier

pytestmark = pytest.mark.mysql

SMALL = DiffOptions(first_pass_rows=40, leaf_rows=10, fetch_limit=20)

MYSQL_TABLE = """
CREATE TABLE {db}.readings (
    id BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(40) CHARACTER SET latin1,
    title TEXT,
    price DECIMAL(10, 2),
    ratio DOUBLE,
    flag TINYINT(1),
    created DATETIME(6),
    stamped TIMESTAMP(3) NULL DEFAULT NULL,
    day DATE,
    at TIME(6),
    data BLOB,
    status ENUM('new', 'paid', 'it''s late'),
    ref UUID,
    doc JSON
)
"""

PG_TABLE = """
CREATE TABLE {t} (
    id bigint PRIMARY KEY,
    name varchar(40),
    title text,
    price numeric(10, 2),
    ratio double precision,
    flag boolean,
    created timestamp(6),
    stamped timestamptz(3),
    day date,
    at time(6),
    data bytea,
    status text,
    ref uuid,
    doc json
)
"""

COLUMNS = "id, name, title, price, ratio, flag, created, stamped, day, at, data, status, ref, doc"
VALUES = "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
MYSQL_INSERT = "INSERT INTO readings (" + COLUMNS + ") " + VALUES


def pg_sql(template: str, schema: str) -> sql.Composed:
    """A statement on the PostgreSQL copy; {t} is the quoted table, {s} the quoted schema."""
    return sql.SQL(template).format(t=sql.Identifier(schema, "readings"), s=sql.Identifier(schema))


def _row(i: int) -> tuple[Any, ...]:
    if i % 17 == 0:
        return (i, *([None] * 13))
    return (
        i,
        f"n\u00e9{i}" if i % 3 else "",
        f"title | {i} \u2603 " + "x" * (i % 5),
        Decimal(i) / 4,
        i / 3.0,
        i % 2,
        dt.datetime(2024, 1, 1, 12, 0, 0) + dt.timedelta(minutes=i, microseconds=i * 7),
        dt.datetime(2023, 6, 1, 8, 30, 0) + dt.timedelta(hours=i, milliseconds=i),
        dt.date(2020, 2, 28) + dt.timedelta(days=i),
        dt.timedelta(hours=i % 24, seconds=i % 60, microseconds=i),
        bytes([i % 256, 0, 255]),
        ["new", "paid", "it's late"][i % 3],
        str(uuid.UUID(int=i * 7919)),
        f'{{"a": {i}, "b": [1, "x"]}}',
    )


def _copy_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a load would write on the PostgreSQL side for one MySQL row."""
    values = list(row)
    if values[5] is not None:
        values[5] = bool(values[5])
    if isinstance(values[9], dt.timedelta):
        values[9] = (dt.datetime.min + values[9]).time()
    if isinstance(values[7], dt.datetime):
        values[7] = values[7].replace(tzinfo=dt.timezone.utc)
    return tuple(values)


@pytest.fixture
def migrated(mysql_server, mysql_database, pg_server, pg_database):  # type: ignore[no-untyped-def]
    """A MariaDB table with 300 rows of every family and its faithful PostgreSQL copy."""
    rows = [_row(i) for i in range(1, 301)]
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(MYSQL_TABLE.format(db=mysql_identifier(mysql_database)))
            cur.executemany(MYSQL_INSERT, rows)
    finally:
        conn.close()
    target_dsn = pg_server.dsn(pg_database)
    with psycopg.connect(target_dsn, autocommit=True) as pg:
        pg.execute("SET TimeZone = 'UTC'")
        pg.execute(pg_sql("CREATE SCHEMA {s}", mysql_database))
        pg.execute(pg_sql(PG_TABLE, mysql_database))
        with pg.cursor() as cur:
            cur.executemany(
                pg_sql("INSERT INTO {t} (" + COLUMNS + ") " + VALUES, mysql_database),
                [_copy_row(r) for r in rows],
            )
    source_dsn = (
        f"mysql://{mysql_server.user}:{mysql_server.password}@{mysql_server.host}:{mysql_server.port}/"
    )
    return mysql_database, endpoint_from_dsn(source_dsn, "source"), endpoint_from_dsn(target_dsn, "target")


def test_faithful_copy_is_identical(migrated) -> None:  # type: ignore[no-untyped-def]
    schema, source, target = migrated
    result = diff_table(source, target, TableSpec(schema, "readings"), SMALL)
    assert result.error is None
    assert (result.rows_source, result.rows_target) == (300, 300)
    assert result.different == [], result.different
    assert result.identical


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        ("UPDATE {t} SET price = price + 0.01 WHERE id = %s", (41,)),
        ("UPDATE {t} SET created = created + interval '1 microsecond' WHERE id = %s", (41,)),
        ("UPDATE {t} SET stamped = stamped + interval '1 millisecond' WHERE id = %s", (41,)),
        ("UPDATE {t} SET flag = NOT flag WHERE id = %s", (41,)),
        ("UPDATE {t} SET data = '\\x00'::bytea WHERE id = %s", (41,)),
        ("UPDATE {t} SET name = NULL WHERE id = %s", (41,)),
        ("UPDATE {t} SET title = title || ' ' WHERE id = %s", (41,)),
        ("UPDATE {t} SET ratio = ratio + 0.001 WHERE id = %s", (41,)),
        ("UPDATE {t} SET at = at + interval '1 second' WHERE id = %s", (41,)),
        ("UPDATE {t} SET ref = gen_random_uuid() WHERE id = %s", (41,)),
        ("UPDATE {t} SET status = 'paid' WHERE id = %s AND status <> 'paid'", (41,)),
    ],
)
def test_each_changed_family_is_found(migrated, statement: str, params: tuple[Any, ...]) -> None:  # type: ignore[no-untyped-def]
    schema, source, target = migrated
    with psycopg.connect(target.params["conninfo"], autocommit=True) as pg:
        changed = pg.execute(pg_sql(statement, schema), params).rowcount
    assert changed == 1
    result = diff_table(source, target, TableSpec(schema, "readings"), SMALL)
    assert result.different == [[41]]
    assert result.missing_in_source == result.missing_in_target == []


def test_missing_and_extra_rows(migrated) -> None:  # type: ignore[no-untyped-def]
    schema, source, target = migrated
    with psycopg.connect(target.params["conninfo"], autocommit=True) as pg:
        pg.execute(pg_sql("DELETE FROM {t} WHERE id IN (1, 150, 300)", schema))
        pg.execute(pg_sql("INSERT INTO {t} (id, title) VALUES (301, 'extra'), (0, 'zero')", schema))
    result = diff_table(source, target, TableSpec(schema, "readings"), SMALL)
    assert result.missing_in_target == [[1], [150], [300]]
    assert result.missing_in_source == [[0], [301]]
    assert result.different == []


def test_text_key_ranges_agree_across_engines(mysql_server, mysql_database, pg_server, pg_database) -> None:  # type: ignore[no-untyped-def]
    keys = [f"{prefix}{i}" for i in range(80) for prefix in ("a", "B", "\u00e9t\u00e9-", "Z z")]
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE tags (code VARCHAR(20) PRIMARY KEY, n INT)")
            cur.executemany("INSERT INTO tags VALUES (%s, %s)", [(k, i) for i, k in enumerate(keys)])
    finally:
        conn.close()
    target_dsn = pg_server.dsn(pg_database)
    with psycopg.connect(target_dsn, autocommit=True) as pg:
        tags = sql.Identifier(mysql_database, "tags")
        pg.execute(pg_sql("CREATE SCHEMA {s}", mysql_database))
        pg.execute(sql.SQL("CREATE TABLE {} (code varchar(20) PRIMARY KEY, n int)").format(tags))
        with pg.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(tags),
                [(k, i) for i, k in enumerate(keys) if k not in ("B7", "\u00e9t\u00e9-40")],
            )
        pg.execute(sql.SQL("UPDATE {} SET n = -1 WHERE code = 'Z z3'").format(tags))
    source = endpoint_from_dsn(f"mysql://root@{mysql_server.host}:{mysql_server.port}/", "source")
    source.params.update(user=mysql_server.user, password=mysql_server.password)
    result = diff_table(
        source, endpoint_from_dsn(target_dsn, "target"), TableSpec(mysql_database, "tags"), SMALL
    )
    assert result.missing_in_target == [["B7"], ["\u00e9t\u00e9-40"]]
    assert result.different == [["Z z3"]]
    assert result.missing_in_source == []


MORE_TYPES_MYSQL = """
CREATE TABLE stock (
    shop SMALLINT UNSIGNED NOT NULL, sku CHAR(8) NOT NULL, big BIGINT UNSIGNED, yr YEAR, tags SET('a', 'b'),
    bits BIT(1), f FLOAT, m MEDIUMINT, PRIMARY KEY (shop, sku)
)
"""
MORE_TYPES_PG = """
CREATE TABLE {} (
    shop integer, sku char(8), big numeric(20), yr smallint, tags text, bits boolean, f real, m integer,
    PRIMARY KEY (shop, sku)
)
"""


def test_composite_key_and_more_types(mysql_server, mysql_database, pg_server, pg_database) -> None:  # type: ignore[no-untyped-def]
    rows = [
        (
            s,
            f"sku{i:03d}",
            2**64 - 1 - i,
            1990 + i % 50,
            ["a", "b", "a,b", ""][i % 4],
            i % 2,
            123456.7 + i,
            -i,
        )
        for s in (1, 2, 65535)
        for i in range(60)
    ]
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute(MORE_TYPES_MYSQL)
            cur.executemany("INSERT INTO stock VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
            cur.execute("INSERT INTO stock (shop, sku) VALUES (3, 'nulls')")
            cur.execute(
                "SELECT shop, sku, big, yr, tags, bits, CAST(f AS DOUBLE), m FROM stock"
            )  # exact floats
            stored = list(cur.fetchall())
    finally:
        conn.close()
    target_dsn = pg_server.dsn(pg_database)
    table = sql.Identifier(mysql_database, "stock")
    with psycopg.connect(target_dsn, autocommit=True) as pg:
        pg.execute(pg_sql("CREATE SCHEMA {s}", mysql_database))
        pg.execute(sql.SQL(MORE_TYPES_PG).format(table))
        copied = [
            (shop, sku, big, yr, tags, None if bits is None else bits != b"\x00", f, m)
            for shop, sku, big, yr, tags, bits, f, m in stored
        ]
        with pg.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(table), copied
            )
        source = endpoint_from_dsn(f"mysql://root@{mysql_server.host}:{mysql_server.port}/", "source")
        source.params.update(user=mysql_server.user, password=mysql_server.password)
        target = endpoint_from_dsn(target_dsn, "target")
        same = diff_table(source, target, TableSpec(mysql_database, "stock"), SMALL)
        assert same.identical, same.different[:5]
        assert same.key_columns == ["shop", "sku"]
        pg.execute(sql.SQL("UPDATE {} SET f = f + 1 WHERE shop = 65535 AND sku = 'sku007'").format(table))
        pg.execute(sql.SQL("UPDATE {} SET big = big - 1 WHERE shop = 2 AND sku = 'sku059'").format(table))
        pg.execute(sql.SQL("DELETE FROM {} WHERE shop = 3").format(table))
    changed = diff_table(source, target, TableSpec(mysql_database, "stock"), SMALL)
    assert changed.different == [[2, "sku059"], [65535, "sku007"]]
    assert changed.missing_in_target == [[3, "nulls"]]


def test_unsigned_bigint_key_into_numeric(mysql_server, mysql_database, pg_server, pg_database) -> None:  # type: ignore[no-untyped-def]
    keys = [0, 1, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1, *range(10**18, 10**18 + 400 * 10**15, 10**15)]
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE big (id BIGINT UNSIGNED PRIMARY KEY, v INT)")
            cur.executemany("INSERT INTO big VALUES (%s, %s)", [(k, k % 1000) for k in keys])
    finally:
        conn.close()
    target_dsn = pg_server.dsn(pg_database)
    table = sql.Identifier(mysql_database, "big")
    with psycopg.connect(target_dsn, autocommit=True) as pg:
        pg.execute(pg_sql("CREATE SCHEMA {s}", mysql_database))
        pg.execute(sql.SQL("CREATE TABLE {} (id numeric(20) PRIMARY KEY, v int)").format(table))
        with pg.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(table), [(k, k % 1000) for k in keys]
            )
        pg.execute(sql.SQL("DELETE FROM {} WHERE id IN (%s, %s)").format(table), (2**64 - 1, keys[100]))
        pg.execute(sql.SQL("UPDATE {} SET v = -1 WHERE id = %s").format(table), (2**63,))
    source = endpoint_from_dsn(f"mysql://root@{mysql_server.host}:{mysql_server.port}/", "source")
    source.params.update(user=mysql_server.user, password=mysql_server.password)
    result = diff_table(
        source, endpoint_from_dsn(target_dsn, "target"), TableSpec(mysql_database, "big"), SMALL
    )
    assert (result.rows_source, result.rows_target) == (len(keys), len(keys) - 2)
    assert result.missing_in_target == [[keys[100]], [2**64 - 1]]
    assert result.different == [[2**63]]
    assert result.missing_in_source == []


def test_mariadb_uuid_key(mysql_server, mysql_database, pg_server, pg_database) -> None:  # type: ignore[no-untyped-def]
    import uuid as uuidlib

    # Time-based (version 1) UUIDs: MariaDB stores and orders those with their time fields swapped.
    keys = sorted(str(uuidlib.UUID(int=(i * 0x9E3779B97F4A7C15) % 2**128, version=1)) for i in range(1, 400))
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE docs (id UUID PRIMARY KEY, n INT)")
            cur.executemany("INSERT INTO docs VALUES (%s, %s)", [(k, i) for i, k in enumerate(keys)])
    finally:
        conn.close()
    target_dsn = pg_server.dsn(pg_database)
    table = sql.Identifier(mysql_database, "docs")
    with psycopg.connect(target_dsn, autocommit=True) as pg:
        pg.execute(pg_sql("CREATE SCHEMA {s}", mysql_database))
        pg.execute(sql.SQL("CREATE TABLE {} (id uuid PRIMARY KEY, n int)").format(table))
        with pg.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(table), [(k, i) for i, k in enumerate(keys)]
            )
        pg.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(table), (keys[123],))
        pg.execute(sql.SQL("UPDATE {} SET n = -1 WHERE id = %s").format(table), (keys[321],))
    source = endpoint_from_dsn(f"mysql://root@{mysql_server.host}:{mysql_server.port}/", "source")
    source.params.update(user=mysql_server.user, password=mysql_server.password)
    result = diff_table(
        source, endpoint_from_dsn(target_dsn, "target"), TableSpec(mysql_database, "docs"), SMALL
    )
    assert result.missing_in_target == [[keys[123]]]
    assert result.different == [[keys[321]]]
    assert result.missing_in_source == []

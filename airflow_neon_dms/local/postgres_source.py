"""PostgreSQL source reader: ``COPY ... TO STDOUT`` (text, or binary for same-version targets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.comparable_values import load_every_temporal_value
from airflow_neon_dms.local.databases import DatabaseAddress, connect_postgres
from airflow_neon_dms.local.sources import (
    BINARY_COPY_TRAILER,
    PROGRESS_EVERY,
    Cancelled,
    Column,
    TableShape,
)

_PG_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


class PostgresSource:
    """Reads tables from PostgreSQL with ``COPY ... TO STDOUT`` (text, or binary when asked)."""

    def __init__(self, address: DatabaseAddress) -> None:
        self.address = address
        self.conn = connect_postgres(address, autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def list_tables(self) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_%%' ORDER BY 1, 2",
            [list(_PG_SYSTEM_SCHEMAS)],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def table_shape(self, schema: str, table: str) -> TableShape:
        rel = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table)).as_string(self.conn)
        cols = self.conn.execute(
            # Types created in the database (enums, domains, extension types) become text, as DMS
            # maps user-defined types to strings; built-in types (oid < 16384) are kept.
            "SELECT a.attname, CASE WHEN a.atttypid < 16384 THEN format_type(a.atttypid, a.atttypmod) "
            "ELSE 'text' END, NOT a.attnotnull, format_type(a.atttypid, a.atttypmod) "
            "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
            [rel],
        ).fetchall()
        pk = self.conn.execute(
            "SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(n, o) "
            "ON true JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.o",
            [rel],
        ).fetchall()
        kind = self.conn.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [rel]).fetchone()
        builtin = all(r[1] == r[3] for r in cols)
        return TableShape(
            schema,
            table,
            tuple(Column(r[0], r[1], bool(r[2]), r[3]) for r in cols),
            tuple(r[0] for r in pk),
            partitioned=bool(kind and kind[0] == "p"),
            binary_major=self.conn.info.server_version // 10000 if builtin else None,
        )

    def copy_into(
        self,
        shape: TableShape,
        copy: psycopg.Copy,
        progress: Callable[[int], None],
        cancelled: Callable[[], bool],
        *,
        binary: bool = False,
    ) -> None:
        table = sql.SQL("{}.{}").format(sql.Identifier(shape.schema), sql.Identifier(shape.table))
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in shape.column_names)
        if shape.partitioned:
            statement = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(columns, table)
        else:
            statement = sql.SQL("COPY {} ({}) TO STDOUT").format(table, columns)
        if binary:
            statement = sql.SQL("{} (FORMAT binary)").format(statement)
        pending = 0
        with self.conn.cursor() as cur, cur.copy(statement) as source:
            for data in source:  # one CopyData message per row; binary adds a 2-byte trailer
                copy.write(data)
                if binary and len(data) == 2 and data == BINARY_COPY_TRAILER:
                    continue
                pending += 1
                if pending >= PROGRESS_EVERY:
                    progress(pending)
                    pending = 0
                    if cancelled():
                        raise Cancelled()
        progress(pending)

    def rows(self, shape: TableShape, columns: list[str]) -> Iterator[tuple[Any, ...]]:
        yield from _pg_rows(self.conn, shape.schema, shape.table, columns)


def _pg_rows(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: list[str]
) -> Iterator[tuple[Any, ...]]:
    query = sql.SQL("SELECT {} FROM {}.{}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.Identifier(schema),
        sql.Identifier(table),
    )
    with conn.transaction(), conn.cursor(name="neon_dms_rows") as cur:
        # Rows are read for validation: both sides with the same date/time output (UTC, ISO), and
        # dates Python cannot hold kept as that text.
        conn.execute(
            "SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
            "set_config('IntervalStyle', 'postgres', true)"
        )
        load_every_temporal_value(cur)
        cur.itersize = 10_000
        cur.execute(query)
        yield from cur


def pg_rows(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: list[str]
) -> Iterator[tuple[Any, ...]]:
    """Stream rows of a PostgreSQL table with a server-side cursor (used for the target side)."""
    yield from _pg_rows(conn, schema, table, columns)

"""Source readers for the full-load engine: PostgreSQL and MySQL/MariaDB.

A reader lists the source's tables, describes one (columns as PostgreSQL types, primary key),
streams its rows into a PostgreSQL ``COPY ... FROM STDIN`` and yields rows ordered by nothing in
particular for validation. Usable without the HTTP emulator.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg import sql

from airflow_neon_dms.identifiers import mysql_identifier, mysql_qualified
from airflow_neon_dms.local.databases import DatabaseAddress, connect_mysql, connect_postgres

#: The last message of a binary COPY: a field count of -1.
BINARY_COPY_TRAILER = b"\xff\xff"
#: Rows between two progress reports.
PROGRESS_EVERY = 10_000
_PG_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


@dataclass(frozen=True)
class Column:
    """A source column with the PostgreSQL type the target gets under DROP_AND_CREATE."""

    name: str
    pg_type: str
    nullable: bool
    source_type: str = ""


@dataclass(frozen=True)
class TableShape:
    """What the engine needs to know about one source table."""

    schema: str
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    #: A PostgreSQL partitioned table: COPY reads it through a query, not by name.
    partitioned: bool = False
    #: The source's PostgreSQL major version when every column has a built-in type, so a table
    #: created from this shape on a server of the same version can take binary COPY.
    binary_major: int | None = None
    #: Where the table lands when transformation rules rename it (default: the same names).
    target_schema: str | None = None
    target_table: str | None = None

    @property
    def target(self) -> tuple[str, str]:
        return self.target_schema or self.schema, self.target_table or self.table

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class Cancelled(Exception):
    """The task was stopped while this table was loading."""


class SourceReader(Protocol):
    """What the full-load engine needs from a source database."""

    def list_tables(self) -> list[tuple[str, str]]: ...

    def table_shape(self, schema: str, table: str) -> TableShape: ...

    def copy_into(
        self,
        shape: TableShape,
        copy: psycopg.Copy,
        progress: Callable[[int], None],
        cancelled: Callable[[], bool],
        *,
        binary: bool = False,
    ) -> None: ...

    def rows(self, shape: TableShape, columns: list[str]) -> Iterator[tuple[Any, ...]]: ...

    def close(self) -> None: ...


def open_source(address: DatabaseAddress) -> SourceReader:
    """Return the reader for the endpoint's engine (raises DatabaseUnreachable)."""
    if address.is_postgres:
        return PostgresSource(address)
    if address.is_mysql:
        return MySqlSource(address)
    raise ValueError(f"The local DMS emulator cannot read from {address.engine} sources.")


class PostgresSource:
    """Reads tables from PostgreSQL with ``COPY ... TO STDOUT`` (text format)."""

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
        cur.itersize = 10_000
        cur.execute(query)
        yield from cur


def pg_rows(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: list[str]
) -> Iterator[tuple[Any, ...]]:
    """Stream rows of a PostgreSQL table with a server-side cursor (used for the target side)."""
    yield from _pg_rows(conn, schema, table, columns)


def mysql_to_postgres_type(data_type: str, column_type: str, precision: Any, scale: Any) -> str:
    """The PostgreSQL type DROP_AND_CREATE gives a MySQL column (close to DMS's own mapping)."""
    dt = data_type.lower()
    ct = column_type.lower()
    unsigned = "unsigned" in ct
    if dt == "tinyint":
        return "boolean" if ct.startswith("tinyint(1)") else "smallint"
    if dt in ("smallint", "year"):
        return "integer" if unsigned or dt == "year" else "smallint"
    if dt in ("mediumint", "int", "integer"):
        return "bigint" if unsigned and dt != "mediumint" else "integer"
    if dt == "bigint":
        return "numeric(20,0)" if unsigned else "bigint"
    if dt in ("decimal", "numeric"):
        return f"numeric({int(precision)},{int(scale or 0)})" if precision else "numeric"
    if dt == "float":
        return "real"
    if dt in ("double", "real"):
        return "double precision"
    if dt == "bit":
        return "boolean" if ct == "bit(1)" else "bytea"
    if dt in ("char", "varchar"):
        length = ct[ct.find("(") + 1 : ct.find(")")] if "(" in ct else ""
        return f"{'character' if dt == 'char' else 'character varying'}({length})" if length else "text"
    if dt in ("tinytext", "text", "mediumtext", "longtext", "enum", "set"):
        return "text"
    if dt in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
        return "bytea"
    if dt == "date":
        return "date"
    if dt == "datetime":
        return "timestamp without time zone"
    if dt == "timestamp":
        return "timestamp with time zone"
    if dt == "time":
        return "time without time zone"
    if dt == "json":
        return "jsonb"
    return "text"


def _mysql_value(value: Any, column: Column) -> Any:
    if isinstance(value, datetime.timedelta):
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        seconds = abs(seconds)
        return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, bytes) and column.pg_type == "boolean":
        return int.from_bytes(value, "big") != 0
    if isinstance(value, set):
        return ",".join(sorted(value))
    if column.source_type == "timestamp" and isinstance(value, datetime.datetime):
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


class MySqlSource:
    """Reads tables from MySQL or MariaDB with an unbuffered cursor, row batches into COPY."""

    def __init__(self, address: DatabaseAddress) -> None:
        self.address = address
        self.conn = connect_mysql(address, streaming=False)

    def close(self) -> None:
        self.conn.close()

    def list_tables(self) -> list[tuple[str, str]]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
            )
            return [(str(r[0]), str(r[1])) for r in cur.fetchall()]

    def table_shape(self, schema: str, table: str) -> TableShape:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT column_name, data_type, column_type, is_nullable, numeric_precision, "
                "numeric_scale FROM information_schema.columns WHERE table_schema = %s AND "
                "table_name = %s ORDER BY ordinal_position",
                (schema, table),
            )
            cols = cur.fetchall()
            cur.execute(
                "SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = %s "
                "AND table_name = %s AND constraint_name = 'PRIMARY' ORDER BY ordinal_position",
                (schema, table),
            )
            pk = cur.fetchall()
        if not cols:
            raise LookupError(f"Table {schema}.{table} does not exist on the MySQL source.")
        return TableShape(
            schema,
            table,
            tuple(
                Column(
                    str(r[0]),
                    mysql_to_postgres_type(str(r[1]), str(r[2]), r[4], r[5]),
                    r[3] == "YES",
                    str(r[1]).lower(),
                )
                for r in cols
            ),
            tuple(str(r[0]) for r in pk),
        )

    def _select(self, shape: TableShape, columns: list[str]) -> str:
        names = ", ".join(mysql_identifier(c) for c in columns)
        return f"SELECT {names} FROM {mysql_qualified(shape.schema, shape.table)}"  # noqa: S608

    def copy_into(
        self,
        shape: TableShape,
        copy: psycopg.Copy,
        progress: Callable[[int], None],
        cancelled: Callable[[], bool],
        *,
        binary: bool = False,
    ) -> None:
        if binary:
            raise ValueError("MySQL sources stream rows in text form; binary COPY is for PostgreSQL.")
        columns = list(shape.columns)
        conn = connect_mysql(self.address, streaming=True)
        try:
            with conn.cursor() as cur:
                cur.execute(self._select(shape, shape.column_names))
                while True:
                    batch = cur.fetchmany(PROGRESS_EVERY)
                    if not batch:
                        break
                    for row in batch:
                        copy.write_row([_mysql_value(v, c) for v, c in zip(row, columns, strict=True)])
                    progress(len(batch))
                    if cancelled():
                        raise Cancelled()
        finally:
            conn.close()

    def rows(self, shape: TableShape, columns: list[str]) -> Iterator[tuple[Any, ...]]:
        by_name = {c.name: c for c in shape.columns}
        conn = connect_mysql(self.address, streaming=True)
        try:
            with conn.cursor() as cur:
                cur.execute(self._select(shape, columns))
                for row in cur:
                    yield tuple(_comparable_mysql(v, by_name[c]) for v, c in zip(row, columns, strict=True))
        finally:
            conn.close()


def _comparable_mysql(value: Any, column: Column) -> Any:
    value = _mysql_value(value, column)
    if column.source_type == "json" and isinstance(value, str):
        return json.loads(value)
    if column.source_type == "time" and isinstance(value, str):
        return datetime.time.fromisoformat(value.zfill(8))
    return value

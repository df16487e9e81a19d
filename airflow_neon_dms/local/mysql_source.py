"""MySQL/MariaDB source reader: unbuffered PyMySQL reads in batches into PostgreSQL COPY."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from airflow_neon_dms.local.databases import DatabaseAddress, connect_mysql
from airflow_neon_dms.local.sources import PROGRESS_EVERY, Cancelled, Column, TableShape


def quote_name(name: str) -> str:
    """A MySQL/MariaDB identifier in backticks, a backtick inside it doubled.

    MySQL reference manual, "Schema Object Names": an identifier quote character inside a quoted
    identifier is written twice; NUL (U+0000) is not permitted in identifiers.
    """
    if not name or "\0" in name:
        raise ValueError(f"MySQL identifier {name!r} is empty or contains a NUL character")
    return "`" + name.replace("`", "``") + "`"


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


def mysql_value(value: Any, column: Column) -> Any:
    """A value as PyMySQL (or the binlog reader) gives it, in a form PostgreSQL takes for ``column``.

    Used for COPY rows in the full load and for parameters when changes are applied.
    """
    if isinstance(value, datetime.timedelta):
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        seconds = abs(seconds)
        return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if column.pg_type == "boolean" and isinstance(value, (bytes, int)) and not isinstance(value, bool):
        return (int.from_bytes(value, "big") if isinstance(value, bytes) else value) != 0
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
        names = ", ".join(quote_name(c) for c in columns)
        return f"SELECT {names} FROM {quote_name(shape.schema)}.{quote_name(shape.table)}"  # noqa: S608

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
        conn = connect_mysql(self.address, streaming=True)
        try:
            self.stream_rows(conn, shape, copy, progress, cancelled)
        finally:
            conn.close()

    def stream_rows(
        self,
        conn: Any,
        shape: TableShape,
        copy: psycopg.Copy,
        progress: Callable[[int], None],
        cancelled: Callable[[], bool],
    ) -> None:
        """Write the table's rows, read on ``conn`` (a streaming connection), into ``copy``."""
        columns = list(shape.columns)
        with conn.cursor() as cur:
            cur.execute(self._select(shape, shape.column_names))
            while True:
                batch = cur.fetchmany(PROGRESS_EVERY)
                if not batch:
                    break
                for row in batch:
                    copy.write_row([mysql_value(v, c) for v, c in zip(row, columns, strict=True)])
                progress(len(batch))
                if cancelled():
                    raise Cancelled()

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
    value = mysql_value(value, column)
    if column.source_type == "json" and isinstance(value, str):
        return json.loads(value)
    if column.source_type == "time" and isinstance(value, str):
        return datetime.time.fromisoformat(value.zfill(8))
    return value

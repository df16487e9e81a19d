"""The full-load engine: copy one table from a source reader into PostgreSQL with COPY.

``load_table`` is what a replication task runs per table, and it works without the HTTP emulator:

    source = open_source(source_address)
    with connect_postgres(target_address) as target:
        rows = load_table(source, target, "public", "orders", "DROP_AND_CREATE")

The target side of each table is one transaction: a failure or a cancellation leaves the target
as it was. ``cancelled`` is asked between batches and once more just before the commit, under
``commit_guard`` (a task's runner passes the service lock that StopReplicationTask and
StopReplication take), so a stop accepted before the commit always rolls the table back.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.sources import Cancelled, SourceReader, TableShape

PREP_MODES = ("DROP_AND_CREATE", "TRUNCATE_BEFORE_LOAD", "DO_NOTHING")


def _table(shape: TableShape) -> sql.Composed:
    """The target table (after any rename by transformation rules)."""
    schema, table = shape.target
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def create_table_sql(shape: TableShape) -> sql.Composed:
    """CREATE TABLE for the target from the source's columns and primary key."""
    parts: list[sql.Composable] = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name),
            sql.SQL(c.pg_type),  # a type name read from the source catalog, not a value
            sql.SQL("" if c.nullable else " NOT NULL"),
        )
        for c in shape.columns
    ]
    if shape.primary_key:
        parts.append(
            sql.SQL("PRIMARY KEY ({})").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in shape.primary_key)
            )
        )
    return sql.SQL("CREATE TABLE {} ({})").format(_table(shape), sql.SQL(", ").join(parts))


def _table_exists(cur: psycopg.Cursor[Any], shape: TableShape) -> bool:
    cur.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        list(shape.target),
    )
    return cur.fetchone() is not None


def ensure_schemas(target: psycopg.Connection[Any], schemas: set[str]) -> None:
    """Create the target schemas up front, so parallel table loads do not race to create them."""
    with target.transaction(), target.cursor() as cur:
        for schema in sorted(schemas):
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def prepare_target(cur: psycopg.Cursor[Any], shape: TableShape, prep_mode: str) -> bool:
    """Apply TargetTablePrepMode; a missing target table is created in every mode, as DMS does.

    Returns True when the table was (re)created from the source's shape.
    """
    if prep_mode not in PREP_MODES:
        raise ValueError(f"TargetTablePrepMode {prep_mode!r} is not one of {', '.join(PREP_MODES)}")
    cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(shape.target[0])))
    exists = _table_exists(cur, shape)
    if prep_mode == "DROP_AND_CREATE" and exists:
        cur.execute(sql.SQL("DROP TABLE {}").format(_table(shape)))
        exists = False
    if not exists:
        cur.execute(create_table_sql(shape))
        return True
    if prep_mode == "TRUNCATE_BEFORE_LOAD":
        cur.execute(sql.SQL("TRUNCATE TABLE {}").format(_table(shape)))
    return False


def load_table(
    source: SourceReader,
    target: psycopg.Connection[Any],
    schema: str,
    table: str,
    prep_mode: str = "DROP_AND_CREATE",
    *,
    shape: TableShape | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    commit_guard: AbstractContextManager[Any] | None = None,
) -> int:
    """Full-load one table; return the number of rows the target accepted.

    Raises the driver's error (the target transaction is rolled back) or ``Cancelled``.
    """
    shape = shape or source.table_shape(schema, table)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in shape.column_names)
    is_cancelled = cancelled or (lambda: False)
    # ``guard`` outlives the transaction block: entered after the copy, it is released only once
    # the COMMIT (or the rollback) is done, so the last check and the commit are one step.
    with ExitStack() as guard, target.transaction(), target.cursor() as cur:
        created = prepare_target(cur, shape, prep_mode)
        # A table just created from the source's own built-in types on a server of the same major
        # version takes PostgreSQL's binary COPY format (no text formatting and parsing); any
        # other table gets text, which PostgreSQL converts into the target's column types.
        binary = created and shape.binary_major == target.info.server_version // 10000
        copy_statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
            _table(shape), columns, sql.SQL(" (FORMAT binary)" if binary else "")
        )
        with cur.copy(copy_statement) as copy:
            source.copy_into(shape, copy, progress or (lambda n: None), is_cancelled, binary=binary)
        rows = max(cur.rowcount, 0)
        if commit_guard is not None:
            guard.enter_context(commit_guard)
        if is_cancelled():
            raise Cancelled()
    return rows

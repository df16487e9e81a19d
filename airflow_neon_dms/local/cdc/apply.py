"""Apply captured source changes to a PostgreSQL target, one target transaction at a time.

This is the one applier of the local DMS, for PostgreSQL (``test_decoding``) and MySQL/MariaDB
(binlog) sources alike. Rows are found by the source's replica identity: the primary key (or the
REPLICA IDENTITY index), or, when the whole old row is known (PostgreSQL's REPLICA IDENTITY FULL,
a MySQL binlog's FULL row image), the whole old row (one matching row, by ``ctid``, as
PostgreSQL's own logical replication does for tables without a key). Values travel as parameters
and identifiers through ``psycopg.sql.Identifier``.

A table without a key whose old rows are not logged whole: AWS's DMS user guide (PostgreSQL
source limitations) says "A captured table must have a primary key. If a table doesn't have a
primary key, AWS DMS ignores DELETE and UPDATE record operations for that table." So such
UPDATEs and DELETEs are captured (counted) but not applied, and the task log gets a warning that
names the fix (REPLICA IDENTITY FULL or a primary key); the table stays in replication.

TRUNCATE is applied when ``ChangeProcessingDdlHandlingPolicy.HandleSourceTableTruncated`` is true
(its DMS default); other DDL is counted in ``Ddls`` but not applied.

The applied position is saved by ``PositionTable`` in the same transaction as the changes. Any
database error rolls the whole target transaction back (nothing half-applied) and raises
``ApplyError`` naming the table and the source position.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc.changes import (
    Change,
    ColumnValue,
    DdlChange,
    RowChange,
    SourcePosition,
    Table,
    Truncate,
    tables_of,
)
from airflow_neon_dms.local.cdc.errors import ApplyError
from airflow_neon_dms.local.cdc.identity import TableIdentity
from airflow_neon_dms.local.cdc.position_table import DEFAULT_CONTROL_SCHEMA, PositionTable
from airflow_neon_dms.local.cdc.stats import ChangeStatistics

log = logging.getLogger(__name__)

#: Column types without an equality operator: compared through their text form.
_TEXT_COMPARED = frozenset({"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"})

TargetName = Callable[[str, str], "tuple[str, str] | None"]
IdentityLookup = Callable[[str, str], TableIdentity]
Warn = Callable[[str], None]


def no_key_message(schema: str, table: str) -> str:
    """The task-log warning of a keyless table whose UPDATE and DELETE changes are ignored."""
    return (
        f"Table {schema}.{table} has no primary key and its REPLICA IDENTITY is not FULL: its UPDATE "
        "and DELETE changes are ignored (AWS DMS ignores DELETE and UPDATE record operations for a "
        f"table without a primary key). Add a primary key or run ALTER TABLE {schema}.{table} "
        "REPLICA IDENTITY FULL on the source, then reload the table."
    )


def _qualified(name: tuple[str, str]) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(name[0]), sql.Identifier(name[1]))


class ChangeApplier:
    """Applies decoded changes to the target connection and records the applied position.

    ``target_name(schema, table)`` maps a source table to its target table, or None for a table
    the task does not replicate; ``identity(schema, table)`` gives the source table's key.
    """

    def __init__(
        self,
        target: psycopg.Connection[Any],
        task_name: str,
        *,
        target_name: TargetName,
        identity: IdentityLookup,
        stats: ChangeStatistics,
        control_schema: str = DEFAULT_CONTROL_SCHEMA,
        handle_truncate: bool = True,
        warn: Warn | None = None,
    ) -> None:
        self.target = target
        self.task_name = task_name
        self.target_name = target_name
        self.identity = identity
        self.stats = stats
        self.positions = PositionTable(task_name, control_schema)
        self.handle_truncate = handle_truncate
        self.warn = warn or (lambda message: log.warning("%s", message))
        self._identities: dict[Table, TableIdentity] = {}
        self._columns: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}
        self._warned: set[Table] = set()
        self._control_ready = False

    # --- the applied position ---------------------------------------------------------------
    def ensure_control_table(self) -> None:
        self.positions.ensure(self.target)
        self._control_ready = True

    def applied_position(self) -> str | None:
        """The position of the last source transaction applied (text), or None before the first."""
        return self.positions.load(self.target)

    def forget_position(self) -> None:
        """Drop the task's row (a task that starts again from scratch)."""
        self.positions.forget(self.target)

    # --- catalog lookups --------------------------------------------------------------------
    def _identity(self, table: Table) -> TableIdentity:
        if table not in self._identities:
            self._identities[table] = self.identity(*table)
        return self._identities[table]

    def _target_columns(self, target: tuple[str, str]) -> dict[str, tuple[str, bool]]:
        """Target column -> (type name, generated)."""
        if target not in self._columns:
            rel = _qualified(target).as_string(self.target)
            rows = self.target.execute(
                "SELECT attname, format_type(atttypid, NULL), attgenerated <> '' FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [rel],
            ).fetchall()
            self._columns[target] = {r[0]: (r[1], bool(r[2])) for r in rows}
        return self._columns[target]

    # --- applying ---------------------------------------------------------------------------
    def applicable(self, change: Change) -> bool:
        """False for a change the task does not apply: unmapped table, table in error, other DDL,
        TRUNCATE when HandleSourceTableTruncated is off, and UPDATE/DELETE of a keyless table
        whose old rows are not logged whole (ignored as DMS does, with a task-log warning)."""
        for table in tables_of(change):
            if self.target_name(*table) is None or self.stats.failed(table):
                return False
        if isinstance(change, DdlChange) or (isinstance(change, Truncate) and not self.handle_truncate):
            return False
        if isinstance(change, RowChange) and change.kind != "INSERT":
            table = change.source_table
            if not self._identity(table).identifies_rows:
                if table not in self._warned:
                    self._warned.add(table)
                    self.warn(no_key_message(*table))
                return False
        return True

    def apply(
        self,
        changes: Sequence[Change],
        *,
        position: SourcePosition | None = None,
        commit_time: datetime | None = None,
    ) -> int:
        """Apply ``changes`` in one target transaction; record ``position`` as applied with them.

        Returns how many changes were applied. On a database error nothing is applied and
        ApplyError names the table and the position.
        """
        todo = [c for c in changes if self.applicable(c)]
        if not todo and position is None:
            return 0
        if position is not None and not self._control_ready:
            self.ensure_control_table()
        current: Change | None = None
        try:
            with self.target.transaction(), self.target.cursor() as cur:
                # The position is saved in this same transaction, so a commit lost in a server
                # crash loses its position too and is read again: no need to wait for the flush.
                cur.execute("SET LOCAL synchronous_commit = off")
                for current in todo:
                    self._apply_one(cur, current)
                if position is not None:
                    self.positions.save(cur, position, commit_time)
        except psycopg.Error as err:
            where = ", ".join(f"{s}.{t}" for s, t in tables_of(current)) if current else "the control table"
            ending = f" ending at {position}" if position is not None else ""
            raise ApplyError(
                f"Applying the source transaction{ending} to {where} failed and was rolled back: "
                f"{str(err).strip()}"
            ) from None
        for change in todo:
            for table in tables_of(change):
                self.stats.applied(table, change)
        return len(todo)

    def _apply_one(self, cur: psycopg.Cursor[Any], change: Change) -> None:
        if isinstance(change, Truncate):
            self._truncate(cur, change)
            return
        assert isinstance(change, RowChange)
        target = self.target_name(*change.source_table)
        assert target is not None
        columns = self._target_columns(target)
        writable = [
            c
            for c in (change.new or ())
            if c.name in columns and not columns[c.name][1] and not c.unchanged_toast
        ]
        table = _qualified(target)
        if change.kind == "INSERT" and not writable:
            cur.execute(sql.SQL("INSERT INTO {} DEFAULT VALUES").format(table))
            return
        if change.kind == "INSERT":
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                table,
                sql.SQL(", ").join(sql.Identifier(c.name) for c in writable),
                sql.SQL(", ").join(sql.Placeholder() for _ in writable),
            )
            cur.execute(query, [c.value for c in writable])
            return
        where, params = self._row_filter(change, columns)
        if change.kind == "UPDATE":
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c.name)) for c in writable
            )
            query = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, where)
            params = [c.value for c in writable] + params
        else:
            query = sql.SQL("DELETE FROM {} WHERE {}").format(table, where)
        cur.execute(query, params)
        if cur.rowcount == 0:
            log.warning("%s on %s.%s matched no target row", change.kind, *target)

    def _row_filter(
        self, change: RowChange, columns: dict[str, tuple[str, bool]]
    ) -> tuple[sql.Composable, list[Any]]:
        """The WHERE clause that finds the changed row on the target."""
        identity = self._identity(change.source_table)
        old = {c.name: c for c in change.old_key or ()}
        new = {c.name: c for c in change.new or ()}
        conditions: list[sql.Composable] = []
        params: list[Any] = []

        def compare(name: str, value: ColumnValue | None) -> None:
            column = sql.Identifier(name)
            if value is None or value.value is None:
                conditions.append(sql.SQL("{} IS NULL").format(column))
            elif columns[name][0] in _TEXT_COMPARED:
                conditions.append(sql.SQL("{}::text = %s").format(column))
                params.append(value.value)
            else:
                conditions.append(sql.SQL("{} = %s").format(column))
                params.append(value.value)

        if identity.full and old:
            # The old row whole: a column left out of it was NULL; an unchanged TOAST value is
            # not sent and cannot be compared.
            for name in identity.columns or tuple(new or old):
                if name in columns and not (name in old and old[name].unchanged_toast):
                    compare(name, old.get(name))
            table = _qualified(self.target_name(*change.source_table) or change.source_table)
            return (
                sql.SQL("ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)").format(
                    table, sql.SQL(" AND ").join(conditions)
                ),
                params,
            )
        source = old or new
        for name in identity.key_columns:
            compare(name, source.get(name))
        return sql.SQL(" AND ").join(conditions), params

    def _truncate(self, cur: psycopg.Cursor[Any], change: Truncate) -> None:
        targets = [t for t in (self.target_name(*table) for table in change.tables) if t is not None]
        query = sql.SQL("TRUNCATE {}{}").format(
            sql.SQL(", ").join(_qualified(t) for t in targets),
            sql.SQL(" RESTART IDENTITY" if change.restart_seqs else ""),
        )
        cur.execute(query)

"""Apply decoded source changes to a PostgreSQL target, one target transaction at a time.

Rows are found by the source's replica identity: the primary key (or the REPLICA IDENTITY
index), or, under REPLICA IDENTITY FULL, the whole old row (one matching row, by ``ctid``, as
PostgreSQL's own logical replication does for tables without a key). Values travel as parameters
in PostgreSQL's text form and identifiers through ``psycopg.sql.Identifier``.

A table without a key and without REPLICA IDENTITY FULL cannot have its updates and deletes
applied: AWS's DMS user guide (PostgreSQL source limitations) says DMS ignores UPDATE and DELETE
for a table without a primary key. Ignoring them silently lets the target drift, so the local DMS
puts the table in error with that sentence and the fix, and applies nothing more to it.

The applied position is stored on the target, in the same transaction as the changes, in the
control table ``awsdms_txn_state`` (the table DMS's ControlTablesSettings.TaskRecoveryTableEnabled
keeps on the target; its columns here are this emulator's own). A crash after the target commit
and before the slot is confirmed replays transactions the control table already names, and they
are skipped: nothing is applied twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc.errors import ApplyError
from airflow_neon_dms.local.cdc.identity import TableIdentity
from airflow_neon_dms.local.cdc.lsn import format_lsn, parse_lsn
from airflow_neon_dms.local.cdc.stats import ChangeStatistics, Table, tables_of
from airflow_neon_dms.local.cdc.test_decoding import Change, ColumnValue, RowChange, Truncate

log = logging.getLogger(__name__)

#: Where a task's applied position lives on the target (DMS: TaskRecoveryTableEnabled).
CONTROL_TABLE = "awsdms_txn_state"
#: Column types without an equality operator: compared through their text form.
_TEXT_COMPARED = frozenset({"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"})

TargetName = Callable[[str, str], "tuple[str, str] | None"]
IdentityLookup = Callable[[str, str], TableIdentity]


def no_key_message(schema: str, table: str) -> str:
    """The table error of a keyless table that received an UPDATE or DELETE."""
    return (
        f"Table {schema}.{table} has no primary key and its REPLICA IDENTITY is not FULL, so its "
        "UPDATE and DELETE changes cannot be applied (AWS DMS ignores UPDATE and DELETE for a table "
        f"without a primary key). Add a primary key or run ALTER TABLE {schema}.{table} REPLICA "
        "IDENTITY FULL on the source, then reload the table."
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
        control_schema: str = "public",
    ) -> None:
        self.target = target
        self.task_name = task_name
        self.target_name = target_name
        self.identity = identity
        self.stats = stats
        self.control_schema = control_schema
        self._identities: dict[Table, TableIdentity] = {}
        self._columns: dict[tuple[str, str], dict[str, tuple[str, bool]]] = {}

    # --- the applied position ---------------------------------------------------------------
    @property
    def _control(self) -> sql.Composed:
        return _qualified((self.control_schema, CONTROL_TABLE))

    def ensure_control_table(self) -> None:
        with self.target.transaction():
            self.target.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.control_schema))
            )
            self.target.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (task_name text PRIMARY KEY, "
                    "checkpoint_lsn pg_lsn NOT NULL, commit_time timestamptz, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(self._control)
            )

    def applied_position(self) -> int | None:
        """The commit LSN of the last source transaction applied, or None before the first."""
        row = self.target.execute(
            sql.SQL("SELECT checkpoint_lsn::text FROM {} WHERE task_name = %s").format(self._control),
            [self.task_name],
        ).fetchone()
        return parse_lsn(row[0]) if row else None

    def forget_position(self) -> None:
        """Drop the task's row (a task that starts again from scratch)."""
        self.target.execute(
            sql.SQL("DELETE FROM {} WHERE task_name = %s").format(self._control), [self.task_name]
        )

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
        """False for a change the task must not apply: unmapped table, table in error, no key.

        A keyless table's first UPDATE or DELETE puts it in error here.
        """
        for table in tables_of(change):
            if self.target_name(*table) is None or self.stats.failed(table):
                return False
        if isinstance(change, RowChange) and change.kind != "INSERT":
            if not self._identity(change.source_table).identifies_rows:
                self.stats.fail(change.source_table, no_key_message(*change.source_table))
                log.error("%s", no_key_message(*change.source_table))
                return False
        return True

    def apply(
        self, changes: Sequence[Change], *, commit_lsn: int | None = None, commit_time: datetime | None = None
    ) -> int:
        """Apply ``changes`` in one target transaction; record ``commit_lsn`` as applied with them.

        Returns how many changes were applied. On a database error nothing is applied and
        ApplyError names the table.
        """
        todo = [c for c in changes if self.applicable(c)]
        if not todo and commit_lsn is None:
            return 0
        current: Change | None = None
        try:
            with self.target.transaction():
                for current in todo:
                    self._apply_one(current)
                if commit_lsn is not None:
                    self._record(commit_lsn, commit_time)
        except psycopg.Error as err:
            where = ", ".join(f"{s}.{t}" for s, t in tables_of(current)) if current else "the control table"
            raise ApplyError(f"Applying a change to {where} failed: {str(err).strip()}") from None
        for change in todo:
            for table in tables_of(change):
                self.stats.applied(table, change)
        return len(todo)

    def _record(self, commit_lsn: int, commit_time: datetime | None) -> None:
        self.target.execute(
            sql.SQL(
                "INSERT INTO {} (task_name, checkpoint_lsn, commit_time) VALUES (%s, %s::pg_lsn, %s) "
                "ON CONFLICT (task_name) DO UPDATE SET checkpoint_lsn = EXCLUDED.checkpoint_lsn, "
                "commit_time = EXCLUDED.commit_time, applied_at = now()"
            ).format(self._control),
            [self.task_name, format_lsn(commit_lsn), commit_time],
        )

    def _apply_one(self, change: Change) -> None:
        if isinstance(change, Truncate):
            self._truncate(change)
            return
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
            self.target.execute(sql.SQL("INSERT INTO {} DEFAULT VALUES").format(table))
            return
        if change.kind == "INSERT":
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                table,
                sql.SQL(", ").join(sql.Identifier(c.name) for c in writable),
                sql.SQL(", ").join(sql.Placeholder() for _ in writable),
            )
            self.target.execute(query, [c.text for c in writable])
            return
        where, params = self._row_filter(change, columns)
        if change.kind == "UPDATE":
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c.name)) for c in writable
            )
            query = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, where)
            params = [c.text for c in writable] + params
        else:
            query = sql.SQL("DELETE FROM {} WHERE {}").format(table, where)
        cursor = self.target.execute(query, params)
        if cursor.rowcount == 0:
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
            if value is None or value.text is None:
                conditions.append(sql.SQL("{} IS NULL").format(column))
            elif columns[name][0] in _TEXT_COMPARED:
                conditions.append(sql.SQL("{}::text = %s").format(column))
                params.append(value.text)
            else:
                conditions.append(sql.SQL("{} = %s").format(column))
                params.append(value.text)

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

    def _truncate(self, change: Truncate) -> None:
        targets = [t for t in (self.target_name(*table) for table in change.tables) if t is not None]
        query = sql.SQL("TRUNCATE {}{}").format(
            sql.SQL(", ").join(_qualified(t) for t in targets),
            sql.SQL(" RESTART IDENTITY" if change.restart_seqs else ""),
        )
        self.target.execute(query)

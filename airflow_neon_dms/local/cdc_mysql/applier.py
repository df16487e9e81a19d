"""Apply captured changes to the PostgreSQL target: one target transaction per source transaction.

Inserts, updates and deletes go through parameterised SQL with ``psycopg.sql.Identifier``. A row
is found by the table's primary key (before image); a table without one is matched on every
column of the before image, one row at a time (a MySQL source logs FULL row images, so the whole
row is known). TRUNCATE is applied when ``ChangeProcessingDdlHandlingPolicy.HandleSourceTableTruncated``
is true (its DMS default); other DDL is counted but not applied.

Counters per table are botocore's TableStatistics names: ``Inserts``/``Updates``/``Deletes``/``Ddls``
count changes handed to the applier (a change cached during its table's full load counts once its
load is done), ``Applied*`` count those committed on the target. Any error
rolls the whole target transaction back (nothing half-applied) and raises ``ChangeApplyError``
naming the table and the source position.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc_mysql.changes import Change, DdlChange, RowChange, TableKey
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
from airflow_neon_dms.local.sources import TableShape

#: Called inside the target transaction with its cursor and the source position it reaches.
Checkpoint = Callable[[psycopg.Cursor[Any], BinlogPosition], None]


@dataclass
class TableChangeCounters:
    """The CDC counters of one table, named as in botocore's TableStatistics shape."""

    Inserts: int = 0
    Updates: int = 0
    Deletes: int = 0
    Ddls: int = 0
    AppliedInserts: int = 0
    AppliedUpdates: int = 0
    AppliedDeletes: int = 0
    AppliedDdls: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_CAPTURED = {"insert": "Inserts", "update": "Updates", "delete": "Deletes"}


def _counter_name(change: Change) -> str:
    return _CAPTURED[change.op] if isinstance(change, RowChange) else "Ddls"


class ChangeApplyError(Exception):
    """A change could not be applied; the target transaction was rolled back."""


def _target(shape: TableShape) -> sql.Composed:
    schema, table = shape.target
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def _row_match(shape: TableShape, before: Sequence[Any]) -> tuple[sql.Composable, list[Any]]:
    """WHERE clause and parameters that find the row of ``before`` in the target table."""
    if shape.primary_key:
        index = {c: i for i, c in enumerate(shape.column_names)}
        clause = sql.SQL(" AND ").join(
            sql.SQL("{} = %s").format(sql.Identifier(c)) for c in shape.primary_key
        )
        return clause, [before[index[c]] for c in shape.primary_key]
    matches = sql.SQL(" AND ").join(
        sql.SQL("{} IS NOT DISTINCT FROM %s").format(sql.Identifier(c)) for c in shape.column_names
    )
    one_row = sql.SQL("ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)").format(_target(shape), matches)
    return one_row, list(before)


def row_change_statement(shape: TableShape, change: RowChange) -> tuple[sql.Composed, list[Any]]:
    """The SQL and parameters that apply one row change to the table's target."""
    table = _target(shape)
    columns = [sql.Identifier(c) for c in shape.column_names]
    if change.op == "insert":
        assert change.after is not None
        statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(columns), sql.SQL(", ").join(sql.Placeholder() * len(columns))
        )
        return statement, list(change.after)
    assert change.before is not None
    where, where_params = _row_match(shape, change.before)
    if change.op == "delete":
        return sql.SQL("DELETE FROM {} WHERE {}").format(table, where), where_params
    assert change.after is not None
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(c) for c in columns)
    statement = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, where)
    return statement, [*change.after, *where_params]


class PostgresChangeApplier:
    """Applies source transactions to a PostgreSQL target and keeps DMS's per-table counters."""

    def __init__(
        self,
        target: psycopg.Connection[Any],
        shapes: Mapping[TableKey, TableShape],
        *,
        handle_truncate: bool = True,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.target = target
        self.shapes = dict(shapes)
        self.handle_truncate = handle_truncate
        self.checkpoint = checkpoint
        self._lock = threading.Lock()
        self.counters: dict[TableKey, TableChangeCounters] = {k: TableChangeCounters() for k in shapes}

    def _count(self, changes: Iterable[Change], prefix: str) -> None:
        with self._lock:
            for change in changes:
                counters = self.counters[change.key]
                name = prefix + _counter_name(change)
                setattr(counters, name, getattr(counters, name) + 1)

    def apply(self, changes: Sequence[Change], end: BinlogPosition) -> None:
        """Apply one source transaction's changes in one target transaction.

        The changes count as captured (``Inserts``, ...) at once and as applied (``AppliedInserts``,
        ...) once committed; a change the settings do not apply (DDL other than TRUNCATE) is
        captured only.
        """
        self._count(changes, "")
        applied: list[Change] = []
        try:
            with self.target.pipeline(), self.target.transaction(), self.target.cursor() as cur:
                # The position is saved in this same transaction, so a commit lost in a server
                # crash loses its position too and is read again: no need to wait for the flush.
                cur.execute("SET LOCAL synchronous_commit = off")
                for change in changes:
                    if self._apply_one(cur, change):
                        applied.append(change)
                if self.checkpoint is not None:
                    self.checkpoint(cur, end)
        except psycopg.Error as err:
            where = f"{changes[0].schema}.{changes[0].table}" if changes else "the target"
            raise ChangeApplyError(
                f"Applying the source transaction ending at {end} to {where} failed and was rolled "
                f"back: {str(err).strip()}"
            ) from err
        self._count(applied, "Applied")

    def _apply_one(self, cur: psycopg.Cursor[Any], change: Change) -> bool:
        shape = self.shapes[change.key]
        if isinstance(change, DdlChange):
            if change.kind != "truncate" or not self.handle_truncate:
                return False
            cur.execute(sql.SQL("TRUNCATE TABLE {}").format(_target(shape)))
            return True
        statement, params = row_change_statement(shape, change)
        cur.execute(statement, params)
        return True

    def statistics(self) -> dict[TableKey, dict[str, int]]:
        """Counters per table, as TableStatistics fields."""
        with self._lock:
            return {key: counters.as_dict() for key, counters in self.counters.items()}

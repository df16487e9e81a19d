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
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc.batching import UNSAFE_CASTS, BulkShape, Run, Statement
from airflow_neon_dms.local.cdc.changes import (
    Change,
    ColumnValue,
    DdlChange,
    RowChange,
    RowLayout,
    SourcePosition,
    Table,
    Truncate,
    layout_of,
    tables_of,
)
from airflow_neon_dms.local.cdc.errors import ApplyError
from airflow_neon_dms.local.cdc.identity import TableIdentity
from airflow_neon_dms.local.cdc.position_table import DEFAULT_CONTROL_SCHEMA, PositionTable
from airflow_neon_dms.local.cdc.statement_plans import StatementPlan, extend_run, positions, statement
from airflow_neon_dms.local.cdc.stats import ChangeStatistics, counter_name

log = logging.getLogger(__name__)

#: Column types without an equality operator: compared through their text form.
_TEXT_COMPARED = frozenset({"json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"})

#: The counter of each row kind (``stats.counter_name``).
_APPLIED = {"INSERT": "inserts", "UPDATE": "updates", "DELETE": "deletes"}
#: Plans kept per applier (one per row layout the decoder learned; it starts again past this).
_MAX_PLANS = 4096

TargetName = Callable[[str, str], "tuple[str, str] | None"]
IdentityLookup = Callable[[str, str], TableIdentity]
Warn = Callable[[str], None]
#: How an UPDATE or DELETE finds its row: (by the whole old row?, ((column, "eq"|"text"|"null"), ...)).
_FilterShape = tuple[bool, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class PendingTransaction:
    """One source transaction's changes and where it ends, waiting to be applied."""

    changes: Sequence[Change]
    position: SourcePosition | None = None
    commit_time: datetime | None = None


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
        #: SQL text of each (target table, kind, columns, row filter) seen so far.
        self._queries: dict[tuple[Any, ...], bytes] = {}
        self._bulk: dict[tuple[Any, ...], BulkShape | None] = {}
        #: A statement plan per row layout (``statement_plans``); None: the general way.
        self._plans: dict[RowLayout, StatementPlan | None] = {}
        self._targets: dict[Table, tuple[str, str] | None] = {}
        #: Per target table: the columns a change may set (not generated).
        self._settable: dict[tuple[str, str], frozenset[str]] = {}
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
    def target_of(self, table: Table) -> tuple[str, str] | None:
        """``target_name`` of a source table, looked up once (the mappings of a running task
        do not change: ModifyReplicationTask needs it stopped)."""
        try:
            return self._targets[table]
        except KeyError:
            target = self._targets[table] = self.target_name(*table)
            return target

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
            self._settable[target] = frozenset(r[0] for r in rows if not r[2])
        return self._columns[target]

    # --- applying ---------------------------------------------------------------------------
    def applicable(self, change: Change) -> bool:
        """False for a change the task does not apply: unmapped table, table in error, other DDL,
        TRUNCATE when HandleSourceTableTruncated is off, and UPDATE/DELETE of a keyless table
        whose old rows are not logged whole (ignored as DMS does, with a task-log warning)."""
        for table in tables_of(change):
            if self.target_of(table) is None or self.stats.failed(table):
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

    def _applicable_in_group(self) -> Callable[[Change], bool]:
        """``applicable``, remembered per table and kind of row change for one group."""
        known: dict[tuple[str, str, str], bool] = {}

        def applicable(change: Change) -> bool:
            if type(change) is not RowChange:
                return self.applicable(change)
            key = (change.schema, change.table, change.kind)
            answer = known.get(key)
            if answer is None:
                answer = known[key] = self.applicable(change)
            return answer

        return applicable

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
        return self.apply_transactions([PendingTransaction(changes, position, commit_time)])

    def apply_transactions(self, transactions: Iterable[PendingTransaction]) -> int:
        """Apply whole source transactions, in order, in ONE target transaction that also records
        the last one's position; returns how many changes were applied.

        ``transactions`` is read lazily and always to its end. The statements go out in pipeline
        mode as they are made, each run of same-shape changes as a few multi-row statements or
        one ``executemany`` (``batching``), so the target works while the next changes are still
        being decoded, and the group costs a few round trips instead of one per change. When the
        target refuses something, the group is rolled back and applied again one source
        transaction (and one statement) at a time: the transactions before the faulty one are
        committed with their positions, and ApplyError names the faulty one's table and position,
        exactly as when each was applied alone.
        """
        source = iter(transactions)
        seen: list[PendingTransaction] = []
        todo: list[list[Change]] = []

        applicable = self._applicable_in_group()
        by_layout: dict[RowLayout, bool] = {}

        def take(txn: PendingTransaction) -> list[Change]:
            seen.append(txn)
            # The common case: row changes of layouts all applicable, judged once a layout.
            layouts = set(map(layout_of, txn.changes))
            if None not in layouts:
                for layout in layouts - by_layout.keys():
                    first = next(c for c in txn.changes if c.layout is layout)
                    by_layout[layout] = applicable(first)
                if all(by_layout[layout] for layout in layouts):
                    todo.append(list(txn.changes))
                    return todo[-1]
            todo.append([c for c in txn.changes if applicable(c)])
            return todo[-1]

        for txn in source:  # nothing is opened on the target for transactions with nothing to do
            if take(txn) or txn.position is not None:
                break
        else:
            return 0

        def changes() -> Iterator[Change]:
            yield from todo[-1]
            for txn in source:
                yield from take(txn)

        def last() -> PendingTransaction | None:
            return next((t for t in reversed(seen) if t.position is not None), None)

        if last() is not None and not self._control_ready:
            self.ensure_control_table()
        try:
            self._apply_pipelined(changes(), last)
        except psycopg.Error as err:
            for txn in source:  # the rest of the group, for the replay (or the message)
                take(txn)
            if self.target.closed or self.target.broken:  # nothing to retry on
                first = next((changes for changes in todo if changes), [])
                message = self._failure(first, seen[-1].position, str(err).strip())
                raise ApplyError(message, position=seen[0].position) from None
            return self._apply_each(seen, todo)
        self._count_applied(c for changes in todo for c in changes)
        return sum(len(changes) for changes in todo)

    def _apply_pipelined(
        self, changes: Iterable[Change], last: Callable[[], PendingTransaction | None]
    ) -> None:
        """One target transaction in pipeline mode: each run of same-shape changes is sent as
        soon as it is complete (or holds a statement's worth of rows)."""
        checked: list[tuple[list[psycopg.Cursor[Any]], Run]] = []
        with self.target.pipeline(), self.target.transaction():
            # The position is saved in this same transaction, so a commit lost in a server
            # crash loses its position too and is read again: no need to wait for the flush.
            self.target.execute("SET LOCAL synchronous_commit = off")
            run: Run | None = None
            plans = self._plans
            for change in changes:
                # The common case: a change of a planned layout that joins the current run.
                if run is not None and type(change) is RowChange and change.layout is not None:
                    plan = plans.get(change.layout)
                    if plan is not None and extend_run(plan, run, change):
                        continue
                statement = self._statement(change)
                if run is not None and run.takes(statement):
                    run.add(statement)
                    continue
                if run is not None:
                    self._send(run, checked)
                run = Run(statement.query, statement.bulk)
                run.add(statement)
            if run is not None:
                self._send(run, checked)
            ending = last()
            if ending is not None:
                assert ending.position is not None
                self.positions.save(self.target.cursor(), ending.position, ending.commit_time)
        for cursors, done in checked:
            matched = sum(max(cur.rowcount, 0) for cur in cursors)
            if matched < done.count:
                log.warning(
                    "%d of %d changes matched no target row: %s",
                    done.count - matched,
                    done.count,
                    done.query.decode(errors="replace")[:200],
                )

    def _send(self, run: Run, checked: list[tuple[list[psycopg.Cursor[Any]], Run]]) -> None:
        """Queue a run's statements in the pipeline (results are read at the commit)."""
        cursors: list[psycopg.Cursor[Any]] = []
        if run.bulk is not None:
            for query, params in run.statements():
                cursors.append(psycopg.RawCursor(self.target))
                cursors[-1].execute(query, params)
        elif run.params:
            cursors.append(self.target.cursor())
            cursors[-1].executemany(run.query, run.params)
        else:
            for _ in range(run.count):
                cursors.append(self.target.cursor())
                cursors[-1].execute(run.query)
        if run.query.startswith((b"UPDATE", b"DELETE")):
            checked.append((cursors, run))

    def _apply_each(self, transactions: Sequence[PendingTransaction], todo: list[list[Change]]) -> int:
        """Apply each source transaction alone, statement by statement (after a group failed)."""
        applied = 0
        for txn, changes in zip(transactions, todo, strict=True):
            if not changes and txn.position is None:
                continue
            current: Change | None = None
            try:
                with self.target.transaction(), self.target.cursor() as cur:
                    cur.execute("SET LOCAL synchronous_commit = off")
                    for current in changes:
                        statement = self._statement(current)
                        cur.execute(statement.query, statement.params)
                        checked = _checked(current)
                        if checked is not None and cur.rowcount == 0:
                            log.warning(
                                "%s on %s.%s matched no target row", checked.kind, *checked.source_table
                            )
                    if txn.position is not None:
                        self.positions.save(cur, txn.position, txn.commit_time)
            except psycopg.Error as err:
                where = [current] if current is not None else []
                message = self._failure(where, txn.position, str(err).strip())
                raise ApplyError(message, position=txn.position) from None
            self._count_applied(changes)
            applied += len(changes)
        return applied

    @staticmethod
    def _failure(changes: Sequence[Change], position: SourcePosition | None, reason: str) -> str:
        where = ", ".join(f"{s}.{t}" for s, t in tables_of(changes[0])) if changes else "the control table"
        ending = f" ending at {position}" if position is not None else ""
        return f"Applying the source transaction{ending} to {where} failed and was rolled back: {reason}"

    def _count_applied(self, changes: Iterable[Change]) -> None:
        counts: Counter[tuple[Table, str]] = Counter()
        everything = list(changes)
        layouts = Counter(map(layout_of, everything))
        for layout, count in layouts.items():
            if layout is not None:
                counts[(layout.source_table, _APPLIED[layout.kind])] += count
        for change in everything if None in layouts else ():
            if change.layout is None:
                for table in tables_of(change):
                    counts[(table, counter_name(change))] += 1
        self.stats.add(counts, applied=True)

    # --- statements -------------------------------------------------------------------------
    def _statement(self, change: Change) -> Statement:
        """The change as a one-row statement (SQL text cached per table and shape), and as a row
        of a multi-row statement where that gives the same result (``batching``)."""
        layout = change.layout if type(change) is RowChange else None
        if layout is not None:
            assert isinstance(change, RowChange)
            try:
                plan = self._plans[layout]
            except KeyError:
                plan = self._plan(change, layout)
            if plan is not None:
                planned = statement(plan, change)
                if planned is not None:
                    return planned
        return self._general_statement(change)

    def _plan(self, change: RowChange, layout: RowLayout) -> StatementPlan | None:
        """The plan of the change's layout, checked against the general way on this change.

        Not kept when this change cannot tell (a NULL key): the next change of the layout tries.
        """
        general = self._general_statement(change)
        target = self.target_of(change.source_table)
        assert target is not None
        settable = self._settable[target]
        plan: StatementPlan | None = None
        new_names = layout.new_names or ()
        values = positions(new_names, [n for n in new_names if n in settable])
        identity = self._identity(change.source_table)
        keyed = bool(identity.key_columns) and not identity.full
        if layout.kind == "INSERT" and new_names and values:
            plan = StatementPlan("INSERT", general.query, general.bulk, values, ())
        elif layout.kind == "UPDATE" and layout.old_names is None and keyed and values:
            keys = positions(new_names, identity.key_columns)
            if keys is not None:
                plan = StatementPlan("UPDATE", general.query, general.bulk, values, keys)
        elif layout.kind == "DELETE" and layout.old_names and keyed:
            keys = positions(layout.old_names, identity.key_columns)
            if keys is not None:
                plan = StatementPlan("DELETE", general.query, general.bulk, (), keys)
        planned = statement(plan, change) if plan is not None else None
        if plan is not None and planned is None:
            return None  # this change cannot tell: do not decide yet
        if len(self._plans) >= _MAX_PLANS:
            self._plans.clear()
        self._plans[layout] = plan if planned == general else None
        return self._plans[layout]

    def _general_statement(self, change: Change) -> Statement:
        if isinstance(change, Truncate):
            return Statement(self._truncate_query(change), None)
        assert isinstance(change, RowChange)
        target = self.target_of(change.source_table)
        assert target is not None
        columns = self._target_columns(target)
        settable = self._settable[target]
        writable = [c for c in (change.new or ()) if c.name in settable and not c.unchanged_toast]
        names = tuple(c.name for c in writable)
        values = [c.value for c in writable]
        if change.kind == "INSERT":
            key: tuple[Any, ...] = (target, "INSERT", names)
            if key not in self._queries:
                self._queries[key] = self._insert_query(target, names)
                self._bulk[key] = _bulk_insert(self._queries[key]) if names else None
            bulk = self._bulk[key]
            return Statement(self._queries[key], values if names else None, bulk, values if bulk else None)
        shape, params = self._row_filter(change, columns)
        key = (target, change.kind, names, shape)
        if key not in self._queries:
            self._queries[key] = self._change_query(target, change.kind, names, shape)
            self._bulk[key] = self._bulk_change(target, change.kind, names, shape, columns)
        query, bulk = self._queries[key], self._bulk[key]
        one_row = values + params if change.kind == "UPDATE" else params
        if bulk is None:
            return Statement(query, one_row)
        if change.kind == "DELETE":
            return Statement(query, one_row, bulk, params)
        # An UPDATE joins a multi-row one only when it keeps its key (PostgreSQL sends the old
        # key only when it changed; a MySQL before image always comes: compare).
        if change.old_key is not None:
            new = {c.name: c.value for c in change.new or ()}
            key_names = [name for name, _ in shape[1]]
            if any(
                name not in new or new[name] != value for name, value in zip(key_names, params, strict=True)
            ):
                return Statement(query, one_row)
        return Statement(query, one_row, bulk, params + values, tuple(params))

    def _bulk_change(
        self,
        target: tuple[str, str],
        kind: str,
        names: tuple[str, ...],
        shape: _FilterShape,
        columns: dict[str, tuple[str, bool]],
    ) -> BulkShape | None:
        """The multi-row form of an UPDATE or DELETE by key, or None where it would not be exact."""
        full, compared = shape
        keys = [name for name, _ in compared]
        if full or not compared or any(how != "eq" for _, how in compared):
            return None
        if kind == "UPDATE" and not names:
            return None
        cast = keys + (list(names) if kind == "UPDATE" else [])
        if any(columns[name][0] in UNSAFE_CASTS for name in cast):
            return None
        casts = tuple(b"::" + columns[name][0].encode() for name in cast)
        aliases = sql.SQL(", ").join(sql.Identifier(f"c{i}") for i in range(len(cast)))
        match = sql.SQL(" AND ").join(
            sql.SQL("dms_target.{} = dms_rows.{}").format(sql.Identifier(name), sql.Identifier(f"c{i}"))
            for i, name in enumerate(keys)
        )
        table = _qualified(target)
        if kind == "UPDATE":
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = dms_rows.{}").format(sql.Identifier(name), sql.Identifier(f"c{len(keys) + i}"))
                for i, name in enumerate(names)
            )
            head = sql.SQL("UPDATE {} AS dms_target SET {} FROM (VALUES ").format(table, assignments)
        else:
            head = sql.SQL("DELETE FROM {} AS dms_target USING (VALUES ").format(table)
        tail = sql.SQL(") AS dms_rows ({}) WHERE {}").format(aliases, match)
        return BulkShape(head.as_bytes(self.target), casts, tail.as_bytes(self.target))

    def _insert_query(self, target: tuple[str, str], names: tuple[str, ...]) -> bytes:
        table = _qualified(target)
        if not names:
            return sql.SQL("INSERT INTO {} DEFAULT VALUES").format(table).as_bytes(self.target)
        return (
            sql.SQL("INSERT INTO {} ({}) VALUES ({})")
            .format(
                table,
                sql.SQL(", ").join(sql.Identifier(n) for n in names),
                sql.SQL(", ").join(sql.Placeholder() for _ in names),
            )
            .as_bytes(self.target)
        )

    def _change_query(
        self, target: tuple[str, str], kind: str, names: tuple[str, ...], shape: _FilterShape
    ) -> bytes:
        table = _qualified(target)
        full, compared = shape
        conditions = sql.SQL(" AND ").join(
            sql.SQL("{} IS NULL").format(sql.Identifier(name))
            if how == "null"
            else sql.SQL("{}::text = %s" if how == "text" else "{} = %s").format(sql.Identifier(name))
            for name, how in compared
        )
        where: sql.Composable = conditions
        if full:
            # One matching row, as PostgreSQL's own logical replication does without a key.
            where = sql.SQL("ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)").format(table, conditions)
        if kind == "UPDATE":
            assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(n)) for n in names)
            query = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, assignments, where)
        else:
            query = sql.SQL("DELETE FROM {} WHERE {}").format(table, where)
        return query.as_bytes(self.target)

    def _row_filter(
        self, change: RowChange, columns: dict[str, tuple[str, bool]]
    ) -> tuple[_FilterShape, list[Any]]:
        """How the changed row is found on the target: (full row?, (column, how) ...) and the values."""
        identity = self._identity(change.source_table)
        compared: list[tuple[str, str]] = []
        params: list[Any] = []
        if not (identity.full and change.old_key):
            # By key: the old key when the source sent one (the key changed), else the new row.
            source = {c.name: c.value for c in change.old_key or change.new or ()}
            for name in identity.key_columns:
                value = source.get(name)
                if value is None:
                    compared.append((name, "null"))
                else:
                    compared.append((name, "text" if columns[name][0] in _TEXT_COMPARED else "eq"))
                    params.append(value)
            return (False, tuple(compared)), params
        old = {c.name: c for c in change.old_key}

        def compare(name: str, value: ColumnValue | None) -> None:
            if value is None or value.value is None:
                compared.append((name, "null"))
            else:
                compared.append((name, "text" if columns[name][0] in _TEXT_COMPARED else "eq"))
                params.append(value.value)

        # The old row whole: a column left out of it was NULL; an unchanged TOAST value is not
        # sent and cannot be compared.
        new = {c.name: c for c in change.new or ()}
        for name in identity.columns or tuple(new or old):
            if name in columns and not (name in old and old[name].unchanged_toast):
                compare(name, old.get(name))
        return (True, tuple(compared)), params

    def _truncate_query(self, change: Truncate) -> bytes:
        targets = [t for t in (self.target_of(table) for table in change.tables) if t is not None]
        return (
            sql.SQL("TRUNCATE {}{}")
            .format(
                sql.SQL(", ").join(_qualified(t) for t in targets),
                sql.SQL(" RESTART IDENTITY" if change.restart_seqs else ""),
            )
            .as_bytes(self.target)
        )


def _bulk_insert(one_row: bytes) -> BulkShape:
    """``INSERT INTO t (a, b) VALUES (%s, %s)`` as a multi-row INSERT (no casts: an INSERT's
    VALUES take the target columns' types)."""
    head, _, row = one_row.rpartition(b" VALUES ")
    return BulkShape(head + b" VALUES ", (b"",) * row.count(b"%s"), b"")


def _checked(change: Change) -> RowChange | None:
    """An UPDATE or DELETE, whose count of matched rows is checked (a miss is logged)."""
    return change if isinstance(change, RowChange) and change.kind != "INSERT" else None

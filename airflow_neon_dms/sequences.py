"""Sequence sync after a full load: DMS copies rows but never sequences.

Every sequence owned by a column of a migrated Neon table (serial and identity columns, found
through ``pg_depend``, never by name) is moved so that the next ``nextval`` returns
``max(column) + 1``, or the source's next value when it is larger (a PostgreSQL sequence, or a
MySQL/MariaDB AUTO_INCREMENT counter). A sequence is never moved backwards, so a second run
changes nothing and new rows inserted on Neon since the load are safe.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.exceptions import SequenceSyncError
from airflow_neon_dms.schema.model import Engine

log = logging.getLogger(__name__)

_OWNED_SQL = """
SELECT a.attname, s.oid, sn.nspname, s.relname, ps.seqincrement
FROM pg_class t
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_depend d ON d.refobjid = t.oid AND d.refclassid = 'pg_class'::regclass
    AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_sequence ps ON ps.seqrelid = s.oid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE tn.nspname = %s AND t.relname = %s
ORDER BY a.attnum
"""


@dataclass(frozen=True)
class TablePair:
    """A migrated table: its name on the source and on Neon."""

    source_schema: str
    source_table: str
    target_schema: str
    target_table: str


@dataclass(frozen=True)
class SequenceChange:
    """What happened to one owned sequence."""

    table: str
    column: str
    sequence: str
    max_value: int | None
    source_next: int | None
    previous_next: int
    new_next: int
    changed: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OwnedSequence:
    column: str
    oid: int
    schema: str
    name: str
    increment: int


def owned_sequences(conn: psycopg.Connection[Any], schema: str, table: str) -> list[OwnedSequence]:
    """Sequences owned by the table's columns (serial: dependency 'a'; identity: 'i')."""
    with conn.cursor() as cur:
        cur.execute(_OWNED_SQL, (schema, table))
        return [OwnedSequence(c, int(o), s, n, int(i)) for c, o, s, n, i in cur.fetchall()]


def next_value(conn: psycopg.Connection[Any], seq: OwnedSequence) -> int:
    """The value the sequence's next ``nextval`` returns."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(seq.schema, seq.name))
        )
        row = cur.fetchone()
    assert row is not None
    last, called = int(row[0]), bool(row[1])
    return last + seq.increment if called else last


def _source_next(source_conn: Any, engine: Engine, schema: str, table: str, column: str) -> int | None:
    if engine == "postgresql":
        for seq in owned_sequences(source_conn, schema, table):
            if seq.column == column:
                return next_value(source_conn, seq)
        return None
    with source_conn.cursor() as cur:
        cur.execute(
            "SELECT t.AUTO_INCREMENT FROM information_schema.TABLES t JOIN information_schema.COLUMNS c "
            "ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME "
            "WHERE t.TABLE_SCHEMA = %s AND t.TABLE_NAME = %s AND c.COLUMN_NAME = %s "
            "AND c.EXTRA LIKE %s",
            (schema, table, column, "%auto_increment%"),
        )
        row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None


def sync_table(
    target_conn: psycopg.Connection[Any],
    pair: TablePair,
    source_conn: Any | None = None,
    source_engine: Engine | None = None,
) -> list[SequenceChange]:
    """Move every sequence owned by a column of one Neon table past the data; never backwards."""
    changes = []
    label = f"{pair.target_schema}.{pair.target_table}"
    for seq in owned_sequences(target_conn, pair.target_schema, pair.target_table):
        seq_label = f"{seq.schema}.{seq.name}"
        previous = next_value(target_conn, seq)
        if seq.increment < 0:
            changes.append(
                SequenceChange(
                    label, seq.column, seq_label, None, None, previous, previous, False, "descending"
                )
            )
            continue
        with target_conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT max({}) FROM {}").format(
                    sql.Identifier(seq.column), sql.Identifier(pair.target_schema, pair.target_table)
                )
            )
            row = cur.fetchone()
        max_value = None if row is None or row[0] is None else int(row[0])
        source_next = None
        if source_conn is not None and source_engine is not None:
            source_next = _source_next(
                source_conn, source_engine, pair.source_schema, pair.source_table, seq.column
            )
        wanted = max(
            v for v in (previous, source_next, None if max_value is None else max_value + 1) if v is not None
        )
        changed = wanted != previous
        if changed:
            with target_conn.cursor() as cur:
                cur.execute("SELECT setval(%s::oid::regclass, %s, false)", (seq.oid, wanted))
            log.info(
                "Sequence %s (%s.%s): next value %d -> %d", seq_label, label, seq.column, previous, wanted
            )
        note = "" if changed else "already past the data"
        if max_value is None and not changed:
            note = "empty table"
        changes.append(
            SequenceChange(
                label, seq.column, seq_label, max_value, source_next, previous, wanted, changed, note
            )
        )
    if not target_conn.autocommit:
        target_conn.commit()
    return changes


def sync_sequences(
    target_conn: psycopg.Connection[Any],
    tables: Sequence[TablePair],
    source_conn: Any | None = None,
    source_engine: Engine | None = None,
) -> list[SequenceChange]:
    """Sync every owned sequence of ``tables``; a table missing on Neon raises with its name."""
    out: list[SequenceChange] = []
    for pair in tables:
        with target_conn.cursor() as cur:
            cur.execute(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
                (pair.target_schema, pair.target_table),
            )
            if cur.fetchone() is None:
                raise SequenceSyncError(
                    f"Table {pair.target_schema}.{pair.target_table} does not exist on Neon, so its "
                    "sequences cannot be synced. Run the load first, or fix the table list."
                )
        out.extend(sync_table(target_conn, pair, source_conn, source_engine))
    return out

"""How the source identifies the rows of a table in UPDATE and DELETE (its replica identity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class TableIdentity:
    """A source table's key for changes: primary key (or replica identity index) and FULL."""

    #: The primary key, or the index named by REPLICA IDENTITY USING INDEX; () when neither.
    key_columns: tuple[str, ...]
    #: REPLICA IDENTITY FULL: the old row is decoded whole, so it is its own key.
    full: bool = False
    #: Every column of the source table (a FULL old row leaves its NULL columns out).
    columns: tuple[str, ...] = ()

    @property
    def identifies_rows(self) -> bool:
        """Whether updates and deletes can be applied by key."""
        return self.full or bool(self.key_columns)


def read_identity(conn: psycopg.Connection[Any], schema: str, table: str) -> TableIdentity:
    """Read a source table's replica identity from ``pg_class`` and ``pg_index``.

    ``REPLICA IDENTITY DEFAULT`` uses the primary key; ``USING INDEX`` that index; ``FULL`` the
    whole row; ``NOTHING`` (or DEFAULT without a primary key) identifies no row.
    """
    rel = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table)).as_string(conn)
    row = conn.execute("SELECT relreplident FROM pg_class WHERE oid = %s::regclass", [rel]).fetchone()
    if row is None:
        raise LookupError(f"Source table {schema}.{table} does not exist")
    mode = row[0]
    columns = tuple(
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [rel],
        ).fetchall()
    )
    if mode == "n":
        return TableIdentity((), columns=columns)
    keys = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(n, o) ON true "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n "
        "WHERE i.indrelid = %s::regclass AND CASE WHEN %s THEN i.indisreplident ELSE i.indisprimary END "
        "ORDER BY k.o",
        [rel, mode == "i"],
    ).fetchall()
    return TableIdentity(tuple(r[0] for r in keys), full=mode == "f", columns=columns)

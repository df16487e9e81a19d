"""The change model both CDC readers produce and the one applier consumes.

The PostgreSQL reader (``test_decoding``) gives values in PostgreSQL's text form; the MySQL binlog
reader gives Python values already converted for the PostgreSQL target (the full load's own
conversion). The applier passes either as query parameters, so both land the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

RowKind = Literal["INSERT", "UPDATE", "DELETE"]
Table = tuple[str, str]


class ColumnValue(NamedTuple):
    """One column of a row image; ``value`` is None for NULL (a tuple: one is made per column
    of every change, and a named tuple is the cheapest immutable record to make)."""

    name: str
    type_name: str
    value: Any
    #: An UPDATE left this TOASTed value unchanged and the source did not send it.
    unchanged_toast: bool = False


@dataclass(frozen=True)
class RowChange:
    """An INSERT, UPDATE or DELETE of one row."""

    schema: str
    table: str
    kind: RowKind
    #: The new row (INSERT, UPDATE); None for DELETE.
    new: tuple[ColumnValue, ...] | None
    #: The old row's identity (UPDATE that changed the key, DELETE; the whole row for a source
    #: with full row images); None when the source sent none.
    old_key: tuple[ColumnValue, ...] | None = None

    @property
    def source_table(self) -> Table:
        return self.schema, self.table


@dataclass(frozen=True)
class Truncate:
    """A TRUNCATE of one or more tables."""

    tables: tuple[Table, ...]
    restart_seqs: bool = False
    cascade: bool = False


@dataclass(frozen=True)
class DdlChange:
    """Other DDL on a replicated table (ALTER, DROP, RENAME, CREATE): counted, not applied."""

    schema: str
    table: str
    statement: str

    @property
    def source_table(self) -> Table:
        return self.schema, self.table


Change = RowChange | Truncate | DdlChange


def tables_of(change: Change) -> tuple[Table, ...]:
    """The source tables a change touches."""
    return change.tables if isinstance(change, Truncate) else (change.source_table,)


class SourcePosition(Protocol):
    """Where a source transaction ends: a PostgreSQL LSN or a binlog ``file:pos``.

    ``sort_key`` orders positions of one source; ``str()`` is the form DMS prints
    (``0/16B3748``, ``mysql-bin-changelog.000024:373``).
    """

    @property
    def sort_key(self) -> tuple[int, int]: ...

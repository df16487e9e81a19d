"""The change model both CDC readers produce and the one applier consumes.

The PostgreSQL reader (``test_decoding``) gives values in PostgreSQL's text form; the MySQL binlog
reader gives Python values already converted for the PostgreSQL target (the full load's own
conversion). The applier passes either as query parameters, so both land the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


class RowLayout:
    """What row changes decoded alike share: the table, the kind, and the column names of the new
    row and of the old key (None where the change has none).

    One object stands for every change of that shape (the decoder hands the same one out), and it
    compares by identity: a cheap key for what is worked out once per shape.
    """

    __slots__ = ("source_table", "kind", "new_names", "old_names")

    def __init__(
        self,
        source_table: tuple[str, str],
        kind: RowKind,
        new_names: tuple[str, ...] | None,
        old_names: tuple[str, ...] | None,
    ) -> None:
        self.source_table = source_table
        self.kind: RowKind = kind
        self.new_names = new_names
        self.old_names = old_names


@dataclass(unsafe_hash=True, slots=True)
class RowChange:
    """An INSERT, UPDATE or DELETE of one row (treat as immutable: not frozen, because one is made
    per decoded change and a frozen dataclass costs several times more to make)."""

    schema: str
    table: str
    kind: RowKind
    #: The new row (INSERT, UPDATE); None for DELETE.
    new: tuple[ColumnValue, ...] | None
    #: The old row's identity (UPDATE that changed the key, DELETE; the whole row for a source
    #: with full row images); None when the source sent none.
    old_key: tuple[ColumnValue, ...] | None = None
    #: Set by a decoder that knows the change's shape (every value sent, none an unchanged TOAST
    #: value); not part of the change's value.
    layout: RowLayout | None = field(default=None, compare=False, repr=False)

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

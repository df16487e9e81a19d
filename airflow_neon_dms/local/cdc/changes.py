"""The change model both CDC readers produce and the one applier consumes.

The PostgreSQL reader (``test_decoding``) gives values in PostgreSQL's text form; the MySQL binlog
reader gives Python values already converted for the PostgreSQL target (the full load's own
conversion). The applier passes either as query parameters, so both land the same way.
"""

from __future__ import annotations

import functools
import itertools
import operator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

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
    """What row changes decoded alike share: the table, the kind, and the columns (names and
    types) of the new row and of the old key (None where the change has none).

    One object stands for every change of that shape (the decoder hands the same one out), and it
    compares by identity: a cheap key for what is worked out once per shape.
    """

    __slots__ = ("kind", "new_names", "new_types", "old_names", "old_types", "source_table")

    def __init__(
        self,
        source_table: tuple[str, str],
        kind: RowKind,
        new: tuple[tuple[str, ...], tuple[str, ...]] | None,
        old: tuple[tuple[str, ...], tuple[str, ...]] | None,
    ) -> None:
        self.source_table = source_table
        self.kind: RowKind = kind
        self.new_names: tuple[str, ...] | None = new[0] if new is not None else None
        self.new_types: tuple[str, ...] | None = new[1] if new is not None else None
        self.old_names: tuple[str, ...] | None = old[0] if old is not None else None
        self.old_types: tuple[str, ...] | None = old[1] if old is not None else None

    @property
    def split(self) -> int:
        """Where the new row's values start in a shaped change's ``values``."""
        return len(self.old_names) if self.old_names is not None else 0


#: Makes a ColumnValue from its four fields in one C call (the named tuple's own __new__ is
#: Python code).
_column_value = functools.partial(tuple.__new__, ColumnValue)
_UNBUILT: Any = object()


def _image(names: tuple[str, ...], types: Any, values: tuple[Any, ...]) -> tuple[ColumnValue, ...]:
    return tuple(map(_column_value, zip(names, types, values, itertools.repeat(False), strict=False)))


class RowChange:
    """An INSERT, UPDATE or DELETE of one row.

    A decoder that knows the change's shape gives its ``layout`` and its ``values`` (the old key's,
    then the new row's, in column order), and no row images: ``new`` and ``old_key`` are made
    from those when first asked for (most changes never are: the applier plans by layout).
    ``layout`` and ``values`` are not part of the change's value (equality, hash).
    """

    __slots__ = ("_new", "_old_key", "kind", "layout", "schema", "table", "values")

    def __init__(
        self,
        schema: str,
        table: str,
        kind: RowKind,
        new: tuple[ColumnValue, ...] | None,
        old_key: tuple[ColumnValue, ...] | None = None,
        layout: RowLayout | None = None,
        values: tuple[Any, ...] | None = None,
    ) -> None:
        self.schema = schema
        self.table = table
        self.kind: RowKind = kind
        self._new = new
        self._old_key = old_key
        self.layout = layout
        self.values = values

    @classmethod
    def shaped(cls, layout: RowLayout, values: tuple[Any, ...]) -> RowChange:
        """A change of a known layout: its row images are made from ``values`` when asked for."""
        table = layout.source_table
        return cls(table[0], table[1], layout.kind, _UNBUILT, _UNBUILT, layout, values)

    @property
    def new(self) -> tuple[ColumnValue, ...] | None:
        """The new row (INSERT, UPDATE); None for DELETE."""
        if self._new is _UNBUILT:
            self._build()
        return self._new

    @property
    def old_key(self) -> tuple[ColumnValue, ...] | None:
        """The old row's identity (UPDATE that changed the key, DELETE; the whole row for a source
        with full row images); None when the source sent none."""
        if self._old_key is _UNBUILT:
            self._build()
        return self._old_key

    def _build(self) -> None:
        layout, values = self.layout, self.values
        assert layout is not None and values is not None
        split, old_names, new_names = layout.split, layout.old_names, layout.new_names
        self._old_key = None if old_names is None else _image(old_names, layout.old_types, values[:split])
        self._new = None if new_names is None else _image(new_names, layout.new_types, values[split:])

    @property
    def source_table(self) -> Table:
        return self.schema, self.table

    def _key(self) -> tuple[Any, ...]:
        return (self.schema, self.table, self.kind, self.new, self.old_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RowChange):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"RowChange(schema={self.schema!r}, table={self.table!r}, kind={self.kind!r}, "
            f"new={self.new!r}, old_key={self.old_key!r})"
        )


@dataclass(frozen=True)
class Truncate:
    """A TRUNCATE of one or more tables."""

    tables: tuple[Table, ...]
    restart_seqs: bool = False
    cascade: bool = False
    #: Only row changes have a layout.
    layout: ClassVar[None] = None


@dataclass(frozen=True)
class DdlChange:
    """Other DDL on a replicated table (ALTER, DROP, RENAME, CREATE): counted, not applied."""

    schema: str
    table: str
    statement: str
    layout: ClassVar[None] = None

    @property
    def source_table(self) -> Table:
        return self.schema, self.table


Change = RowChange | Truncate | DdlChange


#: The layout of any change (None but for row changes a decoder shaped), for ``map``.
layout_of = operator.attrgetter("layout")


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

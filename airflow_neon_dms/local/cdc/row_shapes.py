"""Learned line shapes: parse a row change of a table in one regular-expression match.

The lines ``test_decoding`` writes for one table and kind differ only in their values: the table,
the kind, the ``old-key:``/``new-tuple:`` markers and every column's `` name[type]:`` repeat
unchanged. After the general parser (``test_decoding``) has read a line, ``learn`` turns it into
a *shape*: its literal text with each value replaced by a capturing group. The next line of that
table is then parsed by one ``fullmatch`` of the shape instead of a scan per column.

It gives exactly what the general parser gives. The literal parts are the text the general
parser's column pattern matched, so a line that repeats them splits at the same places; each value
group is the general parser's value pattern (the same alternatives in the same order, with the same
look-ahead) in an atomic group, so it commits to the value the general parser would take and
never backtracks into another split. A line no shape matches goes to the general parser, which
may learn a new shape from it. Values are decoded as the general parser decodes them.

Each learned shape carries a ``RowLayout`` (``changes``): every change parsed through it shares
that object, so the applier keeps one statement plan per layout.
"""

from __future__ import annotations

import re
import threading
from typing import NamedTuple

from airflow_neon_dms.local.cdc.changes import ColumnValue, RowChange, RowLayout

#: One value, as the general parser's column pattern takes it (quoted, bit string, bare token).
_VALUE = r"((?>'[^']*(?:''[^']*)*'(?= |$)|B'[^']*'(?= |$)|[^ ']+(?= |$)))"
#: Shapes kept per line prefix (the text before the first ``[``), most recently learned first.
SHAPES_PER_PREFIX = 8
#: Prefixes kept in all; past this, the cache starts again (a source with very many tables).
MAX_PREFIXES = 4096

_NULL = "null"
_TOAST = "unchanged-toast-datum"


_Heads = tuple[tuple[str, ...], tuple[str, ...]]


class Shape(NamedTuple):
    """One learned line shape."""

    pattern: re.Pattern[str]
    layout: RowLayout
    #: (names, types) of the old-key columns and of the new-tuple columns, in line order.
    old: _Heads | None
    new: _Heads | None


class ShapeCache:
    """The shapes learned so far, by line prefix (safe to share between threads)."""

    def __init__(self) -> None:
        self._shapes: dict[str, tuple[Shape, ...]] = {}
        self._lock = threading.Lock()

    def parse(self, line: str) -> RowChange | None:
        """The row change of ``line`` through a learned shape, or None when none matches."""
        shapes = self._shapes.get(line[: line.find("[")])
        if not shapes:
            return None
        for shape in shapes:
            match = shape.pattern.fullmatch(line)
            if match is not None:
                return _change(shape, match.groups())
        return None

    def learn(self, line: str, change: RowChange, value_spans: list[tuple[int, int]]) -> RowChange:
        """Remember the shape of ``line``, whose values sit at ``value_spans`` (in line order).

        Returns the change as the shape gives it (with its layout), or ``change`` when no shape
        was learned.
        """
        shape = _shape(line, change, value_spans)
        if shape is None:
            return change
        match = shape.pattern.fullmatch(line)
        shaped = _change(shape, match.groups()) if match is not None else None
        if shaped is None or shaped != change:
            return change  # not the general parser's result: never use it
        prefix = line[: line.find("[")]
        with self._lock:
            if len(self._shapes) >= MAX_PREFIXES:
                self._shapes.clear()
            known = self._shapes.get(prefix, ())
            self._shapes[prefix] = (shape, *known)[:SHAPES_PER_PREFIX]
        return shaped


def _heads(columns: tuple[ColumnValue, ...] | None) -> _Heads | None:
    if columns is None:
        return None
    return tuple(c.name for c in columns), tuple(c.type_name for c in columns)


def _shape(line: str, change: RowChange, spans: list[tuple[int, int]]) -> Shape | None:
    old, new = _heads(change.old_key), _heads(change.new)
    if len(spans) != len(old[0] if old else ()) + len(new[0] if new else ()) or "[" not in line:
        return None
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts.append(re.escape(line[at:start]))
        parts.append(_VALUE)
        at = end
    parts.append(re.escape(line[at:]))
    try:
        pattern = re.compile("".join(parts))
    except re.error:  # too many groups for one pattern
        return None
    layout = RowLayout((change.schema, change.table), change.kind, new, old)
    return Shape(pattern, layout, old, new)


def _value(text: str) -> str | None:
    if text[0] == "'":
        return text[1:-1].replace("''", "'")
    if text[0] == "B" and text[1:2] == "'":
        return text[2:-1]
    return None if text == _NULL else text


def _change(shape: Shape, values: tuple[str, ...]) -> RowChange:
    if _TOAST in values:
        # A change with an unsent TOAST value has columns the layout cannot plan for: no layout.
        return _with_toast(shape, values)
    return RowChange.shaped(shape.layout, tuple(map(_value, values)))


def _with_toast(shape: Shape, values: tuple[str, ...]) -> RowChange:
    def columns(heads: _Heads, texts: tuple[str, ...]) -> tuple[ColumnValue, ...]:
        return tuple(
            ColumnValue(name, type_name, None, True)
            if text == _TOAST
            else ColumnValue(name, type_name, _value(text))
            for name, type_name, text in zip(heads[0], heads[1], texts, strict=True)
        )

    split = len(shape.old[0]) if shape.old is not None else 0
    old_key = columns(shape.old, values[:split]) if shape.old is not None else None
    new_row = columns(shape.new, values[split:]) if shape.new is not None else None
    table = shape.layout.source_table
    return RowChange(table[0], table[1], shape.layout.kind, new_row, old_key)

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


class Shape(NamedTuple):
    """One learned line shape."""

    pattern: re.Pattern[str]
    layout: RowLayout
    #: (name, type) of each old-key column, then of each new-tuple column, in line order.
    old: tuple[tuple[str, str], ...] | None
    new: tuple[tuple[str, str], ...] | None


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


def _shape(line: str, change: RowChange, spans: list[tuple[int, int]]) -> Shape | None:
    old = tuple((c.name, c.type_name) for c in change.old_key) if change.old_key is not None else None
    new = tuple((c.name, c.type_name) for c in change.new) if change.new is not None else None
    if len(spans) != len(old or ()) + len(new or ()) or "[" not in line:
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
    layout = RowLayout(
        (change.schema, change.table),
        change.kind,
        tuple(name for name, _ in new) if new is not None else None,
        tuple(name for name, _ in old) if old is not None else None,
    )
    return Shape(pattern, layout, old, new)


def _value(text: str) -> str | None:
    if text[0] == "'":
        return text[1:-1].replace("''", "'")
    if text[0] == "B" and text[1:2] == "'":
        return text[2:-1]
    return None if text == _NULL else text


def _columns(heads: tuple[tuple[str, str], ...], values: tuple[str, ...]) -> tuple[ColumnValue, ...]:
    # tuple.__new__ skips the named tuple's own __new__: the same record, made faster.
    make, value = tuple.__new__, _value
    pairs = zip(heads, values, strict=True)
    return tuple([make(ColumnValue, (n, t, value(v), False)) for (n, t), v in pairs])


def _change(shape: Shape, values: tuple[str, ...]) -> RowChange:
    layout = shape.layout
    if _TOAST in values:
        # A change with an unsent TOAST value has columns the layout cannot plan for: no layout.
        return _with_toast(shape, values)
    old_key = new_row = None
    if shape.old is None:
        new_row = _columns(shape.new or (), values)
    else:
        split = len(shape.old)
        old_key = _columns(shape.old, values[:split])
        if shape.new is not None:
            new_row = _columns(shape.new, values[split:])
    table = layout.source_table
    return RowChange(table[0], table[1], layout.kind, new_row, old_key, layout)


def _with_toast(shape: Shape, values: tuple[str, ...]) -> RowChange:
    def column(name: str, type_name: str, text: str) -> ColumnValue:
        if text == _TOAST:
            return ColumnValue(name, type_name, None, True)
        return ColumnValue(name, type_name, _value(text))

    split = len(shape.old) if shape.old is not None else 0
    old_key = new_row = None
    if shape.old is not None:
        old_key = tuple(column(n, t, v) for (n, t), v in zip(shape.old, values[:split], strict=True))
    if shape.new is not None:
        new_row = tuple(column(n, t, v) for (n, t), v in zip(shape.new, values[split:], strict=True))
    table = shape.layout.source_table
    return RowChange(table[0], table[1], shape.layout.kind, new_row, old_key)

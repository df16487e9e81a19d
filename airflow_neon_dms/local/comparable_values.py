"""Values as validation compares them: equal exactly when the target's ``=`` says they are equal.

AWS DMS validation compares each source row with its target row by the columns' actual values
(LOB columns by checksum; AWS Database Blog, "Optimize data validation using AWS DMS
validation-only tasks"). The target here is PostgreSQL, so two values are the same when
PostgreSQL's ``=`` for the column's type says so (PostgreSQL docs, "Numeric Types"):

* float ``NaN`` equals ``NaN`` (PostgreSQL sorts NaN above every number and treats NaN values as
  equal, unlike IEEE 754 and Python), and so does numeric ``NaN``;
* ``-0.0`` equals ``0.0`` (float8 and numeric ``=``), and numeric ``1.50`` equals ``1.5``;
* ``'infinity'`` equals ``'infinity'`` for dates, timestamps and numbers;
* arrays, ranges and JSON compare element by element with the same rules.

Python's own ``==`` already matches for all but NaN (``nan != nan``, and ``hash(nan)`` differs
between float objects since Python 3.10), so :func:`comparable` replaces NaN with one marker and
turns containers into hashable tuples. Values Python's date and time types cannot hold
(``infinity``, years after 9999 or before 1, ``24:00:00``, huge intervals) make psycopg raise
``DataError`` ("timestamp too large (after year 10K)"); :func:`load_every_temporal_value`
keeps them as :class:`OutOfRange` with their PostgreSQL text instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import Cursor, abc
from psycopg.adapt import Loader
from psycopg.errors import DataError
from psycopg.pq import Format
from psycopg.types.range import Range

#: PostgreSQL date and time types whose values can lie outside Python's datetime types.
TEMPORAL_TYPES = ("date", "timestamp", "timestamptz", "time", "timetz", "interval")


class _NotANumber:
    """The one NaN of validation: equal to itself, unlike ``float('nan')`` (see module docs)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _NotANumber)

    def __hash__(self) -> int:
        return hash("NaN")

    def __repr__(self) -> str:
        return "NaN"


NAN = _NotANumber()


@dataclass(frozen=True)
class OutOfRange:
    """A date/time value Python cannot hold, kept as PostgreSQL's text for it (session TimeZone UTC)."""

    text: str


def comparable(value: Any) -> Hashable:
    """``value`` in a hashable form whose ``==`` is PostgreSQL's ``=`` for it (see module docs)."""
    if value is None or isinstance(value, str | int):
        return value  # bool is an int: true equals a MySQL tinyint(1) 1, as DMS maps it to boolean
    if isinstance(value, float):
        return NAN if value != value else value
    if isinstance(value, Decimal):
        return NAN if value.is_nan() else value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc)
    if isinstance(value, Range):
        if value.isempty:
            return ("empty range",)
        return ("range", comparable(value.lower), comparable(value.upper), value.bounds)
    if isinstance(value, Mapping):  # JSON object
        return ("object", tuple(sorted((str(k), _element(v)) for k, v in value.items())))
    if isinstance(value, Sequence):  # array, JSON array, multirange
        return ("array", tuple(_element(v) for v in value))
    return value


def _element(value: Any) -> Hashable:
    # Inside JSON a true is not the number 1 (jsonb 'true' <> '1'); keep the type apart.
    return ("bool", value) if isinstance(value, bool) else comparable(value)


def _lenient_loader(name: str, base: type[abc.Loader]) -> type[Loader]:
    class LenientLoader(Loader):
        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._inner = base(oid, context)

        def load(self, data: Any) -> Any:
            try:
                return self._inner.load(data)
            except DataError:
                return OutOfRange(bytes(data).decode())

    LenientLoader.__name__ = LenientLoader.__qualname__ = f"Lenient{name.title()}Loader"
    return LenientLoader


def load_every_temporal_value(cursor: Cursor[Any]) -> None:
    """Make ``cursor`` load out-of-range dates and times as :class:`OutOfRange` instead of failing.

    Applies to arrays and ranges of these types too (their loaders use the element's loader).
    Call it on both sides with the session TimeZone set alike (``SET LOCAL TimeZone = 'UTC'``), so
    equal timestamptz values have equal text.
    """
    adapters = cursor.adapters
    for name in TEMPORAL_TYPES:
        info = adapters.types.get(name)
        base = adapters.get_loader(info.oid, Format.TEXT) if info else None
        if info is not None and base is not None:
            adapters.register_loader(info.oid, _lenient_loader(name, base))

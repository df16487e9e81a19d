"""Parse the text the ``test_decoding`` output plugin writes for each decoded change.

The format, as PostgreSQL's ``contrib/test_decoding`` writes it (one line per call of the plugin):

- ``BEGIN 754`` and ``COMMIT 754 (at 2026-11-30 10:15:05.830613+00)`` (the xid with
  ``include-xids``, the commit time with ``include-timestamp``);
- ``table public.t: INSERT: id[integer]:1 name[text]:'a''b'``: the qualified table name with
  identifiers quoted as ``quote_identifier`` does, then each column as ``name[type]:value``;
- ``UPDATE:`` optionally starts with ``old-key:`` (the old replica identity: the key columns when
  the key changed, every non-null column under ``REPLICA IDENTITY FULL``) then ``new-tuple:``;
- ``DELETE:`` carries the old replica identity, or ``(no-tuple-data)`` when the table has none;
- ``table a, b: TRUNCATE: restart_seqs cascade`` (or ``(no-flags)``).

Values: ``null``; ``unchanged-toast-datum`` for a TOASTed value an UPDATE did not touch; integers,
floats, numerics and oids unquoted; booleans as ``true``/``false``; bit strings as ``B'0101'``;
everything else as a single-quoted literal with quotes doubled. A value keeps the PostgreSQL text
form, which the target parses back into the column's type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from airflow_neon_dms.local.cdc.changes import Change, ColumnValue, RowChange, Truncate
from airflow_neon_dms.local.cdc.errors import DecodingError
from airflow_neon_dms.local.cdc.lsn import parse_lsn
from airflow_neon_dms.local.cdc.row_shapes import ShapeCache

__all__ = ["Change", "ColumnValue", "RowChange", "SourceTransaction", "Truncate", "parse_line"]


@dataclass(frozen=True)
class Begin:
    """The start of a decoded transaction."""

    xid: int | None


@dataclass(frozen=True)
class Commit:
    """The end of a decoded transaction, with its commit time when the plugin sends it."""

    xid: int | None
    commit_time: datetime | None


@dataclass(frozen=True)
class Message:
    """A logical decoding message (``pg_logical_emit_message``); nothing to apply."""

    text: str


DecodedLine = Begin | Commit | RowChange | Truncate | Message


@dataclass(frozen=True)
class SourceTransaction:
    """One committed source transaction: its changes in order and where its commit ends."""

    xid: int | None
    #: The LSN the decoding output gives the COMMIT line: confirming it moves past this transaction.
    commit_lsn: int
    commit_time: datetime | None
    changes: tuple[Change, ...]


_BARE_IDENT = re.compile(r"[A-Za-z0-9_$\x80-\U0010ffff]+")
_UNQUOTED_VALUE = re.compile(r"[^ ]+")
_BEGIN = re.compile(r"^BEGIN(?: (\d+))?$")
_COMMIT = re.compile(r"^COMMIT(?: (\d+))?(?: \(at (.+)\))?$")
#: One `` name[type]:value`` column in its common forms (a bare or quoted name, a type without
#: quotes, a quoted, bit-string or bare value), matched in one step; anything else is scanned.
_COLUMN = re.compile(
    r' (?:([A-Za-z0-9_$\x80-\U0010ffff]+)|"([^"]*(?:""[^"]*)*)")\[([^"]*?)\]:'
    r"(?:'([^']*(?:''[^']*)*)'(?= |$)|B'([^']*)'(?= |$)|([^ ']+)(?= |$))"
)
_ROW_HEAD = re.compile(
    r"table ([A-Za-z0-9_$\x80-\U0010ffff]+)\.([A-Za-z0-9_$\x80-\U0010ffff]+):(?= (?:INSERT|UPDATE|DELETE):)"
)
_TIMESTAMP = re.compile(
    r"^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?"
    r"(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?$"
)


class _Scanner:
    """A cursor over one output line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        #: Where each value of the line sits, while every column matched ``_COLUMN`` (None after
        #: one that did not): what ``ShapeCache.learn`` needs.
        self.value_spans: list[tuple[int, int]] | None = []

    def fail(self, what: str) -> DecodingError:
        return DecodingError(
            f"Cannot parse test_decoding output at character {self.pos} ({what}): {self.text[:200]!r}"
        )

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def startswith(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def expect(self, token: str) -> None:
        if not self.startswith(token):
            raise self.fail(f"expected {token!r}")
        self.pos += len(token)

    def quoted(self, quote: str) -> str:
        """A ``quote``-delimited string with the quote doubled inside; the cursor is on the quote."""
        self.expect(quote)
        parts: list[str] = []
        while True:
            end = self.text.find(quote, self.pos)
            if end < 0:
                raise self.fail("unterminated quoted text")
            parts.append(self.text[self.pos : end])
            self.pos = end + 1
            if self.startswith(quote):  # a doubled quote stands for one quote
                parts.append(quote)
                self.pos += 1
                continue
            return "".join(parts)

    def identifier(self) -> str:
        if self.startswith('"'):
            return self.quoted('"')
        match = _BARE_IDENT.match(self.text, self.pos)
        if not match:
            raise self.fail("expected an identifier")
        self.pos = match.end()
        return match.group(0)

    def qualified_name(self) -> tuple[str, str]:
        schema = self.identifier()
        self.expect(".")
        return schema, self.identifier()

    def type_name(self) -> str:
        """The text between ``[`` and the ``]:`` that ends it (a type may hold ``[]`` or quotes)."""
        self.expect("[")
        start = self.pos
        in_quotes = False
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                in_quotes = not in_quotes  # a doubled quote toggles twice: still inside
            elif not in_quotes and char == "]" and self.text.startswith("]:", self.pos):
                name = self.text[start : self.pos]
                self.pos += 2
                return name
            self.pos += 1
        raise self.fail("unterminated column type")

    def value(self) -> tuple[str | None, bool]:
        """(text, unchanged_toast) of one column value."""
        if self.startswith("'"):
            return self.quoted("'"), False
        if self.startswith("B'"):
            self.pos += 1
            return self.quoted("'"), False
        match = _UNQUOTED_VALUE.match(self.text, self.pos)
        if not match:
            raise self.fail("expected a value")
        self.pos = match.end()
        token = match.group(0)
        if token == "null":
            return None, False
        if token == "unchanged-toast-datum":
            return None, True
        return token, False

    def tuple_(self) -> tuple[ColumnValue, ...] | None:
        """Columns up to the end of the line or `` new-tuple:``; None for ``(no-tuple-data)``."""
        if self.startswith(" (no-tuple-data)"):
            self.pos += len(" (no-tuple-data)")
            return None
        columns: list[ColumnValue] = []
        text, end, fast = self.text, len(self.text), _COLUMN.match
        while self.pos < end and not text.startswith(" new-tuple:", self.pos):
            match = fast(text, self.pos)
            if match is not None:
                columns.append(_column(match))
                if self.value_spans is not None:
                    self.value_spans.append((_value_start(match), match.end()))
                self.pos = match.end()
                continue
            self.value_spans = None
            self.expect(" ")
            name = self.identifier()
            type_name = self.type_name()
            value, unchanged = self.value()
            columns.append(ColumnValue(name, type_name, value, unchanged))
        return tuple(columns)


def _value_start(match: re.Match[str]) -> int:
    """Where the value of a ``_COLUMN`` match starts (its opening quote, or ``B'``)."""
    if match.group(4) is not None:
        return match.start(4) - 1
    if match.group(5) is not None:
        return match.start(5) - 2
    return match.start(6)


def _column(match: re.Match[str]) -> ColumnValue:
    """The ColumnValue of a ``_COLUMN`` match (the same result the scanner gives)."""
    bare, quoted_name, type_name, quoted, bits, token = match.groups()
    name = bare if bare is not None else quoted_name.replace('""', '"')
    if quoted is not None:
        return ColumnValue(name, type_name, quoted.replace("''", "'"))
    if bits is not None:
        return ColumnValue(name, type_name, bits)
    if token == "null":
        return ColumnValue(name, type_name, None)
    if token == "unchanged-toast-datum":
        return ColumnValue(name, type_name, None, True)
    return ColumnValue(name, type_name, token)


def parse_commit_time(text: str) -> datetime:
    """``2026-11-30 10:15:05.830613+00`` (``timestamptz_to_str``) -> an aware datetime."""
    match = _TIMESTAMP.match(text.strip())
    if not match:
        raise DecodingError(f"Cannot parse the commit time {text!r} of a test_decoding COMMIT line")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micro = int((match.group(7) or "0").ljust(6, "0"))
    offset = timedelta(0)
    if match.group(8):
        offset = timedelta(
            hours=int(match.group(9)),
            minutes=int(match.group(10) or 0),
            seconds=int(match.group(11) or 0),
        )
        if match.group(8) == "-":
            offset = -offset
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone(offset))


def _row_change(scanner: _Scanner, schema: str, table: str) -> RowChange:
    if scanner.startswith(" INSERT:"):
        scanner.pos += len(" INSERT:")
        return RowChange(schema, table, "INSERT", scanner.tuple_())
    if scanner.startswith(" UPDATE:"):
        scanner.pos += len(" UPDATE:")
        old_key = None
        if scanner.startswith(" old-key:"):
            scanner.pos += len(" old-key:")
            old_key = scanner.tuple_()
            scanner.expect(" new-tuple:")
        return RowChange(schema, table, "UPDATE", scanner.tuple_(), old_key)
    if scanner.startswith(" DELETE:"):
        scanner.pos += len(" DELETE:")
        return RowChange(schema, table, "DELETE", None, scanner.tuple_())
    raise scanner.fail("expected INSERT, UPDATE, DELETE or TRUNCATE")


def _truncate(scanner: _Scanner, tables: list[tuple[str, str]]) -> Truncate:
    flags = scanner.text[scanner.pos :].split()
    known = {"restart_seqs", "cascade", "(no-flags)"}
    if not flags or not set(flags) <= known:
        raise scanner.fail("unknown TRUNCATE flags")
    return Truncate(tuple(tables), "restart_seqs" in flags, "cascade" in flags)


def parse_line(data: str) -> DecodedLine:
    """Parse one ``data`` value of ``pg_logical_slot_peek_changes`` (plugin ``test_decoding``)."""
    if data.startswith("table "):
        return _table_line(data)
    if match := _BEGIN.match(data):
        return Begin(int(match.group(1)) if match.group(1) else None)
    if match := _COMMIT.match(data):
        when = parse_commit_time(match.group(2)) if match.group(2) else None
        return Commit(int(match.group(1)) if match.group(1) else None, when)
    if data.startswith("message:"):
        return Message(data)
    return _table_line(data)


#: Shapes learned from the lines parsed so far (``row_shapes``).
_SHAPES = ShapeCache()


def _table_line(data: str) -> RowChange | Truncate:
    known = _SHAPES.parse(data)
    if known is not None:  # a line of a shape seen before: one match
        return known
    return _general_table_line(data)


def _general_table_line(data: str) -> RowChange | Truncate:
    head = _ROW_HEAD.match(data)
    if head is not None:  # the common case: bare names, one table, a row change
        scanner = _Scanner(data)
        scanner.pos = head.end()
        change = _row_change(scanner, head.group(1), head.group(2))
        if not scanner.at_end():
            raise scanner.fail("unexpected text after the row")
        if scanner.value_spans is not None:
            return _SHAPES.learn(data, change, scanner.value_spans)
        return change
    scanner = _Scanner(data)
    scanner.expect("table ")
    tables = [scanner.qualified_name()]
    while scanner.startswith(", "):
        scanner.pos += 2
        tables.append(scanner.qualified_name())
    scanner.expect(":")
    if scanner.startswith(" TRUNCATE:"):
        scanner.pos += len(" TRUNCATE:")
        return _truncate(scanner, tables)
    if len(tables) != 1:
        raise scanner.fail("several tables outside a TRUNCATE")
    change = _row_change(scanner, *tables[0])
    if not scanner.at_end():
        raise scanner.fail("unexpected text after the row")
    if scanner.value_spans is not None and isinstance(change, RowChange):
        return _SHAPES.learn(data, change, scanner.value_spans)
    return change


def group_transactions(rows: Iterable[tuple[str, object, str]]) -> list[SourceTransaction]:
    """Whole transactions from ``(lsn, xid, data)`` rows, in commit order.

    A transaction whose COMMIT is not among the rows (the read stopped inside it) is left out:
    it is read again, whole, next time.
    """
    return list(iter_transactions(rows))


def iter_transactions(rows: Iterable[tuple[str | int, object, str]]) -> Iterator[SourceTransaction]:
    """``group_transactions`` one transaction at a time, each parsed when it is asked for (an LSN
    as text, or as a number from the streaming protocol)."""
    open_xid: int | None = None
    changes: list[Change] | None = None
    for lsn, _xid, data in rows:
        line = parse_line(data)
        if type(line) is RowChange and changes is not None:  # the common case first
            changes.append(line)
        elif isinstance(line, Begin):
            open_xid, changes = line.xid, []
        elif isinstance(line, Commit):
            if changes is None:
                raise DecodingError(f"COMMIT {line.xid} without a BEGIN in the decoding output")
            commit_lsn = lsn if isinstance(lsn, int) else parse_lsn(lsn)
            yield SourceTransaction(open_xid, commit_lsn, line.commit_time, tuple(changes))
            changes = None
        elif isinstance(line, RowChange | Truncate):
            if changes is None:
                raise DecodingError(f"A change outside a transaction in the decoding output: {data[:200]!r}")
            changes.append(line)

"""Consecutive changes of one shape, applied as one set-based statement where that is exact.

The applier (``apply.ChangeApplier``) turns every change into a one-row statement and its
parameters. Consecutive statements with the same SQL text form a *run*. Some runs can go out as a
few multi-row statements instead of one statement a row, with the same result as applying them
one by one, in order:

- INSERTs of the same columns: ``INSERT INTO t (a, b) VALUES (..), (..)``. Each row is checked
  (constraints, triggers) as it would be alone, and PostgreSQL coerces the VALUES of an INSERT to
  the target columns' types (SQL reference, "VALUES"), as for a one-row INSERT.
- DELETEs by key: ``DELETE FROM t USING (VALUES (..), (..)) v WHERE t.k = v.c0``. Deleting a
  key twice leaves the same table as deleting it once (the second would match nothing).
- UPDATEs by key that keep the key: ``UPDATE t SET a = v.c1 FROM (VALUES (..)) v WHERE t.k =
  v.c0``. An UPDATE ... FROM applies one source row per target row, picked unpredictably when
  several match (SQL reference, "UPDATE"), so a run holds each key once: a second update of the
  same key starts a new run. An UPDATE that changes its key is applied alone (in order).

Rows of an UPDATE or DELETE are matched by ``=`` on every key column. A NULL in the key, or a key
column without an equality operator (compared as text), keeps the one-row statement. The VALUES
of an UPDATE or DELETE are cast to the target column's type without its modifier; ``character``
and ``bit`` without a modifier mean length 1 (an explicit cast would cut the value silently), so
columns of those types keep the one-row statement too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: Rows in one multi-row statement (and never more than MAX_PARAMETERS parameters).
BULK_ROWS = 1000
#: The extended query protocol counts parameters in 16 bits.
MAX_PARAMETERS = 65_535
#: Types whose name without a modifier means a length of 1 (an explicit cast truncates to it).
UNSAFE_CASTS = frozenset({"character", "bit", "character[]", "bit[]"})


@dataclass(frozen=True)
class BulkShape:
    """A multi-row statement: ``head``, then one ``(...)`` per row, comma-separated, then ``tail``.

    ``casts`` holds each parameter's cast (``b"::integer"``, or ``b""``). The statement uses the
    server's own ``$n`` placeholders (run through a ``psycopg.RawCursor``): converting thousands
    of ``%s`` placeholders costs more than the statement itself.
    """

    head: bytes
    casts: tuple[bytes, ...]
    tail: bytes
    _texts: dict[int, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def width(self) -> int:
        """Parameters of one row."""
        return len(self.casts)

    def rows_per_statement(self) -> int:
        return max(1, min(BULK_ROWS, MAX_PARAMETERS // max(self.width, 1)))

    def query(self, rows: int) -> bytes:
        text = self._texts.get(rows)
        if text is None:
            width = self.width
            values = b", ".join(
                b"("
                + b", ".join(b"$%d%s" % (r * width + i + 1, cast) for i, cast in enumerate(self.casts))
                + b")"
                for r in range(rows)
            )
            text = self._texts[rows] = self.head + values + self.tail
        return text


class Statement(NamedTuple):
    """One change as a one-row statement, and, when it may join a multi-row one, how."""

    query: bytes
    params: list[Any] | None
    #: The multi-row form and this row's parameters in it; None when the change goes alone.
    bulk: BulkShape | None = None
    bulk_params: list[Any] | None = None
    #: An UPDATE's key values: a run holds each key once.
    row_key: tuple[Any, ...] | None = None


@dataclass
class Run:
    """Consecutive statements of one SQL text, applied together."""

    query: bytes
    bulk: BulkShape | None
    params: list[list[Any]] = field(default_factory=list)
    bulk_params: list[list[Any]] = field(default_factory=list)
    keys: set[tuple[Any, ...]] = field(default_factory=set)
    #: How many changes the run applies.
    count: int = 0
    #: How many it may hold: one multi-row statement's worth, or BULK_ROWS for an executemany.
    limit: int = BULK_ROWS

    def __post_init__(self) -> None:
        if self.bulk is not None:
            self.limit = self.bulk.rows_per_statement()

    def takes(self, statement: Statement) -> bool:
        """Whether the statement joins this run (same text, room left, a key not in it yet)."""
        if statement.query != self.query or (statement.bulk is None) != (self.bulk is None):
            return False
        if self.count >= self.limit:
            return False  # full: sent now, so the target works while the next run is made
        return statement.row_key is None or statement.row_key not in self.keys

    def add(self, statement: Statement) -> None:
        self.count += 1
        if statement.params is not None:
            self.params.append(statement.params)
        if statement.bulk_params is not None:
            self.bulk_params.append(statement.bulk_params)
        if statement.row_key is not None:
            self.keys.add(statement.row_key)

    def statements(self) -> list[tuple[bytes, list[Any] | None]]:
        """The multi-row statements (with flat parameters) of a bulk run."""
        assert self.bulk is not None
        size = self.bulk.rows_per_statement()
        out: list[tuple[bytes, list[Any] | None]] = []
        for start in range(0, len(self.bulk_params), size):
            rows = self.bulk_params[start : start + size]
            out.append((self.bulk.query(len(rows)), [value for row in rows for value in row]))
        return out

"""What a diff is asked to do and what it found: options, table specs and per-table results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class DiffOptions:
    """Tuning of the range walk. The defaults suit tables from a few rows to billions."""

    #: Rows per bucket in the first pass over the whole table (small buckets keep the second pass
    #: short; a GROUP BY of thousands of buckets costs next to nothing).
    first_pass_rows: int = 256
    #: Rows per bucket when a differing bucket is split again.
    leaf_rows: int = 64
    #: A differing range with at most this many rows on each side is fetched and compared by row.
    fetch_limit: int = 256
    #: Most buckets in one pass (integer keys), in the first cut of other keys (each boundary is a
    #: query parameter) and in their later cuts.
    max_parts: int = 16384
    max_parts_first_generic: int = 1024
    max_parts_generic: int = 64
    #: Integer keys: most differing ranges split in one query, and most ranges / rows per fetch query.
    split_batch: int = 256
    fetch_batch_ranges: int = 128
    fetch_batch_rows: int = 8192
    #: Most keys listed per category in the result; the counts stay exact beyond it.
    max_keys: int = 1000
    #: PostgreSQL -> PostgreSQL row hash: ``auto`` uses ``record`` when both servers are 14+.
    native_hash: Literal["auto", "record", "text"] = "auto"


@dataclass(frozen=True)
class TableSpec:
    """One table to compare: its source name, its Neon name and optionally the key columns."""

    schema: str
    table: str
    target_schema: str | None = None
    target_table: str | None = None
    key_columns: tuple[str, ...] = ()
    #: Columns left out of the comparison on both sides (named in the result's ``ignored_columns``).
    ignore_columns: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def target_name(self) -> tuple[str, str]:
        return (self.target_schema or self.schema, self.target_table or self.table)


#: How rows were matched: by a unique ``key``, or as a ``multiset`` of full rows (no key).
ComparedAs = Literal["key", "multiset"]


@dataclass
class TableDiff:
    """What the comparison of one table found. Key lists are capped; counts are exact.

    A column on one side only makes the table differ (``only_in_source_columns`` /
    ``only_in_target_columns``) unless it is named in ``ignored_columns``.

    A table compared as a multiset (no key) lists whole rows (values in ``compared_columns``
    order) instead of keys, once per missing copy; a changed row shows as one row missing on each
    side, so ``different`` stays empty.
    """

    schema: str
    table: str
    target_schema: str
    target_table: str
    key_columns: list[str]
    compared_columns: list[str]
    only_in_source_columns: list[str] = field(default_factory=list)
    only_in_target_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    compared_as: ComparedAs = "key"
    rows_source: int = 0
    rows_target: int = 0
    missing_in_target_count: int = 0
    missing_in_source_count: int = 0
    different_count: int = 0
    missing_in_target: list[list[Any]] = field(default_factory=list)
    missing_in_source: list[list[Any]] = field(default_factory=list)
    different: list[list[Any]] = field(default_factory=list)
    keys_truncated: bool = False
    ranges_compared: int = 0
    rows_fetched: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def rows_match(self) -> bool:
        """No row missing on either side and no row different."""
        return not (self.missing_in_target_count or self.missing_in_source_count or self.different_count)

    @property
    def columns_match(self) -> bool:
        """Every column not ignored is on both sides."""
        return not (self.only_in_source_columns or self.only_in_target_columns)

    @property
    def identical(self) -> bool:
        return self.error is None and self.rows_match and self.columns_match

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no connection details)."""
        out = {k: v for k, v in self.__dict__.items()}
        out["identical"] = self.identical
        out["seconds"] = round(self.seconds, 3)
        return out

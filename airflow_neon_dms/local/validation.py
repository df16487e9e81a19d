"""Row-by-row validation of a loaded table by primary key, as DMS data validation does.

Both sides are streamed; values are compared with the target's (PostgreSQL's) ``=`` semantics
through :func:`~airflow_neon_dms.local.comparable_values.comparable` (NaN equals NaN, -0.0 equals
0.0, ``infinity`` equals ``infinity``, arrays, ranges and JSON element by element). The target
side is kept in memory as primary key -> row values and compared exactly (no hash digests, which
can collide: ``hash(-1) == hash(-2)`` in CPython), so memory grows with the table (fine for a
local tool, not for a billion rows).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import psycopg

from airflow_neon_dms.local.comparable_values import comparable
from airflow_neon_dms.local.postgres_source import pg_rows
from airflow_neon_dms.local.sources import SourceReader, TableShape


@dataclass(frozen=True)
class ValidationResult:
    """ValidationState and counts for DescribeTableStatistics."""

    state: str
    failed_records: int = 0
    details: str = ""


def _comparable_row(row: tuple[Any, ...]) -> tuple[Hashable, ...]:
    return tuple(comparable(v) for v in row)


def validate_table(
    source: SourceReader, target: psycopg.Connection[Any], shape: TableShape
) -> ValidationResult:
    """Compare every row of the source table with the target table by primary key."""
    if not shape.primary_key:
        return ValidationResult("No primary key", details="The table has no primary key.")
    key_len = len(shape.primary_key)
    others = [c for c in shape.column_names if c not in shape.primary_key]
    columns = [*shape.primary_key, *others]
    target_rows: dict[tuple[Hashable, ...], tuple[Hashable, ...]] = {}
    for row in pg_rows(target, *shape.target, columns):
        values = _comparable_row(row)
        target_rows[values[:key_len]] = values[key_len:]
    failed = 0
    missing = object()
    for row in source.rows(shape, columns):
        values = _comparable_row(row)
        if target_rows.pop(values[:key_len], missing) != values[key_len:]:
            failed += 1
    failed += len(target_rows)  # rows only in the target
    if failed:
        return ValidationResult(
            "Mismatched records",
            failed,
            f"{failed} record(s) differ between source and target.",
        )
    return ValidationResult("Validated")

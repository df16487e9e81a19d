"""Row-by-row validation of a loaded table by primary key, as DMS data validation does.

Both sides are streamed; the target side is kept as primary key -> row digest, so memory grows
with the table's row count (fine for a local tool, not for a billion rows).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from airflow_neon_dms.local.postgres_source import pg_rows
from airflow_neon_dms.local.sources import SourceReader, TableShape


@dataclass(frozen=True)
class ValidationResult:
    """ValidationState and counts for DescribeTableStatistics."""

    state: str
    failed_records: int = 0
    details: str = ""


def _comparable(value: Any) -> Any:
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, Decimal):
        return value.normalize() if value.is_finite() else str(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc)
    return value


def _digest(row: tuple[Any, ...]) -> int:
    return hash(tuple(_comparable(v) for v in row))


def validate_table(
    source: SourceReader, target: psycopg.Connection[Any], shape: TableShape
) -> ValidationResult:
    """Compare every row of the source table with the target table by primary key."""
    if not shape.primary_key:
        return ValidationResult("No primary key", details="The table has no primary key.")
    key_len = len(shape.primary_key)
    others = [c for c in shape.column_names if c not in shape.primary_key]
    columns = [*shape.primary_key, *others]
    target_rows: dict[tuple[Any, ...], int] = {}
    for row in pg_rows(target, *shape.target, columns):
        key = tuple(_comparable(v) for v in row[:key_len])
        target_rows[key] = _digest(row[key_len:])
    failed = 0
    for row in source.rows(shape, columns):
        key = tuple(_comparable(v) for v in row[:key_len])
        digest = target_rows.pop(key, None)
        if digest is None or digest != _digest(row[key_len:]):
            failed += 1
    failed += len(target_rows)  # rows only in the target
    if failed:
        return ValidationResult(
            "Mismatched records",
            failed,
            f"{failed} record(s) differ between source and target.",
        )
    return ValidationResult("Validated")

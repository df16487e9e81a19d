"""Table references in and diff reports out: the shapes operators and the CLI exchange (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_neon_dms.diff.engine import TableDiff, TableSpec
from airflow_neon_dms.exceptions import NeonConfigError


def parse_table(value: str | Mapping[str, Any], key_columns: Sequence[str] = ()) -> TableSpec:
    """A TableSpec from ``"schema.table"`` or ``{"schema": ..., "table": ..., "target_schema": ...}``."""
    if isinstance(value, Mapping):
        if not value.get("schema") or not value.get("table"):
            raise NeonConfigError(f"Table reference {dict(value)!r} needs 'schema' and 'table' keys.")
        return TableSpec(
            schema=str(value["schema"]),
            table=str(value["table"]),
            target_schema=value.get("target_schema") or None,
            target_table=value.get("target_table") or None,
            key_columns=tuple(value.get("key_columns") or key_columns),
        )
    schema, dot, table = str(value).partition(".")
    if not dot or not schema or not table:
        raise NeonConfigError(
            f"Table {value!r} is not SCHEMA.TABLE. Name the table with its schema (MySQL: its database), "
            "e.g. public.orders."
        )
    return TableSpec(schema=schema, table=table, key_columns=tuple(key_columns))


def build_report(results: Iterable[TableDiff]) -> dict[str, Any]:
    """One report for many tables: what differs, what to reload, and whether it is complete."""
    tables = list(results)
    errors = [{"schema": t.schema, "table": t.table, "error": t.error} for t in tables if t.error]
    reload = [
        {
            "schema": t.schema,
            "table": t.table,
            "target_schema": t.target_schema,
            "target_table": t.target_table,
            "missing_in_target": t.missing_in_target_count,
            "missing_in_source": t.missing_in_source_count,
            "different": t.different_count,
        }
        for t in tables
        if t.error is None and not t.identical
    ]
    return {
        "complete": not errors,
        "identical": not errors and not reload,
        "tables_compared": sum(1 for t in tables if t.error is None),
        "rows_source": sum(t.rows_source for t in tables),
        "rows_target": sum(t.rows_target for t in tables),
        "tables_to_reload": reload,
        "errors": errors,
        "tables": [t.to_dict() for t in tables],
    }


def merge_reports(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine the reports of mapped diff tasks (one per table) into one report."""
    parts = list(reports)
    errors = [e for r in parts for e in r.get("errors", [])]
    reload = [t for r in parts for t in r.get("tables_to_reload", [])]
    return {
        "complete": not errors and all(r.get("complete", False) for r in parts),
        "identical": not errors and not reload and all(r.get("identical", False) for r in parts),
        "tables_compared": sum(int(r.get("tables_compared", 0)) for r in parts),
        "rows_source": sum(int(r.get("rows_source", 0)) for r in parts),
        "rows_target": sum(int(r.get("rows_target", 0)) for r in parts),
        "tables_to_reload": reload,
        "errors": errors,
        "tables": [t for r in parts for t in r.get("tables", [])],
    }

"""Table references in and diff reports out: the shapes operators and the CLI exchange (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_neon_dms.diff.engine import TableDiff, TableSpec
from airflow_neon_dms.exceptions import NeonConfigError


def parse_table(
    value: str | Mapping[str, Any], key_columns: Sequence[str] = (), ignore_columns: Sequence[str] = ()
) -> TableSpec:
    """A TableSpec from ``"schema.table"`` or ``{"schema": ..., "table": ..., "target_schema": ...}``.

    A dict's own ``key_columns`` / ``ignore_columns`` win over the ones given for every table.
    """
    if isinstance(value, Mapping):
        if not value.get("schema") or not value.get("table"):
            raise NeonConfigError(f"Table reference {dict(value)!r} needs 'schema' and 'table' keys.")
        return TableSpec(
            schema=str(value["schema"]),
            table=str(value["table"]),
            target_schema=value.get("target_schema") or None,
            target_table=value.get("target_table") or None,
            key_columns=tuple(value.get("key_columns") or key_columns),
            ignore_columns=tuple(value.get("ignore_columns") or ignore_columns),
        )
    schema, dot, table = str(value).partition(".")
    if not dot or not schema or not table:
        raise NeonConfigError(
            f"Table {value!r} is not SCHEMA.TABLE. Name the table with its schema (MySQL: its database), "
            "e.g. public.orders."
        )
    return TableSpec(
        schema=schema, table=table, key_columns=tuple(key_columns), ignore_columns=tuple(ignore_columns)
    )


def build_report(results: Iterable[TableDiff]) -> dict[str, Any]:
    """One report for many tables: what differs, what to reload, and whether it is complete.

    Rows that differ put a table in ``tables_to_reload``; a column on one side only (not ignored)
    puts it in ``column_differences``, which a reload cannot fix. Either makes ``identical`` false.
    """
    tables = list(results)
    errors = [{"schema": t.schema, "table": t.table, "error": t.error} for t in tables if t.error]
    compared = [t for t in tables if t.error is None]
    reload = [
        {
            **_names(t),
            "missing_in_target": t.missing_in_target_count,
            "missing_in_source": t.missing_in_source_count,
            "different": t.different_count,
        }
        for t in compared
        if not t.rows_match
    ]
    columns = [
        {
            **_names(t),
            "only_in_source_columns": t.only_in_source_columns,
            "only_in_target_columns": t.only_in_target_columns,
        }
        for t in compared
        if not t.columns_match
    ]
    return {
        "complete": not errors,
        "identical": not errors and not reload and not columns,
        "tables_compared": len(compared),
        "rows_source": sum(t.rows_source for t in tables),
        "rows_target": sum(t.rows_target for t in tables),
        "tables_to_reload": reload,
        "column_differences": columns,
        "errors": errors,
        "tables": [t.to_dict() for t in tables],
    }


def _names(t: TableDiff) -> dict[str, str]:
    return {
        "schema": t.schema,
        "table": t.table,
        "target_schema": t.target_schema,
        "target_table": t.target_table,
    }


def differences(report: Mapping[str, Any]) -> list[str]:
    """One line per table that differs, for a task's failure message (pure)."""
    lines = [f"{t['schema']}.{t['table']} differs" for t in report.get("tables_to_reload", [])]
    for t in report.get("column_differences", []):
        sides = [
            f"column(s) only on the {where}: {', '.join(t[field])}"
            for where, field in (
                ("source", "only_in_source_columns"),
                ("Neon target", "only_in_target_columns"),
            )
            if t[field]
        ]
        lines.append(
            f"{t['schema']}.{t['table']} has {'; '.join(sides)} (name them in ignore_columns to skip them)"
        )
    return lines


def merge_reports(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine the reports of mapped diff tasks (one per table) into one report."""
    parts = list(reports)
    errors = [e for r in parts for e in r.get("errors", [])]
    reload = [t for r in parts for t in r.get("tables_to_reload", [])]
    columns = [t for r in parts for t in r.get("column_differences", [])]
    return {
        "complete": not errors and all(r.get("complete", False) for r in parts),
        "identical": not errors
        and not reload
        and not columns
        and all(r.get("identical", False) for r in parts),
        "tables_compared": sum(int(r.get("tables_compared", 0)) for r in parts),
        "rows_source": sum(int(r.get("rows_source", 0)) for r in parts),
        "rows_target": sum(int(r.get("rows_target", 0)) for r in parts),
        "tables_to_reload": reload,
        "column_differences": columns,
        "errors": errors,
        "tables": [t for r in parts for t in r.get("tables", [])],
    }

"""Table references and report shapes exchanged by the diff operators (pure)."""

from __future__ import annotations

import json

import pytest

from airflow_neon_dms.diff.engine import TableDiff, TableSpec
from airflow_neon_dms.diff.report import build_report, merge_reports, parse_table
from airflow_neon_dms.exceptions import NeonConfigError


def _diff(table: str, **counts: int) -> TableDiff:
    return TableDiff(
        schema="shop",
        table=table,
        target_schema="public",
        target_table=table,
        key_columns=["id"],
        compared_columns=["id", "v"],
        rows_source=10,
        rows_target=10 - counts.get("missing_in_target_count", 0),
        **counts,  # type: ignore[arg-type]
    )


def test_parse_table_forms() -> None:
    assert parse_table("public.orders", ["id"]) == TableSpec("public", "orders", key_columns=("id",))
    assert parse_table({"schema": "shop", "table": "t", "target_schema": "public"}) == TableSpec(
        "shop", "t", target_schema="public"
    )
    with pytest.raises(NeonConfigError, match="is not SCHEMA.TABLE"):
        parse_table("orders")
    with pytest.raises(NeonConfigError, match="needs 'schema' and 'table'"):
        parse_table({"table": "t"})


def test_report_lists_tables_to_reload_with_source_names() -> None:
    failed = TableDiff("shop", "gone", "public", "gone", [], [], error="Table shop.gone has no Neon copy")
    report = build_report([_diff("a"), _diff("b", missing_in_target_count=2, different_count=1), failed])
    assert report["complete"] is False and report["identical"] is False
    assert report["tables_to_reload"] == [
        {
            "schema": "shop",
            "table": "b",
            "target_schema": "public",
            "target_table": "b",
            "missing_in_target": 2,
            "missing_in_source": 0,
            "different": 1,
        }
    ]
    assert report["errors"] == [
        {"schema": "shop", "table": "gone", "error": "Table shop.gone has no Neon copy"}
    ]
    assert report["tables_compared"] == 2
    json.dumps(report)  # XCom-ready


def test_keyless_table_in_report_says_multiset_and_is_reloaded() -> None:
    keyless = TableDiff(
        "shop",
        "views",
        "shop",
        "views",
        [],
        ["path", "n"],
        compared_as="multiset",
        rows_source=3,
        rows_target=2,
        missing_in_target_count=1,
        missing_in_target=[["/a", 1]],
    )
    report = build_report([keyless, _diff("a")])
    assert [t["compared_as"] for t in report["tables"]] == ["multiset", "key"]
    assert report["tables_to_reload"] == [
        {
            "schema": "shop",
            "table": "views",
            "target_schema": "shop",
            "target_table": "views",
            "missing_in_target": 1,
            "missing_in_source": 0,
            "different": 0,
        }
    ]


def test_merge_of_mapped_reports() -> None:
    one = build_report([_diff("a")])
    two = build_report([_diff("b", different_count=3)])
    merged = merge_reports([one, two])
    assert merged["complete"] is True and merged["identical"] is False
    assert [t["table"] for t in merged["tables_to_reload"]] == ["b"]
    assert merged["tables_compared"] == 2
    assert merge_reports([one, build_report([_diff("c")])])["identical"] is True

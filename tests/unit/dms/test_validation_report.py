"""Per-table validation report."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.dms.validation_report import ValidationReport


def _stats(table: str, table_state: str, validation: str, **extra: Any) -> dict[str, Any]:
    return {
        "SchemaName": "public",
        "TableName": table,
        "TableState": table_state,
        "ValidationState": validation,
        **extra,
    }


ROWS = [
    _stats("orders", "Table completed", "Validated", FullLoadRows=1200),
    _stats("items", "Table completed", "Mismatched records", FullLoadRows=50, ValidationFailedRecords=3),
    _stats("log", "Table completed", "No primary key", FullLoadRows=9),
    _stats("broken", "Table error", "Table error"),
    _stats("held", "Table completed", "Suspended records", ValidationSuspendedRecords=2),
]


def test_failed_lists_exactly_the_failed_tables() -> None:
    report = ValidationReport.from_statistics(ROWS)
    assert report.failed_tables() == [
        {"schema": "public", "table": "broken"},
        {"schema": "public", "table": "held"},
        {"schema": "public", "table": "items"},
    ]


def test_no_primary_key_is_reported_not_passed() -> None:
    xcom = ValidationReport.from_statistics(ROWS).to_xcom()
    assert xcom["no_primary_key"] == [{"schema": "public", "table": "log"}]
    assert xcom["summary"] == {"tables": 5, "rows": 1259, "failed": 3, "validated": 1, "unchecked": 1}
    by_name = {t["table"]: t for t in xcom["tables"]}
    assert by_name["items"]["failed_records"] == 3
    assert by_name["log"]["failure"] is None


def test_render_is_a_readable_table() -> None:
    text = ValidationReport.from_statistics(ROWS).render()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["schema", "table", "rows"]
    assert any("items" in line and "Mismatched records" in line and "FAILED" in line for line in lines)
    assert any("log" in line and "unchecked" in line for line in lines)


def test_failure_message_names_tables_reasons_and_fix() -> None:
    message = ValidationReport.from_statistics(ROWS).failure_message("orders-task")
    assert "3 table(s)" in message
    assert "public.items (Mismatched records)" in message
    assert "public.broken (Table error)" in message
    assert "failed_tables" in message

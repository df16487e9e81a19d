"""The migration's closing report: DMS's word, the reloads, and the independent diff, per table.

Pure functions over the XCom values of the validation, reload, data-diff and sequence-sync steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tabulate import tabulate


def _name(item: Mapping[str, Any]) -> str:
    return f"{item.get('schema')}.{item.get('table')}"


def build_report(
    *,
    validation: Mapping[str, Any] | None,
    reload: Mapping[str, Any] | None,
    diff: Mapping[str, Any] | None,
    sequences: Mapping[str, Any] | None,
    assessment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One row per table plus totals; ``verified`` only when the diff compared every table."""
    rows: dict[str, dict[str, Any]] = {}
    for item in (validation or {}).get("tables", []):
        rows.setdefault(_name(item), {}).update(
            dms_rows=item.get("rows"),
            table_state=item.get("table_state"),
            validation_state=item.get("validation_state"),
        )
    reloaded = [_name(t) for t in (reload or {}).get("tables", [])]
    for name in reloaded:
        rows.setdefault(name, {})["reloaded"] = True
    reload_report = (reload or {}).get("report") or {}
    for item in reload_report.get("tables", []):
        if _name(item) in reloaded:
            rows[_name(item)]["validation_after_reload"] = item.get("validation_state")
    for item in (diff or {}).get("tables", []):
        rows.setdefault(_name(item), {}).update(
            source_rows=item.get("rows_source"),
            neon_rows=item.get("rows_target"),
            identical=item.get("error") is None
            and not (
                item.get("missing_in_target_count")
                or item.get("missing_in_source_count")
                or item.get("different_count")
            ),
            diff_error=item.get("error"),
            compared_as=item.get("compared_as"),
        )
    diff_ok = bool(diff and diff.get("complete") and diff.get("identical"))
    return {
        "verified": diff_ok,
        "tables": [{"table": name, **values} for name, values in sorted(rows.items())],
        "reloaded_tables": reloaded,
        "rows_source": (diff or {}).get("rows_source"),
        "rows_neon": (diff or {}).get("rows_target"),
        "sequences_changed": (sequences or {}).get("changed", 0),
        "premigration_assessment": dict(assessment) if assessment else None,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a text table for the task log."""
    body = [
        [
            row["table"],
            row.get("source_rows", ""),
            row.get("neon_rows", ""),
            " -> ".join(
                str(state)
                for state in (row.get("validation_state"), row.get("validation_after_reload"))
                if state
            ),
            "yes" if row.get("reloaded") else "",
            {True: "identical", False: "DIFFERENT"}.get(row.get("identical"), "not compared")
            + (" (as a multiset: no key)" if row.get("compared_as") == "multiset" else ""),
        ]
        for row in report.get("tables", [])
    ]
    table = tabulate(
        body, headers=["table", "source rows", "Neon rows", "DMS validation", "reloaded", "data diff"]
    )
    verdict = (
        "Every migrated table is identical on the source and on Neon."
        if report.get("verified")
        else "NOT verified: see the data diff."
    )
    sequences = f"Sequences moved: {report.get('sequences_changed', 0)}."
    return f"{table}\n\n{verdict} {sequences}{_assessment_line(report)}"


def _assessment_line(report: Mapping[str, Any]) -> str:
    assessment = report.get("premigration_assessment")
    if not assessment:
        return "\nPremigration assessment: not run."
    failed = assessment.get("failed") or []
    detail = f", failed: {', '.join(failed)}" if failed else ""
    return (
        f"\nPremigration assessment: {assessment.get('status')}{detail} "
        f"(results in {assessment.get('result_location')})."
    )

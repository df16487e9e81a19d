"""Per-table validation report from DMS table statistics (pure, no Airflow import)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from airflow_neon_dms.dms.states import VALIDATION_UNCHECKED, ValidationState, table_failure_reason
from airflow_neon_dms.dms.table_names import TableRef


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class TableResult:
    """One table's outcome, JSON-ready for XCom."""

    schema: str
    table: str
    rows: int
    table_state: str
    validation_state: str
    failed_records: int
    suspended_records: int
    pending_records: int
    failure: str | None

    @classmethod
    def from_statistics(cls, stats: Mapping[str, Any]) -> TableResult:
        return cls(
            schema=str(stats.get("SchemaName") or ""),
            table=str(stats.get("TableName") or ""),
            rows=_int(stats.get("FullLoadRows")) + _int(stats.get("Inserts")),
            table_state=str(stats.get("TableState") or ""),
            validation_state=str(stats.get("ValidationState") or ""),
            failed_records=_int(stats.get("ValidationFailedRecords")),
            suspended_records=_int(stats.get("ValidationSuspendedRecords")),
            pending_records=_int(stats.get("ValidationPendingRecords")),
            failure=table_failure_reason(stats),
        )

    @property
    def ref(self) -> TableRef:
        return TableRef(self.schema, self.table)


@dataclass(frozen=True)
class ValidationReport:
    """All tables of a task, with the failed and the unchecked ones picked out."""

    tables: tuple[TableResult, ...]

    @classmethod
    def from_statistics(cls, rows: Iterable[Mapping[str, Any]]) -> ValidationReport:
        results = sorted((TableResult.from_statistics(r) for r in rows), key=lambda t: (t.schema, t.table))
        return cls(tuple(results))

    @property
    def failed(self) -> list[TableResult]:
        return [t for t in self.tables if t.failure]

    @property
    def no_primary_key(self) -> list[TableResult]:
        return [t for t in self.tables if t.validation_state == ValidationState.NO_PRIMARY_KEY]

    @property
    def unchecked(self) -> list[TableResult]:
        return [t for t in self.tables if not t.failure and t.validation_state in VALIDATION_UNCHECKED]

    def failed_tables(self) -> list[dict[str, str]]:
        """The failed tables in the ``[{"schema", "table"}]`` form the reload operator takes."""
        return [t.ref.as_dict() for t in self.failed]

    def to_xcom(self) -> dict[str, Any]:
        return {
            "tables": [asdict(t) for t in self.tables],
            "failed_tables": self.failed_tables(),
            "no_primary_key": [t.ref.as_dict() for t in self.no_primary_key],
            "summary": {
                "tables": len(self.tables),
                "rows": sum(t.rows for t in self.tables),
                "failed": len(self.failed),
                "validated": sum(1 for t in self.tables if t.validation_state == ValidationState.VALIDATED),
                "unchecked": len(self.unchecked),
            },
        }

    def render(self) -> str:
        """The report as a fixed-width text table for the task log."""
        from tabulate import tabulate  # only when a report is printed, not when a DAG is parsed

        header = ["schema", "table", "rows", "table state", "validation", "failed", "suspended", "result"]
        body = [
            [
                t.schema,
                t.table,
                t.rows,
                t.table_state,
                t.validation_state,
                t.failed_records,
                t.suspended_records,
                "FAILED"
                if t.failure
                else ("unchecked" if t.validation_state in VALIDATION_UNCHECKED else "ok"),
            ]
            for t in self.tables
        ]
        return tabulate(body, headers=header, tablefmt="simple")

    def failure_message(self, task: str) -> str:
        listed = ", ".join(f"{t.ref} ({t.failure})" for t in self.failed)
        return (
            f"Replication task {task}: {len(self.failed)} table(s) failed validation or loading: "
            f"{listed}. Reload them with NeonDmsReloadTablesOperator (the list is in XCom key "
            "'failed_tables'), and check the task's CloudWatch log for the cause."
        )

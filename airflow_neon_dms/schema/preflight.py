"""Run the schema pre-flight: read both catalogs for the tables a mapping selects, compare them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_neon_dms.dms.mapping_match import MYSQL_SYSTEM_SCHEMAS, select_tables, target_name
from airflow_neon_dms.schema import catalog_mysql, catalog_postgres
from airflow_neon_dms.schema.compare import Problem, compare_table
from airflow_neon_dms.schema.model import Engine, TableInfo


@dataclass
class PreflightReport:
    """The pre-flight's findings; ``passed`` is False when any problem has severity error."""

    tables: list[dict[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")

    @property
    def passed(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "errors": self.errors,
            "warnings": self.warnings,
            "tables": self.tables,
            "problems": [p.to_dict() for p in self.problems],
        }

    def as_table(self) -> str:
        """The problems as a plain-text table for the task log."""
        if not self.problems:
            return f"Schema pre-flight: {len(self.tables)} table(s), no problems."
        rows = [("SEVERITY", "TABLE", "COLUMN", "CODE", "MESSAGE")]
        rows += [(p.severity.upper(), p.table, p.column or "-", p.code, p.message) for p in self.problems]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
        return "\n".join(lines)


def _reader(engine: Engine) -> Any:
    return catalog_postgres if engine == "postgresql" else catalog_mysql


def run_preflight(
    source_conn: Any,
    source_engine: Engine,
    target_conn: Any,
    table_mappings: Mapping[str, Any] | str,
    *,
    include_system_schemas: bool = False,
    migration_type: str = "full-load",
) -> PreflightReport:
    """Compare every table the mapping selects on the source with its Neon target table.

    With a ``migration_type`` that includes CDC, the source's readiness for change capture and
    the Neon triggers and foreign keys that act during apply join the report.
    """
    from airflow_neon_dms.schema.cdc_preflight import as_problems, cdc_findings, check_migration_type

    with_cdc = check_migration_type(migration_type)
    report = PreflightReport()
    available = _reader(source_engine).list_tables(source_conn)
    selected = select_tables(table_mappings, available)
    if source_engine == "mysql" and not include_system_schemas:
        system = [t for t in selected if t[0] in MYSQL_SYSTEM_SCHEMAS]
        if system:
            schemas = sorted({s for s, _ in system})
            report.problems.append(
                Problem(
                    "warning",
                    "*",
                    "mysql_system_schema",
                    f"The mapping also selects MySQL system databases {schemas} (a '%' schema matches "
                    "them in DMS too). Name the schema, or add an exclude rule for them; they are "
                    "left out of this check.",
                )
            )
            selected = [t for t in selected if t not in system]
    if not selected:
        report.problems.append(
            Problem(
                "error",
                "*",
                "nothing_selected",
                f"The table mapping selects none of the {len(available)} tables on the source. Check the "
                "schema-name and table-name patterns (names are case-sensitive).",
            )
        )
        return report
    for schema, table in selected:
        t_schema, t_table = target_name(table_mappings, schema, table)
        report.tables.append(
            {"schema": schema, "table": table, "target_schema": t_schema, "target_table": t_table}
        )
        source: TableInfo | None = _reader(source_engine).read_table(source_conn, schema, table)
        if source is None:  # dropped between listing and reading
            continue
        target = catalog_postgres.read_table(target_conn, t_schema, t_table)
        report.problems.extend(compare_table(source, target, f"{t_schema}.{t_table}"))
    if with_cdc:
        targets = [(t["target_schema"], t["target_table"]) for t in report.tables]
        findings = cdc_findings(source_conn, source_engine, target_conn, selected, targets)
        report.problems.extend(as_problems(findings, report.problems))
    return report

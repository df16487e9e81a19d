"""Compare a source table with its Neon target: one Problem per finding, each with the fix (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from airflow_neon_dms.schema.model import TableInfo
from airflow_neon_dms.schema.types import Severity, compare_types, type_shape


@dataclass(frozen=True)
class Problem:
    """One finding of the pre-flight: severity, where, a stable code and a message with the fix."""

    severity: Severity
    table: str
    code: str
    message: str
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_table(
    source: TableInfo, target: TableInfo | None, target_label: str | None = None
) -> list[Problem]:
    """Every problem that would make DMS fail, lose data, or leave the copy unverifiable."""
    label = source.qualified_name
    where = target_label or label
    if target is None:
        return [
            Problem(
                "error",
                label,
                "missing_table",
                f"Table {label} has no target table {where} on Neon. Create it before the task "
                "(TargetTablePrepMode DO_NOTHING keeps the schema you create).",
            )
        ]
    problems: list[Problem] = []
    target_by_lower: dict[str, list[str]] = {}
    for col in target.columns:
        target_by_lower.setdefault(col.name.lower(), []).append(col.name)
    for col in source.columns:
        other = target.column(col.name)
        if other is None:
            near = target_by_lower.get(col.name.lower(), [])
            if near:
                problems.append(
                    Problem(
                        "error",
                        label,
                        "column_name_case",
                        f"Column {col.name!r} is {near[0]!r} on Neon: the names differ only by case. DMS "
                        f'matches names exactly; rename the Neon column (ALTER TABLE ... RENAME "{near[0]}" '
                        f'TO "{col.name}") or add a transformation rule.',
                        col.name,
                    )
                )
            else:
                problems.append(
                    Problem(
                        "error",
                        label,
                        "missing_column",
                        f"Column {col.name!r} ({col.full_type}) is missing on Neon table {where}. Add it "
                        "with a compatible type, or remove it with a transformation rule.",
                        col.name,
                    )
                )
            continue
        verdict = compare_types(type_shape(col, source.engine), type_shape(other, target.engine))
        if verdict.severity:
            problems.append(
                Problem(
                    verdict.severity,
                    label,
                    "type_incompatible" if verdict.severity == "error" else "type_lossy",
                    f"Column {col.name!r}: {col.full_type} -> {other.full_type}: {verdict.reason}. "
                    "Change the Neon column type to match the source.",
                    col.name,
                )
            )
        if col.nullable and not other.nullable:
            problems.append(
                Problem(
                    "error",
                    label,
                    "nullability",
                    f"Column {col.name!r} allows NULL on the source but is NOT NULL on Neon: rows with NULL "
                    f'fail to load. Run ALTER TABLE ... ALTER COLUMN "{col.name}" DROP NOT NULL on Neon.',
                    col.name,
                )
            )
        elif not col.nullable and other.nullable:
            problems.append(
                Problem(
                    "warning",
                    label,
                    "nullability",
                    f"Column {col.name!r} is NOT NULL on the source but nullable on Neon. Add NOT NULL on "
                    "Neon after the load to keep the constraint.",
                    col.name,
                )
            )
    source_names = {c.name for c in source.columns}
    source_lower = {n.lower() for n in source_names}
    for other in target.columns:
        if other.name in source_names or other.name.lower() in source_lower:
            continue
        if not other.nullable and not other.has_default:
            problems.append(
                Problem(
                    "error",
                    label,
                    "extra_column",
                    f"Neon column {other.name!r} is NOT NULL without a default and has no source column: "
                    "every insert fails. Give it a default, make it nullable, or drop it.",
                    other.name,
                )
            )
        else:
            problems.append(
                Problem(
                    "warning",
                    label,
                    "extra_column",
                    f"Neon column {other.name!r} has no source column; it will hold its default.",
                    other.name,
                )
            )
    for side, info in (("source", source), ("Neon", target)):
        if not info.best_key():
            problems.append(
                Problem(
                    "warning",
                    label,
                    "no_key",
                    f"Table {info.qualified_name} has no primary key or NOT NULL unique key on the {side} "
                    "side: DMS validation cannot check it and the data diff cannot match rows. Add a "
                    "primary key.",
                )
            )
    for fk in target.foreign_keys:
        cols = ", ".join(f'"{c}"' for c in fk.columns)
        problems.append(
            Problem(
                "error",
                label,
                "target_foreign_key",
                f"Neon table {target.qualified_name} has foreign key {fk.name!r} ({cols}) -> "
                f"{fk.referenced_schema}.{fk.referenced_table}. DMS loads tables in no fixed order and "
                "Neon cannot SET session_replication_role = replica, so the load can fail. Drop it "
                f'before the load (ALTER TABLE ... DROP CONSTRAINT "{fk.name}") and add it back after.',
            )
        )
    return problems

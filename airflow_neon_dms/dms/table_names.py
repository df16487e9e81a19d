"""Table references as the operators pass them around: ``{"schema": s, "table": t}`` or ``"s.t"``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_neon_dms.exceptions import NeonConfigError


@dataclass(frozen=True, order=True)
class TableRef:
    """One table, by schema and name, as DMS table statistics name it."""

    schema: str
    table: str

    @classmethod
    def parse(cls, value: TableRef | Mapping[str, Any] | str) -> TableRef:
        """Accept a TableRef, a ``{"schema", "table"}`` dict or a ``"schema.table"`` string."""
        if isinstance(value, TableRef):
            return value
        if isinstance(value, Mapping):
            schema, table = value.get("schema"), value.get("table")
            if isinstance(schema, str) and isinstance(table, str) and schema and table:
                return cls(schema, table)
            raise NeonConfigError(
                f"Table {dict(value)!r} needs non-empty 'schema' and 'table' keys, "
                "e.g. {'schema': 'public', 'table': 'orders'}."
            )
        if isinstance(value, str):
            schema, dot, table = value.partition(".")
            if dot and schema and table:
                return cls(schema, table)
        raise NeonConfigError(
            f"Table {value!r} is not 'schema.table' or {{'schema': ..., 'table': ...}}; "
            "name each table with its schema, e.g. 'public.orders'."
        )

    @classmethod
    def from_statistics(cls, stats: Mapping[str, Any]) -> TableRef:
        """The table a DescribeTableStatistics entry is about."""
        return cls(str(stats.get("SchemaName") or ""), str(stats.get("TableName") or ""))

    def as_dict(self) -> dict[str, str]:
        return {"schema": self.schema, "table": self.table}

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


def parse_tables(values: Iterable[TableRef | Mapping[str, Any] | str] | None) -> list[TableRef]:
    """Parse a list of tables, dropping duplicates and keeping the first-seen order."""
    if values is None:
        return []
    if isinstance(values, (str, Mapping)):
        values = [values]
    seen: dict[TableRef, None] = {}
    for value in values:
        seen.setdefault(TableRef.parse(value), None)
    return list(seen)

"""The source tables a DMS table mapping selects, with the Neon names DMS writes them to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_neon_dms.dms.mapping_match import MYSQL_SYSTEM_SCHEMAS, select_tables, target_name
from airflow_neon_dms.schema import catalog_mysql, catalog_postgres


def selected_tables(
    source_conn: Any,
    engine: str,
    table_mappings: Mapping[str, Any] | str,
    *,
    include_system_schemas: bool = False,
) -> list[dict[str, str]]:
    """``[{"schema", "table", "target_schema", "target_table"}]`` for every selected source table.

    MySQL system databases (which a ``%`` schema also matches, as in DMS) are left out unless
    ``include_system_schemas``.
    """
    reader = catalog_postgres if engine == "postgresql" else catalog_mysql
    selected = select_tables(table_mappings, reader.list_tables(source_conn))
    if engine == "mysql" and not include_system_schemas:
        selected = [t for t in selected if t[0] not in MYSQL_SYSTEM_SCHEMAS]
    out = []
    for schema, table in selected:
        t_schema, t_table = target_name(table_mappings, schema, table)
        out.append({"schema": schema, "table": table, "target_schema": t_schema, "target_table": t_table})
    return out

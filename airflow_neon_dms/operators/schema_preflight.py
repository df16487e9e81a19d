"""Check, before the DMS task exists, that every table the mapping selects fits its Neon target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_neon_dms.exceptions import SchemaPreflightError


class NeonSchemaPreflightOperator(BaseOperator):
    """
    Compare source and Neon schemas for the tables a DMS table mapping selects.

    Reports missing tables, missing, extra or case-different columns, incompatible or lossy types
    (see the compatibility table in the docs), nullability differences, tables without a primary
    or unique key, and foreign keys on Neon tables. With a ``migration_type`` that captures changes
    (``cdc``, ``full-load-and-cdc``) it also checks the source's readiness (PostgreSQL wal_level,
    free replication slots and WAL senders, the replication privilege, REPLICA IDENTITY of keyless
    tables; MySQL binary log settings and retention) and Neon triggers and foreign keys that would
    act while changes apply; each finding names its fix. The report (``passed``, ``errors``,
    ``warnings``, ``tables``, ``problems``) is logged as a table and returned as the XCom.

    :param source_conn_id: Airflow connection of the source (postgres or mysql type).
    :param neon_conn_id: Airflow connection of the Neon database (neon type).
    :param table_mappings: The DMS table-mapping document (dict or JSON string).
    :param fail_on_warnings: Fail on warnings as well as errors.
    :param fail_on_errors: Fail when the report has errors (True); False only reports.
    :param include_system_schemas: Also check MySQL system databases a ``%`` schema selects.
    :param migration_type: The DMS MigrationType: ``full-load`` (default), ``cdc`` or
        ``full-load-and-cdc``.
    """

    template_fields: Sequence[str] = ("source_conn_id", "neon_conn_id", "table_mappings", "migration_type")
    template_fields_renderers = {"table_mappings": "json"}
    ui_color = "#e8f7e4"

    def __init__(
        self,
        *,
        source_conn_id: str,
        neon_conn_id: str,
        table_mappings: dict[str, Any] | str,
        fail_on_warnings: bool = False,
        fail_on_errors: bool = True,
        include_system_schemas: bool = False,
        migration_type: str = "full-load",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.neon_conn_id = neon_conn_id
        self.table_mappings = table_mappings
        self.fail_on_warnings = fail_on_warnings
        self.fail_on_errors = fail_on_errors
        self.include_system_schemas = include_system_schemas
        self.migration_type = migration_type

    def execute(self, context: Context) -> dict[str, Any]:
        # Drivers and catalogs load when the task runs, not when the DAG file is parsed.
        from airflow_neon_dms.operators.db_endpoints import neon_endpoint, source_endpoint
        from airflow_neon_dms.schema.cdc_preflight import check_migration_type
        from airflow_neon_dms.schema.preflight import run_preflight

        check_migration_type(self.migration_type)
        source = source_endpoint(self.source_conn_id)
        target = neon_endpoint(self.neon_conn_id)
        src_conn = source.open()
        try:
            tgt_conn = target.open()
            try:
                report = run_preflight(
                    src_conn,
                    source.engine,
                    tgt_conn,
                    self.table_mappings,
                    include_system_schemas=self.include_system_schemas,
                    migration_type=self.migration_type,
                )
            finally:
                tgt_conn.close()
        finally:
            src_conn.close()
        self.log.info("Schema pre-flight report:\n%s", report.as_table())
        result = report.to_dict()
        failing = (report.errors and self.fail_on_errors) or (report.warnings and self.fail_on_warnings)
        if failing:
            # A failing task returns nothing: the report goes to XCom under its own key first.
            context["ti"].xcom_push(key="report", value=result)
            raise SchemaPreflightError(
                f"Schema pre-flight found {report.errors} error(s) and {report.warnings} warning(s) in "
                f"{len(report.tables)} table(s); see the report above (XCom key 'report'). Fix what each "
                "problem names (the Neon schema, or the source's CDC settings), or set "
                "fail_on_warnings=False to accept warnings."
            )
        return result

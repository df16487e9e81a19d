"""Compare source tables with their Neon copies row by row, and list the tables to reload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context

from airflow_neon_dms.exceptions import DataDiffError, NeonConfigError

if TYPE_CHECKING:
    from airflow_neon_dms.diff.engine import TableSpec
    from airflow_neon_dms.diff.model import TableDiff
    from airflow_neon_dms.lineage import TableCopy

# The diff engine, the database drivers and the catalogs load inside execute(): a DAG file that
# uses these operators parses without them.


class NeonListMappedTablesOperator(BaseOperator):
    """
    List the source tables a DMS table mapping selects, for dynamic task mapping.

    Returns ``[{"schema", "table", "target_schema", "target_table"}, ...]``; feed it to
    ``NeonDataDiffOperator.partial(...).expand(table=list_task.output)``. Fails when the mapping
    selects nothing.

    :param source_conn_id: Airflow connection of the source (postgres or mysql type).
    :param table_mappings: The DMS table-mapping document (dict or JSON string).
    """

    template_fields: Sequence[str] = ("source_conn_id", "table_mappings")
    template_fields_renderers = {"table_mappings": "json"}

    def __init__(self, *, source_conn_id: str, table_mappings: dict[str, Any] | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.table_mappings = table_mappings

    def execute(self, context: Context) -> list[dict[str, str]]:
        from airflow_neon_dms.operators.db_endpoints import source_endpoint
        from airflow_neon_dms.schema.selection import selected_tables

        source = source_endpoint(self.source_conn_id)
        conn = source.open()
        try:
            tables = selected_tables(conn, source.engine, self.table_mappings)
        finally:
            conn.close()
        if not tables:
            raise NeonConfigError(
                f"The table mapping selects no table on source connection {self.source_conn_id!r}. Check "
                "the schema-name and table-name patterns (case-sensitive)."
            )
        self.log.info(
            "The mapping selects %d table(s): %s",
            len(tables),
            ", ".join(f"{t['schema']}.{t['table']}" for t in tables),
        )
        return tables


class NeonDataDiffOperator(BaseOperator):
    """
    Compare source tables with their Neon copies, computed from the data on both sides.

    Per key range both databases return a row count and a sum of 64-bit row hashes; only ranges
    that differ are split again and only small ranges are fetched. The XCom report lists, per
    table, the exact keys missing on Neon, missing on the source and different, and
    ``tables_to_reload`` (source and Neon names with counts) for a reload step. A table that could
    not be compared makes the task fail after the partial report (``complete: false``) is pushed.

    Give exactly one of ``table`` (one table; use it with ``.expand(table=...)``), ``tables`` or
    ``table_mappings``.

    :param source_conn_id: Airflow connection of the source (postgres or mysql type).
    :param neon_conn_id: Airflow connection of the Neon database (neon type).
    :param table: ``"schema.table"`` or a dict from ``NeonListMappedTablesOperator``.
    :param tables: Several such tables.
    :param table_mappings: The DMS table mapping; compares every table it selects.
    :param key_columns: Key columns to match rows by when a table has no primary key. Without
        them such a table is compared as a multiset of full rows (``compared_as: "multiset"``):
        duplicates count, and a changed row shows as one row missing on each side.
    :param ignore_columns: Columns left out of the comparison, on every table that has them. A
        column on one side only makes its table differ (``column_differences`` in the report)
        unless it is named here; each table's ``ignored_columns`` says which were left out.
    :param max_connections: Most database connections open at once (two per table in progress).
    :param fail_on_difference: Fail the task when a table differs, in rows or in columns (after
        pushing the report).
    :param max_keys: Most keys listed per category and table; counts stay exact.

    Each table found identical is reported in ``verified_assets`` by its Neon asset URI
    (``postgres://host:port/database/schema/table``) and, for every ``AssetAlias`` in
    ``outlets``, gets an asset event through that alias (see :mod:`airflow_neon_dms.assets`).
    """

    template_fields: Sequence[str] = (
        "source_conn_id",
        "neon_conn_id",
        "table",
        "tables",
        "table_mappings",
        "key_columns",
        "ignore_columns",
    )
    template_fields_renderers = {"table_mappings": "json", "tables": "json", "table": "json"}

    def __init__(
        self,
        *,
        source_conn_id: str,
        neon_conn_id: str,
        table: str | dict[str, Any] | None = None,
        tables: list[str | dict[str, Any]] | None = None,
        table_mappings: dict[str, Any] | str | None = None,
        key_columns: list[str] | None = None,
        ignore_columns: list[str] | None = None,
        max_connections: int = 4,
        fail_on_difference: bool = False,
        max_keys: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        given = [
            name
            for name, v in (("table", table), ("tables", tables), ("table_mappings", table_mappings))
            if v
        ]
        if len(given) != 1:
            raise NeonConfigError(
                f"Task {kwargs.get('task_id', '?')}: give exactly one of table, tables or table_mappings "
                f"(got {', '.join(given) or 'none'})."
            )
        if max_connections < 2:
            raise NeonConfigError("max_connections must be at least 2 (one source and one Neon connection).")
        self.source_conn_id = source_conn_id
        self.neon_conn_id = neon_conn_id
        self.table = table
        self.tables = tables
        self.table_mappings = table_mappings
        self.key_columns = key_columns
        self.ignore_columns = ignore_columns
        self.max_connections = max_connections
        self.fail_on_difference = fail_on_difference
        self.max_keys = max_keys
        self._lineage: list[TableCopy] = []

    def _specs(self, source: Any) -> list[TableSpec]:
        from airflow_neon_dms.diff.report import parse_table
        from airflow_neon_dms.schema.selection import selected_tables

        keys = tuple(self.key_columns or ())
        ignore = tuple(self.ignore_columns or ())
        if self.table:
            return [parse_table(self.table, keys, ignore)]
        if self.tables:
            return [parse_table(t, keys, ignore) for t in self.tables]
        assert self.table_mappings is not None
        conn = source.open()
        try:
            found = selected_tables(conn, source.engine, self.table_mappings)
        finally:
            conn.close()
        if not found:
            raise DataDiffError(
                f"The table mapping selects no table on source connection {self.source_conn_id!r}; nothing "
                "to compare. Check the mapping's patterns."
            )
        return [parse_table(t, keys, ignore) for t in found]

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.assets import announce_verified_tables, verified_table_uris
        from airflow_neon_dms.diff.engine import DiffOptions, diff_tables
        from airflow_neon_dms.diff.report import build_report, differences
        from airflow_neon_dms.operators.db_endpoints import neon_endpoint, source_endpoint

        source = source_endpoint(self.source_conn_id)
        target = neon_endpoint(self.neon_conn_id)
        specs = self._specs(source)
        self.log.info("Comparing %d table(s) with at most %d connections.", len(specs), self.max_connections)
        results = diff_tables(
            source,
            target,
            specs,
            max_connections=self.max_connections,
            options=DiffOptions(max_keys=self.max_keys),
        )
        report = build_report(results)
        self._lineage = _table_copies(source, target, results)
        verified = verified_table_uris(
            report["tables"],
            host=target.params["host"],
            port=target.params["port"],
            database=target.params["dbname"],
        )
        report["verified_assets"] = sorted(verified)
        for t in results:
            state = "ERROR" if t.error else ("identical" if t.identical else "DIFFERENT")
            self.log.info(
                "%s.%s: %s, compared %s (source %d rows, Neon %d rows; missing on Neon %d, missing on "
                "source %d, different %d%s)",
                t.schema,
                t.table,
                state,
                "as a multiset of full rows (no key)" if t.compared_as == "multiset" else "by key",
                t.rows_source,
                t.rows_target,
                t.missing_in_target_count,
                t.missing_in_source_count,
                t.different_count,
                _column_note(t.only_in_source_columns, t.only_in_target_columns, t.ignored_columns),
            )
        if report["errors"] or (self.fail_on_difference and not report["identical"]):
            # A failing task returns nothing: the report goes to XCom under its own key first.
            context["ti"].xcom_push(key="report", value=report)
            problems = [f"{e['schema']}.{e['table']}: {e['error']}" for e in report["errors"]]
            problems += differences(report)
            raise DataDiffError(
                "Data diff is not clean (the report in XCom says which tables): " + "; ".join(problems)
            )
        announce_verified_tables(context, self.outlets, verified)
        return report

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the compared source tables in, their Neon copies out, column by column."""
        from airflow_neon_dms.lineage import operator_lineage

        return operator_lineage(self._lineage)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """OpenLineage for a failed diff: the same tables (the listener adds the error message)."""
        return self.get_openlineage_facets_on_complete(task_instance)


def _table_copies(source: Any, target: Any, results: list[TableDiff]) -> list[TableCopy]:
    """Each compared table and its Neon copy, with the columns compared on both sides."""
    from airflow_neon_dms.lineage import Database, TableCopy

    where = [
        Database.from_engine(
            end.engine,
            str(end.params.get("host") or ""),
            end.params.get("port") or (3306 if end.engine == "mysql" else 5432),
            str(end.params.get("dbname") or end.params.get("database") or ""),
        )
        for end in (source, target)
    ]
    source_db, target_db = where
    if source_db is None or target_db is None:
        return []
    return [
        TableCopy(
            source_db,
            t.schema,
            t.table,
            target_db,
            t.target_schema,
            t.target_table,
            tuple(t.compared_columns),
        )
        for t in results
    ]


def _column_note(only_source: list[str], only_target: list[str], ignored: list[str]) -> str:
    """The log's note on columns: those on one side only, and those ignored."""
    parts = [
        f"; column(s) only on the {where}: {', '.join(names)}"
        for where, names in (("source", only_source), ("Neon target", only_target))
        if names
    ]
    if ignored:
        parts.append(f"; ignored: {', '.join(ignored)}")
    return "".join(parts)

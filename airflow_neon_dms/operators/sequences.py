"""After the full load, move every sequence owned by a migrated Neon column past the data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context

from airflow_neon_dms.exceptions import NeonConfigError

if TYPE_CHECKING:
    from airflow_neon_dms.sequences import TablePair


class NeonSequenceSyncOperator(BaseOperator):
    """
    Set each Neon sequence owned by a column of a migrated table to ``max(column) + 1``.

    When a source connection is given, the source's next value (PostgreSQL sequence or MySQL
    AUTO_INCREMENT) wins if larger. Sequences never move backwards, so retries change nothing.
    Returns ``{"changed": n, "sequences": [...]}``.

    :param neon_conn_id: Airflow connection of the Neon database.
    :param source_conn_id: Optional source connection (postgres or mysql type).
    :param table_mappings: DMS table mapping; the tables it selects on the source are synced.
    :param tables: Or explicit Neon tables: ``"schema.table"`` strings or dicts with ``schema`` and
        ``table`` (and ``target_schema``/``target_table`` when the names differ).
    """

    template_fields: Sequence[str] = ("neon_conn_id", "source_conn_id", "table_mappings", "tables")
    template_fields_renderers = {"table_mappings": "json", "tables": "json"}

    def __init__(
        self,
        *,
        neon_conn_id: str,
        source_conn_id: str | None = None,
        table_mappings: dict[str, Any] | str | None = None,
        tables: list[str | dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.neon_conn_id = neon_conn_id
        self.source_conn_id = source_conn_id
        self.table_mappings = table_mappings
        self.tables = tables

    def _pairs(self, source_conn: Any, source_engine: str | None) -> list[TablePair]:
        from airflow_neon_dms.diff.report import parse_table
        from airflow_neon_dms.schema.selection import selected_tables
        from airflow_neon_dms.sequences import TablePair

        if self.tables:
            specs = [parse_table(t) for t in self.tables]
            return [TablePair(s.schema, s.table, *s.target_name) for s in specs]
        if self.table_mappings is None or source_conn is None:
            raise NeonConfigError(
                f"Task {self.task_id}: pass tables=[...], or table_mappings with source_conn_id, to say "
                "which tables' sequences to sync."
            )
        selected = selected_tables(source_conn, source_engine or "postgresql", self.table_mappings)
        if not selected:
            raise NeonConfigError(f"Task {self.task_id}: the table mapping selects no source table.")
        return [TablePair(t["schema"], t["table"], t["target_schema"], t["target_table"]) for t in selected]

    def execute(self, context: Context) -> dict[str, Any]:
        # Drivers load when the task runs, not when the DAG file is parsed.
        from airflow_neon_dms.operators.db_endpoints import neon_endpoint, source_endpoint
        from airflow_neon_dms.sequences import sync_sequences

        source = source_endpoint(self.source_conn_id) if self.source_conn_id else None
        source_conn = source.open() if source else None
        try:
            target_conn = neon_endpoint(self.neon_conn_id).open()
            try:
                target_conn.autocommit = True
                pairs = self._pairs(source_conn, source.engine if source else None)
                changes = sync_sequences(target_conn, pairs, source_conn, source.engine if source else None)
            finally:
                target_conn.close()
        finally:
            if source_conn is not None:
                source_conn.close()
        changed = [c for c in changes if c.changed]
        self.log.info(
            "Synced %d sequence(s) of %d table(s); %d moved, %d already past the data.",
            len(changes),
            len(pairs),
            len(changed),
            len(changes) - len(changed),
        )
        return {"changed": len(changed), "sequences": [c.to_dict() for c in changes]}

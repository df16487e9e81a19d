"""Trigger: wait until no table of a replication task is still loading or validating."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.dms.progress import table_progress_lines
from airflow_neon_dms.dms.states import table_progress, unmodelled_state_message
from airflow_neon_dms.dms.table_names import parse_tables
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsTableStatisticsTrigger(NeonDmsPollTrigger):
    """
    Waits while any table (or any of ``tables``) is loading, reloading or pending validation.

    ``expect_tables`` makes a table that has no statistics yet count as pending (after a reload
    the statistics can lag behind). Success means "settled": every table reached a terminal
    state (completed, error, cancelled, does not exist, or a final validation state); the
    operator judges the result. A state the provider does not model ends the wait with a
    ``failed`` event naming the table and the state.
    """

    id_key = "replication_task_arn"

    def __init__(
        self,
        *,
        replication_task_arn: str,
        tables: list[dict[str, str]] | None = None,
        expect_tables: bool = False,
        reloaded_since: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.tables = tables
        self.expect_tables = expect_tables
        self.reloaded_since = reloaded_since

    def own_fields(self) -> dict[str, Any]:
        return {
            "replication_task_arn": self.replication_task_arn,
            "tables": self.tables,
            "expect_tables": self.expect_tables,
            "reloaded_since": self.reloaded_since,
        }

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        wanted = parse_tables(self.tables) if self.tables is not None else None
        rows = await hook.table_statistics_async(self.replication_task_arn, wanted)
        expected = wanted if self.expect_tables else None
        progress = table_progress(rows, expected, self.reloaded_since)
        self.report_progress(table_progress_lines(rows, expected))
        self.last_state = f"{len(progress.pending)} of {len(rows)} table(s) still loading or validating"
        if progress.unknown:
            return EVENT_FAILED, unmodelled_state_message(
                f"Replication task {self.replication_task_arn}", progress.unknown
            )
        if not rows:
            self.last_state = "no table statistics yet (the task has not listed its tables)"
            return None
        if progress.pending:
            return None
        return EVENT_SUCCESS, f"All {len(rows)} table(s) of {self.replication_task_arn} have settled."

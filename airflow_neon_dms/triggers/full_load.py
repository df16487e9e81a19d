"""Trigger: wait until a CDC task has loaded every table and applied the cached changes."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.dms.cdc import full_load_done
from airflow_neon_dms.dms.states import Outcome
from airflow_neon_dms.dms.table_names import parse_tables
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_GONE, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsFullLoadDoneTrigger(NeonDmsPollTrigger):
    """Waits until ``replication_task_arn`` is running with every table (or each of ``tables``) completed."""

    id_key = "replication_task_arn"

    def __init__(
        self, *, replication_task_arn: str, tables: list[dict[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.tables = tables

    def own_fields(self) -> dict[str, Any]:
        return {"replication_task_arn": self.replication_task_arn, "tables": self.tables}

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        task = await hook.describe_task_async(self.replication_task_arn)
        if task is None:
            return EVENT_GONE, f"Replication task {self.replication_task_arn} no longer exists."
        wanted = parse_tables(self.tables) if self.tables is not None else None
        rows = await hook.table_statistics_async(self.replication_task_arn, wanted)
        verdict = full_load_done(task, rows, wanted)
        self.last_state = verdict.message
        if verdict.outcome == Outcome.SUCCESS:
            return EVENT_SUCCESS, verdict.message
        if verdict.outcome == Outcome.FAILED:
            return EVENT_FAILED, verdict.message
        return None

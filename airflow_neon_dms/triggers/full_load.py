"""Trigger: wait until a CDC task has loaded every table and applied the cached changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_neon_dms.dms.cdc import full_load_done
from airflow_neon_dms.dms.states import TaskOutcome
from airflow_neon_dms.dms.table_names import parse_tables
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import NeonDmsTaskPollTrigger


class NeonDmsFullLoadDoneTrigger(NeonDmsTaskPollTrigger):
    """Waits until ``replication_task_arn`` is running with every table (or each of ``tables``) completed."""

    def __init__(
        self, *, replication_task_arn: str, tables: list[dict[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(replication_task_arn=replication_task_arn, **kwargs)
        self.tables = tables

    def own_fields(self) -> dict[str, Any]:
        return {**super().own_fields(), "tables": self.tables}

    async def judge(self, hook: NeonDmsHook, task: Mapping[str, Any]) -> TaskOutcome:
        wanted = parse_tables(self.tables) if self.tables is not None else None
        rows = await hook.table_statistics_async(self.replication_task_arn, wanted)
        return full_load_done(task, rows, wanted)

"""Trigger: wait for a replication task to finish its run (or to reach CDC for a CDC task)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_neon_dms.dms.progress import task_progress_lines
from airflow_neon_dms.dms.states import TaskOutcome, classify_task
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import NeonDmsTaskPollTrigger


class NeonDmsTaskCompletionTrigger(NeonDmsTaskPollTrigger):
    """Waits until ``replication_task_arn`` succeeds or fails, as :func:`classify_task` judges it.

    ``started_after`` (epoch seconds) makes a stop left by a run that began earlier count as
    "not yet", so an old FULL_LOAD_ONLY_FINISHED never passes for the run just started.
    """

    def __init__(
        self,
        *,
        replication_task_arn: str,
        wait_for_cdc_stop: bool = False,
        started_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(replication_task_arn=replication_task_arn, **kwargs)
        self.wait_for_cdc_stop = wait_for_cdc_stop
        self.started_after = started_after

    def own_fields(self) -> dict[str, Any]:
        return {
            **super().own_fields(),
            "wait_for_cdc_stop": self.wait_for_cdc_stop,
            "started_after": self.started_after,
        }

    async def judge(self, hook: NeonDmsHook, task: Mapping[str, Any]) -> TaskOutcome:
        since = datetime.fromtimestamp(self.started_after, timezone.utc) if self.started_after else None
        verdict = classify_task(task, wait_for_cdc_stop=self.wait_for_cdc_stop, started_after=since)
        if task.get("ReplicationTaskStats"):
            tables = await self.table_statistics_or_none(hook, self.replication_task_arn)
            # CDC lag: pass a CdcLatency here once the provider reads the CloudWatch metrics.
            self.report_progress(task_progress_lines(task, tables))
        return verdict

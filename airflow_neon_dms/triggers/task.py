"""Trigger: wait for a replication task to finish its run (or to reach CDC for a CDC task)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow_neon_dms.dms.progress import task_progress_lines
from airflow_neon_dms.dms.states import Outcome, classify_task
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_GONE, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsTaskCompletionTrigger(NeonDmsPollTrigger):
    """Waits until ``replication_task_arn`` succeeds or fails, as :func:`classify_task` judges it.

    ``started_after`` (epoch seconds) makes a stop left by a run that began earlier count as
    "not yet", so an old FULL_LOAD_ONLY_FINISHED never passes for the run just started.
    """

    id_key = "replication_task_arn"

    def __init__(
        self,
        *,
        replication_task_arn: str,
        wait_for_cdc_stop: bool = False,
        started_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.wait_for_cdc_stop = wait_for_cdc_stop
        self.started_after = started_after

    def own_fields(self) -> dict[str, Any]:
        return {
            "replication_task_arn": self.replication_task_arn,
            "wait_for_cdc_stop": self.wait_for_cdc_stop,
            "started_after": self.started_after,
        }

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        task = await hook.describe_task_async(self.replication_task_arn)
        if task is None:
            return EVENT_GONE, f"Replication task {self.replication_task_arn} no longer exists."
        since = datetime.fromtimestamp(self.started_after, timezone.utc) if self.started_after else None
        verdict = classify_task(task, wait_for_cdc_stop=self.wait_for_cdc_stop, started_after=since)
        self.last_state = verdict.message
        if task.get("ReplicationTaskStats"):
            tables = await self.table_statistics_or_none(hook, self.replication_task_arn)
            # CDC lag: pass a CdcLatency here once the provider reads the CloudWatch metrics.
            self.report_progress(task_progress_lines(task, tables))
        if verdict.outcome == Outcome.SUCCESS:
            return EVENT_SUCCESS, verdict.message
        if verdict.outcome == Outcome.FAILED:
            return EVENT_FAILED, verdict.message
        return None

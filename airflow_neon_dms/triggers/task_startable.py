"""Trigger: wait for a new (or modified) replication task to become startable."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.dms.states import Outcome, classify_startable
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_GONE, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsTaskStartableTrigger(NeonDmsPollTrigger):
    """
    Waits until ``replication_task_arn`` leaves creating/modifying/moving/testing, so the
    operator can start it without polling from a worker (a new DMS task spends about a
    minute in ``creating``). Success when it is ready, stopped, failed or already running.
    """

    id_key = "replication_task_arn"

    def __init__(self, *, replication_task_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn

    def own_fields(self) -> dict[str, Any]:
        return {"replication_task_arn": self.replication_task_arn}

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        task = await hook.describe_task_async(self.replication_task_arn)
        if task is None:
            return EVENT_GONE, f"Replication task {self.replication_task_arn} no longer exists."
        verdict = classify_startable(task)
        self.last_state = verdict.message
        if verdict.outcome == Outcome.SUCCESS:
            return EVENT_SUCCESS, verdict.message
        if verdict.outcome == Outcome.FAILED:
            return EVENT_FAILED, verdict.message
        return None

"""Trigger: wait until a replication task asked to stop at cutover has stopped cleanly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_neon_dms.dms.cdc import cutover_stop
from airflow_neon_dms.dms.states import TaskOutcome
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import NeonDmsTaskPollTrigger


class NeonDmsTaskStoppedTrigger(NeonDmsTaskPollTrigger):
    """Waits until ``replication_task_arn`` is ``stopped`` without an error stop reason."""

    async def judge(self, hook: NeonDmsHook, task: Mapping[str, Any]) -> TaskOutcome:
        return cutover_stop(task)

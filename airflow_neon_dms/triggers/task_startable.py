"""Trigger: wait for a new (or modified) replication task to become startable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_neon_dms.dms.states import TaskOutcome, classify_startable
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import NeonDmsTaskPollTrigger


class NeonDmsTaskStartableTrigger(NeonDmsTaskPollTrigger):
    """
    Waits until ``replication_task_arn`` leaves creating/modifying/moving/testing, so the
    operator can start it without polling from a worker (a new DMS task spends about a
    minute in ``creating``). Success when it is ready, stopped, failed or already running.
    """

    async def judge(self, hook: NeonDmsHook, task: Mapping[str, Any]) -> TaskOutcome:
        return classify_startable(task)

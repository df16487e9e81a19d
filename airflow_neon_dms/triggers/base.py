"""Shared loop of the DMS triggers: poll with the async DMS client until an event or the deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from botocore.exceptions import BotoCoreError, ClientError

from airflow_neon_dms.aws_arguments import AwsArguments
from airflow_neon_dms.dms.progress import ProgressLog
from airflow_neon_dms.dms.states import Outcome, TaskStatus
from airflow_neon_dms.dms.wait_events import (
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_GONE,
    EVENT_STATUSES,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
)
from airflow_neon_dms.hooks.dms import NeonDmsHook

if TYPE_CHECKING:
    from airflow_neon_dms.dms.states import TaskOutcome

__all__ = [
    "EVENT_ERROR",
    "EVENT_FAILED",
    "EVENT_GONE",
    "EVENT_STATUSES",
    "EVENT_SUCCESS",
    "EVENT_TIMEOUT",
    "NeonDmsPollTrigger",
    "NeonDmsTaskPollTrigger",
    "outcome_event",
]


def outcome_event(outcome: Outcome, message: str) -> tuple[str, str] | None:
    """The event that ends a wait on ``outcome`` (success or failed, with ``message``); None
    while it is still waiting."""
    if outcome == Outcome.SUCCESS:
        return EVENT_SUCCESS, message
    if outcome == Outcome.FAILED:
        return EVENT_FAILED, message
    return None


class NeonDmsPollTrigger(AwsArguments, BaseTrigger):
    """
    Base of the DMS triggers: calls :meth:`poll` every ``waiter_delay`` seconds until it returns
    an event, the ``deadline`` (epoch seconds) passes, or DMS answers with an error.

    Every event has the fixed shape ``{"status", "message", <id_key>: <id>}``. While it waits, it
    logs the state (and the progress lines a subclass reports) only when they changed since the
    last poll; in Airflow 3 a trigger's log lines go to the deferred task's log.
    """

    #: Name of the id in the event and in :meth:`serialize` (e.g. ``replication_task_arn``).
    id_key: str = "id"

    def __init__(
        self,
        *,
        deadline: float,
        waiter_delay: float = 30,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.deadline = deadline
        self.waiter_delay = waiter_delay
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config
        self._progress = ProgressLog()

    def own_fields(self) -> dict[str, Any]:
        """The subclass's own constructor arguments (JSON primitives)."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{self.__class__.__module__}.{self.__class__.__qualname__}",
            {
                **self.own_fields(),
                "deadline": self.deadline,
                "waiter_delay": self.waiter_delay,
                **self.aws_kwargs,
            },
        )

    def hook(self) -> NeonDmsHook:
        return NeonDmsHook(**self.aws_kwargs)

    @property
    def resource_id(self) -> str:
        return str(self.own_fields()[self.id_key])

    def event(self, status: str, message: str) -> TriggerEvent:
        return TriggerEvent({"status": status, "message": message, self.id_key: self.resource_id})

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        """Read DMS once; return ``(status, message)`` to finish, or None to wait on."""
        raise NotImplementedError

    def report_progress(self, lines: Mapping[str, str]) -> None:
        """Log those of ``lines`` that changed since the last poll (see :mod:`dms.progress`)."""
        for line in self._progress.changes(lines):
            self.log.info("%s", line)

    async def table_statistics_or_none(self, hook: NeonDmsHook, task_arn: str) -> list[dict[str, Any]] | None:
        """The task's table statistics for a progress line; None when DMS cannot give them now
        (the progress line is extra: it must never end the wait)."""
        try:
            return await hook.table_statistics_async(task_arn)
        except (ClientError, BotoCoreError) as err:
            self.log.debug("No table statistics for %s yet: %s", task_arn, err)
            return None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.hook()
        while True:
            try:
                result = await self.poll(hook)
            except (ClientError, BotoCoreError) as err:
                yield self.event(EVENT_ERROR, f"{self.id_key} {self.resource_id}: DMS call failed: {err}")
                return
            if result is not None:
                yield self.event(*result)
                return
            if time.time() >= self.deadline:
                yield self.event(
                    EVENT_TIMEOUT,
                    f"{self.resource_id} did not finish before the wait's deadline; last state: "
                    f"{self.last_state}",
                )
                return
            self.report_progress({"state": self.last_state})
            await asyncio.sleep(self.waiter_delay)

    #: A short description of the last state read, for logs and the timeout message.
    last_state: str = "waiting"


class NeonDmsTaskPollTrigger(NeonDmsPollTrigger):
    """
    Base of the triggers that read one replication task a poll and judge it with :meth:`judge`:
    its verdict's outcome ends the wait (success or failed) and its message is the last state.
    A task that no longer exists, or is being deleted (DMS shows ``deleting`` for a while before
    it stops finding the task), ends the wait with a ``gone`` event: no retry can bring it back.
    """

    id_key = "replication_task_arn"

    def __init__(self, *, replication_task_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn

    def own_fields(self) -> dict[str, Any]:
        return {self.id_key: self.replication_task_arn}

    async def judge(self, hook: NeonDmsHook, task: Mapping[str, Any]) -> TaskOutcome:
        """The verdict on the task as DescribeReplicationTasks returned it."""
        raise NotImplementedError

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        task = await hook.describe_task_async(self.replication_task_arn)
        if task is None:
            return EVENT_GONE, f"Replication task {self.replication_task_arn} no longer exists."
        if str(task.get("Status") or "").lower() == TaskStatus.DELETING:
            return EVENT_GONE, f"Replication task {self.replication_task_arn} is being deleted."
        verdict = await self.judge(hook, task)
        self.last_state = verdict.message
        return outcome_event(verdict.outcome, verdict.message)

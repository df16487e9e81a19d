"""Trigger: wait until a replication task's CloudWatch metrics stay within limits for a window."""

from __future__ import annotations

import time
from typing import Any

from airflow_neon_dms.dms.cdc import not_replicating
from airflow_neon_dms.dms.lag import Datapoint, WindowVerdict, query_start, window_verdict
from airflow_neon_dms.hooks.cloudwatch import NeonDmsMetricsHook
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsMetricsWindowTrigger(NeonDmsPollTrigger):
    """
    Waits until every metric in ``limits`` (AWS/DMS, with ``dimensions``) stays at or under its
    limit for ``window_seconds``, counting only datapoints from ``not_before`` (epoch seconds) on.
    Fails when the task stops, fails or disappears: its lag can then never settle.
    """

    id_key = "replication_task_arn"

    def __init__(
        self,
        *,
        replication_task_arn: str,
        dimensions: list[dict[str, str]],
        limits: dict[str, float],
        window_seconds: float,
        period: int = 60,
        not_before: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.dimensions = dimensions
        self.limits = limits
        self.window_seconds = window_seconds
        self.period = period
        self.not_before = not_before

    def own_fields(self) -> dict[str, Any]:
        return {
            "replication_task_arn": self.replication_task_arn,
            "dimensions": self.dimensions,
            "limits": self.limits,
            "window_seconds": self.window_seconds,
            "period": self.period,
            "not_before": self.not_before,
        }

    def judge(self, series: dict[str, list[Datapoint]], now: float) -> WindowVerdict:
        return window_verdict(
            series,
            self.limits,
            window_seconds=self.window_seconds,
            now=now,
            period=self.period,
            not_before=self.not_before,
        )

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        stopped = not_replicating(await hook.describe_task_async(self.replication_task_arn))
        if stopped is not None:
            return EVENT_FAILED, stopped
        metrics = NeonDmsMetricsHook(**self.aws_kwargs)
        now = time.time()
        series = await metrics.series_async(
            self.dimensions,
            list(self.limits),
            start=query_start(now, self.window_seconds, self.period),
            end=now,
            period=self.period,
        )
        verdict = self.judge(series, now)
        self.last_state = verdict.message
        if verdict.warning:
            self.log.warning("%s", verdict.message)
        return (EVENT_SUCCESS, verdict.message) if verdict.satisfied else None

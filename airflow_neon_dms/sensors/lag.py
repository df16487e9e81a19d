"""Sensors: replication lag under a threshold, and quiescence (no changes), over a sustained window.

Both read the task's CloudWatch metrics (namespace AWS/DMS, statistic Maximum per period) with
GetMetricData and judge them with :func:`airflow_neon_dms.dms.lag.window_verdict`: no data, a gap
or stale data never passes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_neon_dms.dms.lag import DEFAULT_PERIOD
from airflow_neon_dms.dms.wait_events import check_event
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, ReplicationTaskFailedError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS, AwsConnectionMixin
from airflow_neon_dms.sensors.base import NeonDmsBaseSensor

if TYPE_CHECKING:
    from airflow_neon_dms.dms.lag import WindowVerdict
    from airflow_neon_dms.hooks.cloudwatch import NeonDmsMetricsHook
    from airflow_neon_dms.triggers.lag import NeonDmsMetricsWindowTrigger


class MetricsWindowWait(AwsConnectionMixin):
    """What the lag, quiescence and cutover waits share: the task's metric dimensions and one check."""

    replication_task_arn: str
    replication_instance_identifier: str | None
    period: int
    #: Dimensions given by the user (``[{"Name", "Value"}]``); read from the run when None.
    metric_dimensions: list[dict[str, str]] | None = None

    @cached_property
    def metrics_hook(self) -> NeonDmsMetricsHook:
        from airflow_neon_dms.hooks.cloudwatch import NeonDmsMetricsHook

        return NeonDmsMetricsHook(**self.aws_kwargs)

    @cached_property
    def dimensions(self) -> list[dict[str, str]]:
        """The given ``metric_dimensions``; a serverless replication's ReplicationConfigId; or a
        task's ReplicationInstanceIdentifier (named, or read from the task) and resource id."""
        from airflow_neon_dms.dms.lag import replication_config_dimensions, task_dimensions
        from airflow_neon_dms.dms.replication_states import is_replication_config_arn

        if self.metric_dimensions:
            return [{"Name": str(d["Name"]), "Value": str(d["Value"])} for d in self.metric_dimensions]
        if is_replication_config_arn(self.replication_task_arn):
            return replication_config_dimensions(self.replication_task_arn)
        instance = self.replication_instance_identifier
        if not instance:
            task = self.hook.describe_task(self.replication_task_arn)
            instance = self.hook.replication_instance_id(str(task.get("ReplicationInstanceArn", "")))
        if not instance:
            raise DmsResourceError(
                f"Replication task {self.replication_task_arn}: its replication instance cannot be read, so "
                "its CloudWatch metrics cannot be found. Pass replication_instance_identifier."
            )
        return task_dimensions(instance, self.replication_task_arn)

    def window_trigger(
        self,
        limits: dict[str, float],
        window_seconds: float,
        *,
        deadline: float,
        waiter_delay: float,
        not_before: float | None = None,
    ) -> NeonDmsMetricsWindowTrigger:
        from airflow_neon_dms.triggers.lag import NeonDmsMetricsWindowTrigger

        return NeonDmsMetricsWindowTrigger(
            replication_task_arn=self.replication_task_arn,
            dimensions=self.dimensions,
            limits=limits,
            window_seconds=window_seconds,
            period=self.period,
            not_before=not_before,
            deadline=deadline,
            waiter_delay=waiter_delay,
            **self.aws_kwargs,
        )

    def check_window(
        self, limits: dict[str, float], window_seconds: float, not_before: float | None = None
    ) -> WindowVerdict:
        """Read the task and its metrics once; raise when the task no longer replicates."""
        from airflow_neon_dms.dms.cdc import not_replicating
        from airflow_neon_dms.dms.lag import query_start, window_verdict
        from airflow_neon_dms.hooks.dms import _or_none

        stopped = not_replicating(_or_none(self.hook.describe_task, task_arn=self.replication_task_arn))
        if stopped is not None:
            raise ReplicationTaskFailedError(f"{self.replication_task_arn}: {stopped}")
        now = time.time()
        series = self.metrics_hook.series(
            self.dimensions,
            list(limits),
            start=query_start(now, window_seconds, self.period),
            end=now,
            period=self.period,
        )
        return window_verdict(
            series, limits, window_seconds=window_seconds, now=now, period=self.period, not_before=not_before
        )


class NeonDmsMetricsWindowSensor(MetricsWindowWait, NeonDmsBaseSensor):
    """Base of the CloudWatch window sensors: subclasses say which limits and which window."""

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_task_arn",
        "replication_instance_identifier",
    )
    operator_extra_links = OPERATOR_LINKS_FOR_TASK
    #: What the wait is for, in messages.
    wait_name = "metrics window"
    default_poke_interval = 60

    def __init__(
        self,
        *,
        replication_task_arn: str,
        replication_instance_identifier: str | None = None,
        metric_dimensions: list[dict[str, str]] | None = None,
        period: int = DEFAULT_PERIOD,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(period) <= 0:
            raise NeonConfigError(f"period ({period}) must be a positive number of seconds (CloudWatch: 60).")
        self.replication_task_arn = replication_task_arn
        self.replication_instance_identifier = replication_instance_identifier
        self.metric_dimensions = metric_dimensions
        self.period = int(period)

    def limits(self) -> dict[str, float]:
        raise NotImplementedError

    def window(self) -> float:
        """Seconds the metrics must stay within their limits."""
        raise NotImplementedError

    def poke(self, context: Context) -> bool:
        verdict = self.check_window(self.limits(), self.window())
        if verdict.warning:
            self.log.warning("%s", verdict.message)
        else:
            self.log.info("%s", verdict.message)
        return verdict.satisfied

    def execute(self, context: Context) -> None:
        self.poke_or_defer(
            context, lambda: self.window_trigger(self.limits(), self.window(), **self.trigger_timing())
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        message = check_event(
            event,
            f"Replication task {self.replication_task_arn}",
            wait=f"{self.wait_name} wait",
            failed=lambda failure: ReplicationTaskFailedError(f"{self.replication_task_arn}: {failure}"),
            timed_out=lambda detail: DmsResourceError(
                f"Replication task {self.replication_task_arn}: the {self.wait_name} was not reached within "
                f"{float(self.timeout):.0f} s ({detail}). Raise timeout, or check the task's CDC in the "
                "DMS console."
            ),
        )
        self.log.info("%s", message)


class NeonDmsReplicationLagSensor(NeonDmsMetricsWindowSensor):
    """
    Wait until a CDC task's source and target latency (CDCLatencySource, CDCLatencyTarget) stay at
    or under ``max_lag_seconds`` for ``window_seconds``. Missing or stale datapoints keep it waiting.

    :param replication_task_arn: the running CDC task, or a serverless replication config's ARN.
    :param max_lag_seconds: the latency threshold, in seconds.
    :param window_seconds: how long the latency must stay at or under it.
    :param replication_instance_identifier: the instance's identifier (read from the task when None).
    :param metric_dimensions: the CloudWatch dimensions to read (``[{"Name", "Value"}]``); by
        default a task's, or a serverless replication's ReplicationConfigId.
    :param period: CloudWatch period in seconds (DMS publishes every 60).
    :param deferrable: wait in the triggerer.
    :param poke_interval: seconds between reads (also the trigger's delay).
    :param timeout: seconds before the sensor gives up (also the trigger's deadline).
    """

    template_fields: Sequence[str] = (
        *NeonDmsMetricsWindowSensor.template_fields,
        "max_lag_seconds",
        "window_seconds",
    )
    wait_name = "replication lag"

    def __init__(self, *, max_lag_seconds: float = 5, window_seconds: float = 300, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_lag_seconds = max_lag_seconds
        self.window_seconds = window_seconds

    def limits(self) -> dict[str, float]:
        from airflow_neon_dms.dms.lag import lag_limits

        try:
            return lag_limits(float(self.max_lag_seconds))
        except ValueError as err:
            raise NeonConfigError(f"{self.task_id}: {err}") from None

    def window(self) -> float:
        if float(self.window_seconds) < 0:
            raise NeonConfigError(
                f"{self.task_id}: window_seconds ({self.window_seconds}) must be 0 or more."
            )
        return float(self.window_seconds)


class NeonDmsQuiescenceSensor(NeonDmsMetricsWindowSensor):
    """
    Wait until a CDC task has nothing to do: no incoming changes (CDCIncomingChanges 0) and zero
    source and target latency for ``quiet_seconds``. Use it for unattended cutovers and tests, after
    the application has been told to stop writing.

    :param replication_task_arn: the running CDC task, or a serverless replication config's ARN.
    :param quiet_seconds: how long the task must stay quiet.
    :param replication_instance_identifier: the instance's identifier (read from the task when None).
    :param metric_dimensions: the CloudWatch dimensions to read (``[{"Name", "Value"}]``); by
        default a task's, or a serverless replication's ReplicationConfigId.
    :param period: CloudWatch period in seconds (DMS publishes every 60).
    :param deferrable: wait in the triggerer.
    :param poke_interval: seconds between reads (also the trigger's delay).
    :param timeout: seconds before the sensor gives up (also the trigger's deadline).
    """

    template_fields: Sequence[str] = (*NeonDmsMetricsWindowSensor.template_fields, "quiet_seconds")
    wait_name = "quiescence"

    def __init__(self, *, quiet_seconds: float = 300, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.quiet_seconds = quiet_seconds

    def limits(self) -> dict[str, float]:
        from airflow_neon_dms.dms.lag import quiet_limits

        return quiet_limits()

    def window(self) -> float:
        if float(self.quiet_seconds) < 0:
            raise NeonConfigError(f"{self.task_id}: quiet_seconds ({self.quiet_seconds}) must be 0 or more.")
        return float(self.quiet_seconds)

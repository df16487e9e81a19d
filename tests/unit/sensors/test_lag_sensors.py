"""Replication-lag and quiescence sensors on real CloudWatch datapoints (moto server) and moto's DMS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.dms.lag import CDC_INCOMING_CHANGES, CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, ReplicationTaskFailedError
from airflow_neon_dms.sensors.lag import NeonDmsQuiescenceSensor, NeonDmsReplicationLagSensor
from airflow_neon_dms.triggers.lag import NeonDmsMetricsWindowTrigger
from tests.unit.moto_cloudwatch import MotoTask, moto_conn, moto_task, moto_url

__all__ = ["moto_conn", "moto_task", "moto_url"]


def lag_sensor(task: MotoTask, conn: str, **kwargs: Any) -> NeonDmsReplicationLagSensor:
    args = {"max_lag_seconds": 5, "window_seconds": 180, "aws_conn_id": conn, **kwargs}
    return NeonDmsReplicationLagSensor(task_id="lag", replication_task_arn=task.arn, **args)


def test_lag_under_the_threshold_for_the_window_passes(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [40, 3, 5, 0])
    task.put_minutes(CDC_LATENCY_TARGET, [90, 4, 2, 1])
    sensor = lag_sensor(task, moto_conn)
    assert sensor.dimensions == task.dimensions  # the instance identifier was read from the task
    assert sensor.poke(context_factory()) is True


def test_a_spike_in_the_window_or_a_longer_window_keeps_waiting(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [40, 3, 5, 0])
    task.put_minutes(CDC_LATENCY_TARGET, [90, 4, 6, 1])
    assert lag_sensor(task, moto_conn).poke(context_factory()) is False
    assert lag_sensor(task, moto_conn, max_lag_seconds=6).poke(context_factory()) is True
    assert lag_sensor(task, moto_conn, max_lag_seconds=6, window_seconds=240).poke(context_factory()) is False


def test_no_metrics_never_pass_and_warn(
    moto_task: Callable[[], MotoTask],
    moto_conn: str,
    context_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [0, 0, 0, 0])
    sensor = lag_sensor(task, moto_conn, replication_instance_identifier="another-instance")
    assert sensor.poke(context_factory()) is False
    warnings = [line for line in capsys.readouterr().out.splitlines() if "[warning" in line]
    assert any("No datapoints for CDCLatencySource, CDCLatencyTarget" in line for line in warnings)


def test_a_stopped_task_fails_the_wait(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    task.dms.stop_replication_task(ReplicationTaskArn=task.arn)
    with pytest.raises(ReplicationTaskFailedError, match="resume-processing"):
        lag_sensor(task, moto_conn).poke(context_factory())


def test_quiescence_needs_zero_incoming_changes(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    for metric in (CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET):
        task.put_minutes(metric, [0, 0, 0])
    task.put_minutes(CDC_INCOMING_CHANGES, [12, 0, 0])
    quiet = NeonDmsQuiescenceSensor(
        task_id="quiet", replication_task_arn=task.arn, quiet_seconds=120, aws_conn_id=moto_conn
    )
    assert quiet.poke(context_factory()) is True  # the last two minutes were quiet
    quiet.quiet_seconds = 180
    assert quiet.poke(context_factory()) is False


def test_lag_sensor_defers_with_the_window_trigger(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    sensor = lag_sensor(task, moto_conn, deferrable=True, poke_interval=7, timeout=600, period=60)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context_factory())
    trigger = deferred.value.trigger
    assert isinstance(trigger, NeonDmsMetricsWindowTrigger)
    assert deferred.value.method_name == "execute_complete"
    kwargs = trigger.serialize()[1]
    assert kwargs["limits"] == {CDC_LATENCY_SOURCE: 5.0, CDC_LATENCY_TARGET: 5.0}
    assert kwargs["dimensions"] == task.dimensions
    assert (kwargs["window_seconds"], kwargs["period"], kwargs["waiter_delay"]) == (180.0, 60, 7.0)
    assert kwargs["not_before"] is None and kwargs["aws_conn_id"] == moto_conn


def test_quiescence_sensor_defers_with_quiet_limits(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    sensor = NeonDmsQuiescenceSensor(
        task_id="quiet",
        replication_task_arn=task.arn,
        quiet_seconds=90,
        deferrable=True,
        aws_conn_id=moto_conn,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context_factory())
    kwargs = deferred.value.trigger.serialize()[1]
    assert kwargs["limits"] == {CDC_INCOMING_CHANGES: 0, CDC_LATENCY_SOURCE: 0, CDC_LATENCY_TARGET: 0}
    assert kwargs["window_seconds"] == 90


def test_events(context_factory: Callable[..., dict[str, Any]]) -> None:
    sensor = NeonDmsReplicationLagSensor(
        task_id="lag", replication_task_arn="arn:aws:dms:r:1:task:T", timeout=60
    )
    sensor.execute_complete(
        context_factory(), {"status": "success", "message": "ok", "replication_task_arn": "t"}
    )
    with pytest.raises(ReplicationTaskFailedError, match="stopped"):
        sensor.execute_complete(context_factory(), {"status": "failed", "message": "task is stopped"})
    with pytest.raises(DmsResourceError, match="replication lag was not reached within 60 s"):
        sensor.execute_complete(context_factory(), {"status": "timeout", "message": "still 30 s behind"})
    with pytest.raises(DmsResourceError, match="could not be read"):
        sensor.execute_complete(context_factory(), {"status": "error", "message": "throttled"})
    for bad in (None, {}, {"status": "done"}):
        with pytest.raises(DmsResourceError, match="invalid event"):
            sensor.execute_complete(context_factory(), bad)


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(NeonConfigError, match="period"):
        NeonDmsQuiescenceSensor(task_id="q", replication_task_arn="arn:aws:dms:r:1:task:T", period=0)
    sensor = NeonDmsReplicationLagSensor(task_id="lag", replication_task_arn="arn:t", max_lag_seconds=-1)
    with pytest.raises(NeonConfigError, match="threshold"):
        sensor.limits()
    sensor.window_seconds = "-5"  # as a template renders it
    with pytest.raises(NeonConfigError, match="window_seconds"):
        sensor.window()
    assert {"max_lag_seconds", "window_seconds", "replication_task_arn"} <= set(sensor.template_fields)


def test_a_serverless_replication_is_read_by_its_config_dimension_unless_told_otherwise() -> None:
    config = "arn:aws:dms:us-east-1:123456789012:replication-config:RCABC"
    sensor = NeonDmsReplicationLagSensor(task_id="lag", replication_task_arn=config)
    # no DMS call: the dimension comes from the ARN alone
    assert sensor.dimensions == [{"Name": "ReplicationConfigId", "Value": "123456789012:RCABC"}]
    given = [{"Name": "ReplicationConfigId", "Value": "RCABC"}]
    told = NeonDmsReplicationLagSensor(task_id="lag2", replication_task_arn=config, metric_dimensions=given)
    assert told.dimensions == given

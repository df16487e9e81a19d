"""NeonDmsTaskCompletedSensor: StopReason-aware pokes and the deferrable path."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.exceptions import DmsResourceError, ReplicationTaskFailedError
from airflow_neon_dms.sensors.task import NeonDmsTaskCompletedSensor
from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger


def test_cdc_task_with_full_load_done_pokes_true(
    started_task_factory: Callable[[str], str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    sensor = NeonDmsTaskCompletedSensor(
        task_id="wait", replication_task_arn=started_task_factory("full-load-and-cdc")
    )
    # False while the full load runs, then True once it is complete (bounded, no timing asserted).
    pokes = []
    for _ in range(300):
        pokes.append(sensor.poke(context_factory()))
        if pokes[-1]:
            break
        time.sleep(0.1)
    assert pokes[-1] is True


def test_running_task_defers(
    started_task_factory: Callable[[str], str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = started_task_factory("full-load-and-cdc")
    sensor = NeonDmsTaskCompletedSensor(
        task_id="wait",
        replication_task_arn=arn,
        wait_for_cdc_stop=True,
        deferrable=True,
        poke_interval=5,
        timeout=60,
    )
    assert sensor.poke(context_factory()) is False
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context_factory())
    assert isinstance(deferred.value.trigger, NeonDmsTaskCompletionTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.trigger.serialize()[1]["waiter_delay"] == 5.0


def test_events(context_factory: Callable[..., dict[str, Any]]) -> None:
    sensor = NeonDmsTaskCompletedSensor(task_id="wait", replication_task_arn="arn:t")
    sensor.execute_complete(
        context_factory(), {"status": "success", "message": "ok", "replication_task_arn": "arn:t"}
    )
    with pytest.raises(ReplicationTaskFailedError, match="FATAL_ERROR"):
        sensor.execute_complete(
            context_factory(),
            {"status": "failed", "message": "Stop Reason FATAL_ERROR", "replication_task_arn": "arn:t"},
        )
    with pytest.raises(DmsResourceError, match="invalid event"):
        sensor.execute_complete(context_factory(), None)

"""DmsTaskCompletedSensor: StopReason-aware pokes and the deferrable path."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.exceptions import DmsResourceError, ReplicationTaskFailedError
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.mappings import TableMappings
from airflow_neon_dms.sensors.task import DmsTaskCompletedSensor
from airflow_neon_dms.settings import TaskSettings
from airflow_neon_dms.triggers.task import DmsTaskCompletionTrigger


@pytest.fixture
def running_task(
    aws_conn: str,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    stop_tasks_after: list[str],
) -> Callable[[str], str]:
    def make(migration_type: str) -> str:
        hook = NeonDmsHook(aws_conn_id=aws_conn)
        arn, _ = hook.ensure_task(
            unique_id("task"),
            source_endpoint_arn=endpoint_pair.source_arn,
            target_endpoint_arn=endpoint_pair.target_arn,
            replication_instance_arn=replication_instance_arn,
            migration_type=migration_type,
            table_mappings=TableMappings.include("public").to_json(),
            task_settings=TaskSettings().to_json(),
        )
        stop_tasks_after.append(arn)
        hook.start_task(arn, "start-replication", settle_timeout=30, settle_delay=0.1)
        return arn

    return make


def test_cdc_task_with_full_load_done_pokes_true(
    running_task: Callable[[str], str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    sensor = DmsTaskCompletedSensor(task_id="wait", replication_task_arn=running_task("full-load-and-cdc"))
    # False while the full load runs, then True once it is complete (bounded, no timing asserted).
    pokes = []
    for _ in range(300):
        pokes.append(sensor.poke(context_factory()))
        if pokes[-1]:
            break
        time.sleep(0.1)
    assert pokes[-1] is True


def test_running_task_defers(
    running_task: Callable[[str], str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = running_task("full-load-and-cdc")
    sensor = DmsTaskCompletedSensor(
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
    assert isinstance(deferred.value.trigger, DmsTaskCompletionTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.trigger.serialize()[1]["waiter_delay"] == 5.0


def test_events(context_factory: Callable[..., dict[str, Any]]) -> None:
    sensor = DmsTaskCompletedSensor(task_id="wait", replication_task_arn="arn:t")
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

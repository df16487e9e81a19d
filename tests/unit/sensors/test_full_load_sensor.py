"""NeonDmsFullLoadDoneSensor against the local DMS: a full-load-and-cdc task that keeps running."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.exceptions import DmsResourceError, ReplicationTaskFailedError
from airflow_neon_dms.sensors.full_load import NeonDmsFullLoadDoneSensor
from airflow_neon_dms.triggers.full_load import NeonDmsFullLoadDoneTrigger


def _poke_until_true(sensor: NeonDmsFullLoadDoneSensor, context: dict[str, Any]) -> list[bool]:
    pokes: list[bool] = []
    for _ in range(300):
        pokes.append(sensor.poke(context))  # type: ignore[arg-type]
        if pokes[-1]:
            break
        time.sleep(0.1)
    return pokes


def test_cdc_task_is_done_once_every_table_completed_and_keeps_running(
    started_task_factory: Callable[[str], str], context_factory: Callable[..., dict[str, Any]], dms: Any
) -> None:
    arn = started_task_factory("full-load-and-cdc")
    sensor = NeonDmsFullLoadDoneSensor(task_id="loaded", replication_task_arn=arn, tables=["public.items"])
    assert _poke_until_true(sensor, context_factory())[-1] is True
    task = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])
    assert task["ReplicationTasks"][0]["Status"] == "running"
    summary = sensor.execute(context_factory())
    assert summary["replication_task_arn"] == arn and summary["full_load_progress_percent"] == 100


def test_a_full_load_task_is_refused(
    started_task_factory: Callable[[str], str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    sensor = NeonDmsFullLoadDoneSensor(
        task_id="loaded", replication_task_arn=started_task_factory("full-load")
    )
    with pytest.raises(ReplicationTaskFailedError, match="NeonDmsTaskCompletedSensor"):
        _poke_until_true(sensor, context_factory())


def test_defers_while_an_expected_table_is_missing(
    started_task_factory: Callable[[str], str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = started_task_factory("full-load-and-cdc")
    sensor = NeonDmsFullLoadDoneSensor(
        task_id="loaded",
        replication_task_arn=arn,
        tables=[{"schema": "public", "table": "absent"}, "public.items", "public.items"],
        deferrable=True,
        poke_interval=3,
        timeout=120,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context_factory())
    assert isinstance(deferred.value.trigger, NeonDmsFullLoadDoneTrigger)
    assert deferred.value.method_name == "execute_complete"
    kwargs = deferred.value.trigger.serialize()[1]
    assert kwargs["tables"] == [
        {"schema": "public", "table": "absent"},
        {"schema": "public", "table": "items"},
    ]
    assert (kwargs["replication_task_arn"], kwargs["waiter_delay"]) == (arn, 3.0)


def test_events(
    started_task_factory: Callable[[str], str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = started_task_factory("full-load-and-cdc")
    sensor = NeonDmsFullLoadDoneSensor(task_id="loaded", replication_task_arn=arn, timeout=60)
    summary = sensor.execute_complete(
        context_factory(), {"status": "success", "message": "ok", "replication_task_arn": arn}
    )
    assert summary["replication_task_arn"] == arn
    with pytest.raises(ReplicationTaskFailedError, match="Table error"):
        sensor.execute_complete(
            context_factory(), {"status": "failed", "message": "public.items (Table error)"}
        )
    with pytest.raises(DmsResourceError, match="did not finish its full load within 60 s"):
        sensor.execute_complete(context_factory(), {"status": "timeout", "message": "50%"})
    with pytest.raises(DmsResourceError, match="invalid event"):
        sensor.execute_complete(context_factory(), {"status": "whatever"})

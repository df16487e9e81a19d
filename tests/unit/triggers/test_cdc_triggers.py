"""CDC triggers: serialisation round trips, and real polls (moto's CloudWatch and DMS, the local DMS)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_neon_dms.dms.lag import CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET, lag_limits
from airflow_neon_dms.triggers.base import NeonDmsPollTrigger
from airflow_neon_dms.triggers.cutover import NeonDmsTaskStoppedTrigger
from airflow_neon_dms.triggers.full_load import NeonDmsFullLoadDoneTrigger
from airflow_neon_dms.triggers.lag import NeonDmsMetricsWindowTrigger
from tests.unit.moto_cloudwatch import MotoTask, moto_conn, moto_task, moto_url

__all__ = ["moto_conn", "moto_task", "moto_url"]

AWS = {"aws_conn_id": "aws_default", "region_name": "us-east-1", "verify": None, "botocore_config": None}
DIMS = [
    {"Name": "ReplicationInstanceIdentifier", "Value": "ri"},
    {"Name": "ReplicationTaskIdentifier", "Value": "T"},
]

TRIGGERS: list[NeonDmsPollTrigger] = [
    NeonDmsMetricsWindowTrigger(
        replication_task_arn="arn:aws:dms:us-east-1:1:task:T",
        dimensions=DIMS,
        limits=lag_limits(5),
        window_seconds=300,
        period=60,
        not_before=1234.5,
        deadline=1e10,
        waiter_delay=5,
        **AWS,
    ),
    NeonDmsFullLoadDoneTrigger(
        replication_task_arn="arn:t",
        tables=[{"schema": "public", "table": "a"}],
        deadline=1e10,
        waiter_delay=5,
        **AWS,
    ),
    NeonDmsTaskStoppedTrigger(replication_task_arn="arn:t", deadline=1e10, waiter_delay=5, **AWS),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_serialize_round_trip(trigger: NeonDmsPollTrigger) -> None:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    assert cls is type(trigger)
    assert cls(**kwargs).serialize() == (classpath, kwargs)
    assert set(trigger.own_fields()) < set(kwargs)


async def _events(trigger: NeonDmsPollTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


def _window(task: MotoTask, conn: str, **kwargs: Any) -> NeonDmsMetricsWindowTrigger:
    args: dict[str, Any] = {
        "limits": lag_limits(5),
        "window_seconds": 120,
        "deadline": time.time() + 30,
        "waiter_delay": 0.1,
        **kwargs,
    }
    return NeonDmsMetricsWindowTrigger(
        replication_task_arn=task.arn, dimensions=task.dimensions, aws_conn_id=conn, **args
    )


@pytest.mark.asyncio
async def test_window_trigger_succeeds_on_low_lag(moto_task: Callable[[], MotoTask], moto_conn: str) -> None:
    task = moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [1, 2])
    task.put_minutes(CDC_LATENCY_TARGET, [0, 5])
    [event] = await _events(_window(task, moto_conn))
    assert event["status"] == "success" and event["replication_task_arn"] == task.arn
    assert set(event) == {"status", "message", "replication_task_arn"}


@pytest.mark.asyncio
async def test_window_trigger_times_out_with_the_reason(
    moto_task: Callable[[], MotoTask], moto_conn: str
) -> None:
    task = moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [1, 2])
    task.put_minutes(CDC_LATENCY_TARGET, [0, 50])
    [event] = await _events(_window(task, moto_conn, deadline=time.time() - 1))
    assert event["status"] == "timeout" and "CDCLatencyTarget is 50" in event["message"]


@pytest.mark.asyncio
async def test_window_trigger_fails_when_the_task_stops(
    moto_task: Callable[[], MotoTask], moto_conn: str
) -> None:
    task = moto_task()
    task.dms.stop_replication_task(ReplicationTaskArn=task.arn)
    [event] = await _events(_window(task, moto_conn))
    assert event["status"] == "failed" and "stopped" in event["message"]


@pytest.mark.asyncio
async def test_stopped_trigger_waits_for_the_stop(moto_task: Callable[[], MotoTask], moto_conn: str) -> None:
    task = moto_task()
    running = NeonDmsTaskStoppedTrigger(
        replication_task_arn=task.arn, deadline=time.time() - 1, waiter_delay=0.1, aws_conn_id=moto_conn
    )
    [event] = await _events(running)
    assert event["status"] == "timeout" and "running" in event["message"]
    task.dms.stop_replication_task(ReplicationTaskArn=task.arn)
    stopped = NeonDmsTaskStoppedTrigger(
        replication_task_arn=task.arn, deadline=time.time() + 30, waiter_delay=0.1, aws_conn_id=moto_conn
    )
    [event] = await _events(stopped)
    assert event["status"] == "success"


@pytest.mark.asyncio
async def test_full_load_trigger_on_the_local_dms(started_task_factory: Callable[[str], str]) -> None:
    arn = started_task_factory("full-load-and-cdc")
    trigger = NeonDmsFullLoadDoneTrigger(
        replication_task_arn=arn, deadline=time.time() + 60, waiter_delay=0.1
    )
    [event] = await _events(trigger)
    assert event["status"] == "success" and "1 table(s)" in event["message"]


@pytest.mark.asyncio
async def test_full_load_trigger_fails_for_a_full_load_task(
    started_task_factory: Callable[[str], str],
) -> None:
    arn = started_task_factory("full-load")
    trigger = NeonDmsFullLoadDoneTrigger(
        replication_task_arn=arn, deadline=time.time() + 60, waiter_delay=0.1
    )
    [event] = await _events(trigger)
    assert event["status"] == "failed" and "full-load task" in event["message"]


@pytest.mark.asyncio
async def test_full_load_trigger_waits_for_an_expected_table(
    started_task_factory: Callable[[str], str],
) -> None:
    arn = started_task_factory("full-load-and-cdc")
    loaded = NeonDmsFullLoadDoneTrigger(replication_task_arn=arn, deadline=time.time() + 60, waiter_delay=0.1)
    assert [e["status"] for e in await _events(loaded)] == ["success"]
    trigger = NeonDmsFullLoadDoneTrigger(  # one poll: the deadline has passed
        replication_task_arn=arn,
        tables=[{"schema": "public", "table": "items"}, {"schema": "public", "table": "absent"}],
        deadline=time.time() - 1,
        waiter_delay=0.1,
    )
    [event] = await _events(trigger)
    assert event["status"] == "timeout" and "public.absent" in event["message"]


@pytest.mark.asyncio
async def test_window_trigger_does_not_block_the_event_loop(
    moto_task: Callable[[], MotoTask], moto_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.triggers.loop_spy import blocking_calls_on_loop

    task = moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [1, 2])
    task.put_minutes(CDC_LATENCY_TARGET, [0, 5])
    with blocking_calls_on_loop(monkeypatch) as found:
        [event] = await _events(_window(task, moto_conn))
    assert event["status"] == "success"  # it read DMS and CloudWatch
    assert found == []

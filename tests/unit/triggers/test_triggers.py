"""Triggers: serialisation round trips and real polls of the DMS API with the async client."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import NeonDmsPollTrigger
from airflow_neon_dms.triggers.connection_test import NeonDmsConnectionTestTrigger
from airflow_neon_dms.triggers.table_statistics import NeonDmsTableStatisticsTrigger
from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger
from airflow_neon_dms.triggers.task_startable import NeonDmsTaskStartableTrigger

AWS = {"aws_conn_id": "aws_default", "region_name": "us-east-1", "verify": None, "botocore_config": None}
NO_RETRIES = {"retries": {"max_attempts": 1, "mode": "standard"}}

TRIGGERS: list[NeonDmsPollTrigger] = [
    NeonDmsConnectionTestTrigger(
        endpoint_arn="arn:e", replication_instance_arn="arn:r", deadline=1e10, waiter_delay=5, **AWS
    ),
    NeonDmsTaskCompletionTrigger(
        replication_task_arn="arn:t", wait_for_cdc_stop=True, deadline=1e10, waiter_delay=5, **AWS
    ),
    NeonDmsTaskStartableTrigger(replication_task_arn="arn:t", deadline=1e10, waiter_delay=5, **AWS),
    NeonDmsTableStatisticsTrigger(
        replication_task_arn="arn:t",
        tables=[{"schema": "public", "table": "a"}],
        expect_tables=True,
        reloaded_since=123.5,
        deadline=1e10,
        waiter_delay=5,
        **AWS,
    ),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_serialize_round_trip(trigger: NeonDmsPollTrigger) -> None:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    assert cls is type(trigger)
    assert cls(**kwargs).serialize() == (classpath, kwargs)
    assert {"deadline", "waiter_delay", "aws_conn_id", "region_name", "verify", "botocore_config"} <= set(
        kwargs
    )


async def _events(trigger: NeonDmsPollTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


@pytest.mark.asyncio
async def test_task_trigger_success_for_cdc_task(started_task_factory: Callable[[str], str]) -> None:
    arn = started_task_factory("full-load-and-cdc")
    trigger = NeonDmsTaskCompletionTrigger(
        replication_task_arn=arn, deadline=time.time() + 30, waiter_delay=0.1
    )
    [event] = await _events(trigger)
    assert event["status"] == "success"
    assert event["replication_task_arn"] == arn
    assert set(event) == {"status", "message", "replication_task_arn"}


@pytest.mark.asyncio
async def test_task_trigger_times_out_at_its_deadline(started_task_factory: Callable[[str], str]) -> None:
    arn = started_task_factory("full-load-and-cdc")
    trigger = NeonDmsTaskCompletionTrigger(
        replication_task_arn=arn, wait_for_cdc_stop=True, deadline=time.time() - 1, waiter_delay=0.1
    )
    [event] = await _events(trigger)
    assert event["status"] == "timeout"
    assert "running" in event["message"]


@pytest.mark.asyncio
async def test_task_trigger_fails_for_a_deleted_task(aws_conn: str) -> None:
    arn = "arn:aws:dms:us-east-1:123456789012:task:GONE"
    [event] = await _events(
        NeonDmsTaskCompletionTrigger(replication_task_arn=arn, deadline=time.time() + 5, waiter_delay=0.1)
    )
    assert event == {
        "status": "gone",
        "message": f"Replication task {arn} no longer exists.",
        "replication_task_arn": arn,
    }


@pytest.mark.asyncio
async def test_connection_trigger_reports_success(
    aws_conn: str, dms: Any, endpoint_pair: Any, replication_instance_arn: str
) -> None:
    started = dms.test_connection(
        ReplicationInstanceArn=replication_instance_arn, EndpointArn=endpoint_pair.target_arn
    )
    assert started["Connection"]["Status"] == "testing"
    trigger = NeonDmsConnectionTestTrigger(
        endpoint_arn=endpoint_pair.target_arn,
        replication_instance_arn=replication_instance_arn,
        testing_seen=True,
        deadline=time.time() + 30,
        waiter_delay=0.1,
    )
    [event] = await _events(trigger)
    assert event["status"] == "success"
    assert event["endpoint_arn"] == endpoint_pair.target_arn


@pytest.mark.asyncio
async def test_api_error_becomes_an_error_event(aws_conn: str) -> None:
    trigger = NeonDmsTableStatisticsTrigger(
        replication_task_arn="arn:aws:dms:us-east-1:123456789012:task:X",
        deadline=time.time() + 5,
        waiter_delay=0.1,
        botocore_config=NO_RETRIES,
    )
    [event] = await _events(trigger)
    assert event["status"] == "error"
    assert "DMS call failed" in event["message"]


@pytest.mark.asyncio
async def test_startable_trigger_succeeds_at_once_for_a_ready_task(
    aws_conn: str,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
) -> None:
    arn, _ = NeonDmsHook(aws_conn_id=aws_conn).ensure_task(
        unique_id("task"),
        source_endpoint_arn=endpoint_pair.source_arn,
        target_endpoint_arn=endpoint_pair.target_arn,
        replication_instance_arn=replication_instance_arn,
        migration_type="full-load",
        table_mappings=TableMappings.include("public").to_json(),
        task_settings=TaskSettings().to_json(),
    )
    [event] = await _events(
        NeonDmsTaskStartableTrigger(replication_task_arn=arn, deadline=time.time() + 30, waiter_delay=0.1)
    )
    assert event["status"] == "success"
    assert event["replication_task_arn"] == arn
    assert set(event) == {"status", "message", "replication_task_arn"}


@pytest.mark.asyncio
async def test_startable_trigger_fails_for_a_missing_task(aws_conn: str) -> None:
    arn = "arn:aws:dms:us-east-1:123456789012:task:NEVER"
    [event] = await _events(
        NeonDmsTaskStartableTrigger(replication_task_arn=arn, deadline=time.time() + 5, waiter_delay=0.1)
    )
    assert event == {
        "status": "gone",
        "message": f"Replication task {arn} no longer exists.",
        "replication_task_arn": arn,
    }


GONE_TASK = "arn:aws:dms:us-east-1:123456789012:task:NOTHERE"


@pytest.mark.asyncio
async def test_no_trigger_blocks_the_event_loop(
    aws_conn: str, replication_instance_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_neon_dms.triggers.cutover import NeonDmsTaskStoppedTrigger
    from airflow_neon_dms.triggers.full_load import NeonDmsFullLoadDoneTrigger
    from tests.unit.triggers.loop_spy import blocking_calls_on_loop

    wait = {"deadline": time.time() + 2, "waiter_delay": 0.2, "aws_conn_id": aws_conn}
    triggers: list[NeonDmsPollTrigger] = [
        NeonDmsTaskCompletionTrigger(replication_task_arn=GONE_TASK, **wait),
        NeonDmsTaskStartableTrigger(replication_task_arn=GONE_TASK, **wait),
        NeonDmsTaskStoppedTrigger(replication_task_arn=GONE_TASK, **wait),
        NeonDmsFullLoadDoneTrigger(replication_task_arn=GONE_TASK, **wait),
        NeonDmsTableStatisticsTrigger(replication_task_arn=GONE_TASK, **wait),
        NeonDmsConnectionTestTrigger(
            replication_instance_arn=replication_instance_arn,
            endpoint_arn="arn:aws:dms:us-east-1:123456789012:endpoint:NOTHERE",
            **wait,
        ),
    ]
    for trigger in triggers:
        with blocking_calls_on_loop(monkeypatch) as found:
            events = await _events(trigger)
        assert len(events) == 1, (type(trigger).__name__, events)
        assert found == [], f"{type(trigger).__name__} blocked the event loop: {found}"

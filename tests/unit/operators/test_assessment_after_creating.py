"""Assessing a task that is still ``creating``: waited for (deferred when deferrable), then assessed.

DMS runs an assessment only on a ready, stopped or failed task; this module's local DMS keeps new
tasks ``creating`` for a few seconds, as AWS does for about a minute.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.operators.assessment import NeonDmsPremigrationAssessmentOperator
from airflow_neon_dms.triggers.task_startable import NeonDmsTaskStartableTrigger
from tests.unit.conftest import DmsServer, unique

CREATING_SECONDS = 3.0
ROLE = "arn:aws:iam::123456789012:role/dms-assessment"


@pytest.fixture(scope="module")
def dms_server() -> Iterator[DmsServer]:
    """A local DMS whose new tasks stay ``creating`` for CREATING_SECONDS (overrides the shared one)."""
    from airflow_neon_dms.local.server import LocalDms
    from airflow_neon_dms.local.state_timing import INSTANT

    with LocalDms(port=0, timing=INSTANT, task_creating_seconds=CREATING_SECONDS) as running:
        boto3.client(
            "s3", endpoint_url=running.endpoint_url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        ).create_bucket(Bucket="results")  # fmt: skip
        yield DmsServer(running.endpoint_url)


@pytest.fixture
def creating_task(dms: Any, endpoint_pair: Any, replication_instance_arn: str) -> str:
    mapping = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "p",
                          "object-locator": {"schema-name": "public", "table-name": "%"},
                          "rule-action": "include"}]}  # fmt: skip
    task = dms.create_replication_task(
        ReplicationTaskIdentifier=unique("task"),
        SourceEndpointArn=endpoint_pair.source_arn,
        TargetEndpointArn=endpoint_pair.target_arn,
        ReplicationInstanceArn=replication_instance_arn,
        MigrationType="full-load",
        TableMappings=json.dumps(mapping),
    )["ReplicationTask"]
    assert task["Status"] == "creating"
    return str(task["ReplicationTaskArn"])


def _op(task_arn: str, deferrable: bool) -> NeonDmsPremigrationAssessmentOperator:
    return NeonDmsPremigrationAssessmentOperator(
        task_id="assess",
        replication_task_arn=task_arn,
        service_access_role_arn=ROLE,
        result_bucket="results",
        deferrable=deferrable,
        waiter_delay=0.2,
        max_wait=60,
        settle_timeout=60,
    )


def test_deferrable_waits_in_the_triggerer_then_assesses(
    aws_conn: str, creating_task: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    op = _op(creating_task, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    assert isinstance(deferred.value.trigger, NeonDmsTaskStartableTrigger)
    assert deferred.value.method_name == "execute_settled"
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert type(trigger)(**kwargs).serialize() == (classpath, kwargs)
    op.deferrable = False  # resume without deferring again, as a test cannot run the triggerer loop
    op.hook.wait_until_settled(creating_task, timeout=30, delay=0.2)
    event = {"status": "success", "message": "ready", "replication_task_arn": creating_task}
    assert op.execute_settled(context_factory(), event)["status"] == "passed"


def test_without_deferral_it_waits_for_the_task_then_assesses(
    aws_conn: str, creating_task: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    assert _op(creating_task, deferrable=False).execute(context_factory())["status"] == "passed"

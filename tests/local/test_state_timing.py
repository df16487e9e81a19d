"""AWS's transitional states with the emulator's default timing, checked with botocore's waiters.

AWS shows a new task ``creating``, a started task ``starting`` and a deleted endpoint, task or
instance ``deleting`` (botocore's DMS waiters poll through each of them). These tests use an
emulator with the default (AWS-like) timing; the other tests choose ``INSTANT`` explicitly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError, WaiterError

from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import AWS_LIKE
from tests.local.logical_source import logical_pair, logical_server  # noqa: F401 (CDC tasks)
from tests.local.support import INCLUDE_ALL_PUBLIC, Dms, target_rows, unique

WAIT = {"Delay": 1, "MaxAttempts": 60}


@pytest.fixture(scope="module")
def aws_timed_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=AWS_LIKE) as running:
        yield running


@pytest.fixture
def timed(aws_timed_dms: LocalDms, make_dms: Callable[[str], Dms]) -> Dms:
    return make_dms(aws_timed_dms.endpoint_url)


def _task_filter(arn: str) -> list[dict[str, Any]]:
    return [{"Name": "replication-task-arn", "Values": [arn]}]


def _wait(dms: Dms, waiter: str, **kwargs: Any) -> None:
    dms.client.get_waiter(waiter).wait(WaiterConfig=WAIT, **kwargs)


def _new_task(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str], migration_type: str
) -> tuple[str, str, str]:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 50)")
    source = dms.pg_endpoint("source", pg_server, source_db)
    target = dms.pg_endpoint("target", pg_server, target_db)
    created = dms.client.create_replication_task(
        ReplicationTaskIdentifier=unique("timed"),
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=dms.instance_arn,
        MigrationType=migration_type,
        TableMappings=json.dumps(INCLUDE_ALL_PUBLIC),
    )["ReplicationTask"]
    return created["ReplicationTaskArn"], source, target


def test_new_task_is_creating_until_the_ready_waiter_succeeds(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    task, _, _ = _new_task(timed, pg_server, pg_pair, "full-load")
    assert timed.describe_task(task)["Status"] == "creating"
    with pytest.raises(ClientError) as err:  # AWS: a task is started once it is ready
        timed.client.start_replication_task(
            ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
        )
    assert err.value.response["Error"]["Code"] == "InvalidResourceStateFault"
    _wait(timed, "replication_task_ready", Filters=_task_filter(task))
    assert timed.describe_task(task)["Status"] == "ready"


def test_started_task_is_starting_then_running_then_stopped(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    task, _, _ = _new_task(timed, pg_server, pg_pair, "full-load-and-cdc")
    _wait(timed, "replication_task_ready", Filters=_task_filter(task))
    started = timed.client.start_replication_task(
        ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
    )["ReplicationTask"]
    assert started["Status"] == "starting"
    described = timed.describe_task(task)
    assert described["Status"] == "starting"
    # ReplicationTaskStartDate: when the start was asked for; Stats.StartDate: when it ran.
    assert "ReplicationTaskStartDate" in described
    assert "StartDate" not in described["ReplicationTaskStats"]
    # botocore's replication_task_stopped waiter fails on "starting", as it does against AWS
    with pytest.raises(WaiterError, match="starting"):
        _wait(timed, "replication_task_stopped", Filters=_task_filter(task))
    _wait(timed, "replication_task_running", Filters=_task_filter(task))
    running = timed.describe_task(task)
    stats = running["ReplicationTaskStats"]
    assert stats["StartDate"] >= running["ReplicationTaskStartDate"]
    assert stats["FreshStartDate"] == stats["StartDate"]
    timed.client.stop_replication_task(ReplicationTaskArn=task)
    _wait(timed, "replication_task_stopped", Filters=_task_filter(task))

    timed.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="resume-processing")
    _wait(timed, "replication_task_running", Filters=_task_filter(task))
    resumed = timed.describe_task(task)["ReplicationTaskStats"]
    assert resumed["StartDate"] > stats["StartDate"]
    assert resumed["FreshStartDate"] == stats["FreshStartDate"]  # a resume is not a fresh start
    timed.client.stop_replication_task(ReplicationTaskArn=task)
    _wait(timed, "replication_task_stopped", Filters=_task_filter(task))

    timed.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="reload-target")
    _wait(timed, "replication_task_running", Filters=_task_filter(task))
    reloaded = timed.describe_task(task)["ReplicationTaskStats"]
    assert reloaded["FreshStartDate"] == reloaded["StartDate"] > resumed["StartDate"]
    timed.client.stop_replication_task(ReplicationTaskArn=task)
    _wait(timed, "replication_task_stopped", Filters=_task_filter(task))


def test_task_stopped_while_starting_lists_and_loads_nothing(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    task, _, _ = _new_task(timed, pg_server, pg_pair, "full-load")
    _wait(timed, "replication_task_ready", Filters=_task_filter(task))
    timed.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    stopping = timed.client.stop_replication_task(ReplicationTaskArn=task)["ReplicationTask"]
    assert stopping["Status"] == "stopping"
    _wait(timed, "replication_task_stopped", Filters=_task_filter(task))
    stopped = timed.describe_task(task)
    assert stopped["StopReason"] == "Stop Reason NORMAL"
    assert "StartDate" not in stopped["ReplicationTaskStats"]  # it never ran
    assert timed.table_stats(task) == {}
    assert target_rows(pg_server.dsn(pg_pair[1]), "t") is None


def test_deleted_task_endpoint_and_instance_are_deleting_before_gone(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    task, source, target = _new_task(timed, pg_server, pg_pair, "full-load")
    _wait(timed, "replication_task_ready", Filters=_task_filter(task))
    task_id = timed.describe_task(task)["ReplicationTaskIdentifier"]

    assert (
        timed.client.delete_replication_task(ReplicationTaskArn=task)["ReplicationTask"]["Status"]
        == "deleting"
    )
    assert timed.describe_task(task)["Status"] == "deleting"
    with pytest.raises(ClientError) as err:  # the endpoint is in use until the task is gone
        timed.client.delete_endpoint(EndpointArn=source)
    assert err.value.response["Error"]["Code"] == "InvalidResourceStateFault"
    with pytest.raises(ClientError) as err:  # the identifier is taken until the task is gone
        timed.client.create_replication_task(
            ReplicationTaskIdentifier=task_id,
            SourceEndpointArn=source,
            TargetEndpointArn=target,
            ReplicationInstanceArn=timed.instance_arn,
            MigrationType="full-load",
            TableMappings=json.dumps(INCLUDE_ALL_PUBLIC),
        )
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsFault"
    _wait(timed, "replication_task_deleted", Filters=_task_filter(task))

    endpoint_filter = [{"Name": "endpoint-arn", "Values": [source]}]
    assert timed.client.delete_endpoint(EndpointArn=source)["Endpoint"]["Status"] == "deleting"
    assert timed.client.describe_endpoints(Filters=endpoint_filter)["Endpoints"][0]["Status"] == "deleting"
    _wait(timed, "endpoint_deleted", Filters=endpoint_filter)

    instance_filter = [{"Name": "replication-instance-arn", "Values": [timed.instance_arn]}]
    answer = timed.client.delete_replication_instance(ReplicationInstanceArn=timed.instance_arn)
    assert answer["ReplicationInstance"]["ReplicationInstanceStatus"] == "deleting"
    instances = timed.client.describe_replication_instances(Filters=instance_filter)["ReplicationInstances"]
    assert instances[0]["ReplicationInstanceStatus"] == "deleting"
    _wait(timed, "replication_instance_deleted", Filters=instance_filter)


def test_full_load_task_passes_the_stopped_waiter_once_it_has_left_starting(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    task, _, target = _new_task(timed, pg_server, pg_pair, "full-load")
    _wait(timed, "replication_task_ready", Filters=_task_filter(task))
    timed.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    seen = {timed.describe_task(task)["Status"]}
    while "starting" in seen and len(seen) == 1:  # what a client does before the stopped waiter
        time.sleep(0.2)
        seen.add(timed.describe_task(task)["Status"])
    _wait(timed, "replication_task_stopped", Filters=_task_filter(task))
    assert "starting" in seen
    assert timed.describe_task(task)["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    _, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (50,)


def test_modified_instance_is_modifying_until_available(timed: Dms) -> None:
    instance_filter = [{"Name": "replication-instance-arn", "Values": [timed.instance_arn]}]
    answer = timed.client.modify_replication_instance(
        ReplicationInstanceArn=timed.instance_arn, AllocatedStorage=100, ApplyImmediately=True
    )["ReplicationInstance"]
    assert answer["ReplicationInstanceStatus"] == "modifying"
    with pytest.raises(ClientError) as err:  # one change at a time, as on AWS
        timed.client.modify_replication_instance(
            ReplicationInstanceArn=timed.instance_arn, AllocatedStorage=200, ApplyImmediately=True
        )
    assert err.value.response["Error"]["Code"] == "InvalidResourceStateFault"
    _wait(timed, "replication_instance_available", Filters=instance_filter)
    described = timed.client.describe_replication_instances(Filters=instance_filter)["ReplicationInstances"]
    assert described[0]["AllocatedStorage"] == 100

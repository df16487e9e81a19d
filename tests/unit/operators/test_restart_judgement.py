"""Starting a task that ran before: which start type, and which run the wait judges.

AWS keeps a stopped task's old StopReason until the new run shows; the local DMS answers a start
at once, so the stale read right after StartReplicationTask is a state it cannot produce. That one
test uses a botocore Stubber with the responses real DMS gives (fields as botocore documents them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.stub import Stubber

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from tests.unit.conftest import aws_conn_json, make_context

ARN = "arn:aws:dms:us-east-1:123456789012:task:ORDERS"
INSTANCE_ARN = "arn:aws:dms:us-east-1:123456789012:rep:RI"


def _task(status: str, started: datetime, stop_reason: str | None = None) -> dict[str, Any]:
    task: dict[str, Any] = {
        "ReplicationTaskIdentifier": "orders",
        "ReplicationTaskArn": ARN,
        "ReplicationInstanceArn": INSTANCE_ARN,
        "MigrationType": "full-load",
        "Status": status,
        "ReplicationTaskStats": {
            "FullLoadProgressPercent": 100 if status == "stopped" else 50,
            "TablesErrored": 0,
            "StartDate": started,
            "FreshStartDate": started,
        },
    }
    if stop_reason:
        task["StopReason"] = stop_reason
    return task


def test_yesterdays_finished_stop_is_not_this_runs_success(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stopped full-load task from yesterday is started again (reload-target), and the old
    FULL_LOAD_ONLY_FINISHED, still shown right after the start, does not end the wait."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_conn_json("http://127.0.0.1:9"))
    now = datetime.now(timezone.utc)
    yesterday = now - timedelta(days=1)
    old_stop = _task("stopped", yesterday, "Stop Reason FULL_LOAD_ONLY_FINISHED")
    op = NeonDmsStartTaskOperator(
        task_id="start", replication_task_arn=ARN, deferrable=False, waiter_delay=0.01, max_wait=30
    )
    stub = Stubber(op.hook.conn)
    describe = "describe_replication_tasks"
    stub.add_response(describe, {"ReplicationTasks": [old_stop]})  # links
    stub.add_response(
        "describe_replication_instances",
        {
            "ReplicationInstances": [
                {"ReplicationInstanceArn": INSTANCE_ARN, "ReplicationInstanceIdentifier": "ri"}
            ]
        },
    )
    stub.add_response(describe, {"ReplicationTasks": [old_stop]})  # settle check
    stub.add_response(
        "start_replication_task",
        {"ReplicationTask": _task("starting", yesterday)},
        {"ReplicationTaskArn": ARN, "StartReplicationTaskType": "reload-target"},
    )
    stub.add_response(describe, {"ReplicationTasks": [old_stop]})  # the new run not visible yet
    stub.add_response(describe, {"ReplicationTasks": [_task("running", now)]})
    new_stop = _task("stopped", now + timedelta(seconds=1), "Stop Reason FULL_LOAD_ONLY_FINISHED")
    stub.add_response(describe, {"ReplicationTasks": [new_stop]})
    stub.add_response(describe, {"ReplicationTasks": [new_stop]})  # spare: a retry read
    with stub:
        summary = op.execute(make_context(now - timedelta(seconds=5)))
    assert summary["started"] is True
    assert summary["status"] == "stopped"
    # The wait read the running task and the new stop: one spare response is left.
    assert len(stub._queue) == 1


def _wait_for_status(hook: NeonDmsHook, arn: str, status: str) -> dict[str, Any]:
    deadline = time.time() + 60
    while time.time() < deadline:
        task = hook.describe_task(arn)
        if task["Status"] == status:
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {arn} did not become {status}")


def test_a_stopped_cdc_task_resumes_instead_of_reloading(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    stop_tasks_after: list[str],
) -> None:
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    arn, _ = hook.ensure_task(
        unique_id("task"),
        source_endpoint_arn=endpoint_pair.source_arn,
        target_endpoint_arn=endpoint_pair.target_arn,
        replication_instance_arn=replication_instance_arn,
        migration_type="full-load-and-cdc",
        table_mappings=TableMappings.include("public").to_json(),
        task_settings=TaskSettings().to_json(),
    )
    stop_tasks_after.append(arn)

    def start() -> dict[str, Any]:
        op = NeonDmsStartTaskOperator(
            task_id="start", replication_task_arn=arn, deferrable=False, waiter_delay=0.2, max_wait=60
        )
        return op.execute(make_context())

    assert start()["status"] == "running"
    dms.stop_replication_task(ReplicationTaskArn=arn)
    before = _wait_for_status(hook, arn, "stopped")["ReplicationTaskStats"]
    summary = start()  # a later DAG run, default start_type start-replication
    assert summary["started"] is True
    deadline = time.time() + 60
    after = hook.describe_task(arn)["ReplicationTaskStats"]
    while after.get("StartDate") == before["StartDate"] and time.time() < deadline:
        time.sleep(0.1)  # the new run's StartDate shows once the run is under way
        after = hook.describe_task(arn)["ReplicationTaskStats"]
    assert after["StartDate"] > before["StartDate"]
    # resume-processing keeps the fresh start; reload-target would have moved it.
    assert after["FreshStartDate"] == before["FreshStartDate"]

"""Starting a task that is still ``creating``: deferred until startable, then started once.

These tests run on their own local DMS whose new tasks stay ``creating`` for a few seconds (real
DMS: about a minute), so each operator really meets a task it cannot start yet.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from botocore.exceptions import ClientError

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.reload_plan import temporary_task_identifier
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.exceptions import DmsResourceError
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.operators.reload import METHOD_TEMPORARY_TASK, NeonDmsReloadTablesOperator
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger
from airflow_neon_dms.triggers.task_startable import NeonDmsTaskStartableTrigger
from tests.unit.conftest import DmsServer

#: How long a new task stays ``creating`` on this module's DMS: long enough that the operator
#: (called right after CreateReplicationTask) meets it creating, short enough for a test.
CREATING_SECONDS = 4.0
#: How long a deleted task shows ``deleting`` before DMS stops finding it (as on AWS, where a
#: wait can meet a task someone is deleting).
DELETING_SECONDS = 3.0


@pytest.fixture(scope="module")
def dms_server() -> Iterator[DmsServer]:
    """A local DMS whose new tasks stay ``creating`` for CREATING_SECONDS and deleted ones
    ``deleting`` for DELETING_SECONDS (overrides the shared one)."""
    from airflow_neon_dms.local.server import LocalDms
    from airflow_neon_dms.local.state_timing import INSTANT

    timing = dataclasses.replace(INSTANT, deleting_seconds=DELETING_SECONDS)
    with LocalDms(port=0, timing=timing, task_creating_seconds=CREATING_SECONDS) as running:
        yield DmsServer(running.endpoint_url)


@pytest.fixture
def creating_task(
    aws_conn: str,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    stop_tasks_after: list[str],
) -> Callable[..., str]:
    """Factory: a new full-load task of ``public.items``, still ``creating`` when returned."""

    def make(migration_type: str = "full-load") -> str:
        arn, action = NeonDmsHook(aws_conn_id=aws_conn).ensure_task(
            unique_id("task"),
            source_endpoint_arn=endpoint_pair.source_arn,
            target_endpoint_arn=endpoint_pair.target_arn,
            replication_instance_arn=replication_instance_arn,
            migration_type=migration_type,
            table_mappings=TableMappings.include("public").to_json(),
            task_settings=TaskSettings().to_json(),
        )
        assert action == "created"
        stop_tasks_after.append(arn)
        return arn

    return make


def _status(dms: Any, arn: str) -> dict[str, Any]:
    [task] = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])[
        "ReplicationTasks"
    ]
    return dict(task)


def _start_date(dms: Any, arn: str) -> Any:
    """The task's ReplicationTaskStartDate, once its run has recorded one."""
    deadline = time.time() + 30
    while "ReplicationTaskStartDate" not in (task := _status(dms, arn)) and time.time() < deadline:
        time.sleep(0.05)
    return task["ReplicationTaskStartDate"]


async def _first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger yielded no event")


def _start_op(arn: str, **kwargs: Any) -> NeonDmsStartTaskOperator:
    kwargs.setdefault("waiter_delay", 0.2)
    kwargs.setdefault("settle_timeout", 60)
    kwargs.setdefault("max_wait", 120)
    return NeonDmsStartTaskOperator(task_id="start", replication_task_arn=arn, **kwargs)


def test_the_emulator_refuses_to_start_a_creating_task(creating_task: Callable[..., str], dms: Any) -> None:
    arn = creating_task()
    assert _status(dms, arn)["Status"] == "creating"
    with pytest.raises(ClientError) as refused:
        dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    assert refused.value.response["Error"]["Code"] == "InvalidResourceStateFault"


def test_defers_while_creating_then_starts_and_loads(
    creating_task: Callable[..., str],
    dms: Any,
    endpoint_pair: Any,
    pg_server: Any,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    arn = creating_task()
    context = context_factory()
    op = _start_op(arn, deferrable=True)
    with pytest.raises(TaskDeferred) as settle:
        op.execute(context)
    trigger = settle.value.trigger
    assert isinstance(trigger, NeonDmsTaskStartableTrigger)
    assert settle.value.method_name == "execute_startable"
    assert trigger.serialize()[1]["replication_task_arn"] == arn
    assert trigger.deadline > time.time()
    assert context["ti"].xcom["neon_dms_task"]["task_id"]  # links persisted before the wait
    before = _status(dms, arn)
    assert before["Status"] == "creating" and "ReplicationTaskStartDate" not in before  # not started

    event = asyncio.run(_first_event(trigger))
    assert event == {
        "status": "success",
        "message": event["message"],
        "replication_task_arn": arn,
    }
    assert "is ready" in event["message"]
    # Resumed as Airflow's dag.test() does: the event only, no deferral kwargs.
    with pytest.raises(TaskDeferred) as run:
        op.execute_startable(context_factory(context["dag_run"].start_date), event)
    assert isinstance(run.value.trigger, NeonDmsTaskCompletionTrigger)
    assert run.value.method_name == "execute_complete"
    assert run.value.kwargs == {"started": True}
    done = asyncio.run(_first_event(run.value.trigger))
    summary = op.execute_complete(context_factory(), done, **run.value.kwargs)
    assert summary["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert summary["started"] is True
    with psycopg.connect(pg_server.dsn(endpoint_pair.target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (120,)

    # A retry of the task in the same DAG run (the worker died after the start) starts nothing.
    retry = _start_op(arn, deferrable=True).execute(context_factory(context["dag_run"].start_date))
    assert retry["started"] is False
    assert retry["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"


def test_a_second_resumption_does_not_start_a_second_run(
    creating_task: Callable[..., str], dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = creating_task("full-load-and-cdc")
    context = context_factory()
    op = _start_op(arn, deferrable=True, wait_for_cdc_stop=True)
    with pytest.raises(TaskDeferred) as settle:
        op.execute(context)
    event = asyncio.run(_first_event(settle.value.trigger))
    with pytest.raises(TaskDeferred) as first:
        op.execute_startable(context_factory(context["dag_run"].start_date), event)
    started_at = _start_date(dms, arn)
    with pytest.raises(TaskDeferred) as again:
        op.execute_startable(context_factory(context["dag_run"].start_date), event)
    assert first.value.kwargs == {"started": True}
    assert again.value.kwargs == {"started": False}
    assert _start_date(dms, arn) == started_at


def test_settle_deadline_fails_with_advice(
    creating_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = creating_task()
    op = _start_op(arn, deferrable=True, settle_timeout=0.5)
    with pytest.raises(TaskDeferred) as settle:
        op.execute(context_factory())
    trigger = settle.value.trigger
    trigger.deadline = time.time() - 1  # the deadline has passed by the first poll
    event = asyncio.run(_first_event(trigger))
    assert event["status"] == "timeout"
    assert "creating" in event["message"]
    with pytest.raises(DmsResourceError, match="did not become startable within .*Raise settle_timeout"):
        op.execute_startable(context_factory(), event)


def test_task_deleted_while_creating_fails_the_wait(
    creating_task: Callable[..., str], dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = creating_task()
    op = _start_op(arn, deferrable=True)
    with pytest.raises(TaskDeferred) as settle:
        op.execute(context_factory())
    dms.delete_replication_task(ReplicationTaskArn=arn)
    assert _status(dms, arn)["Status"] == "deleting"
    event = asyncio.run(_first_event(settle.value.trigger))
    # A task being deleted is as gone as one DMS no longer finds: no retry can start it.
    assert event == {
        "status": "gone",
        "message": f"Replication task {arn} is being deleted.",
        "replication_task_arn": arn,
    }
    # A vanished task fails without retries (AirflowFailException), naming the way out.
    with pytest.raises(AirflowFailException, match="being deleted. Trigger a new DAG run") as failure:
        op.execute_startable(context_factory(), event)
    assert isinstance(failure.value, DmsResourceError)

    time.sleep(DELETING_SECONDS + 0.5)  # gone from DescribeReplicationTasks
    event = asyncio.run(_first_event(settle.value.trigger))
    assert event["status"] == "gone" and event["message"] == f"Replication task {arn} no longer exists."
    with pytest.raises(AirflowFailException, match="no longer exists. Trigger a new DAG run"):
        op.execute_startable(context_factory(), event)


def test_task_being_deleted_fails_the_synchronous_wait_without_retries(
    creating_task: Callable[..., str], dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = creating_task()
    dms.delete_replication_task(ReplicationTaskArn=arn)
    refused = "is deleting and cannot be started.*Trigger a new DAG run"
    with pytest.raises(AirflowFailException, match=refused):
        _start_op(arn, deferrable=False).execute(context_factory())


@pytest.mark.parametrize(
    "event", [None, {}, {"status": "odd", "message": "?"}, {"message": "no status"}], ids=repr
)
def test_invalid_startable_events(
    creating_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]], event: Any
) -> None:
    with pytest.raises(DmsResourceError, match="startable ended with an invalid event"):
        _start_op(creating_task()).execute_startable(context_factory(), event)


def test_error_event_names_the_task(
    creating_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = creating_task()
    event = {"status": "error", "message": "DMS call failed: throttled", "replication_task_arn": arn}
    with pytest.raises(DmsResourceError, match=f"{arn} could not be read: DMS call failed"):
        _start_op(arn).execute_startable(context_factory(), event)


def test_synchronous_mode_still_polls_then_starts(
    creating_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    summary = _start_op(creating_task(), deferrable=False).execute(context_factory())
    assert summary["started"] is True
    assert summary["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"


def test_reload_defers_until_the_temporary_task_is_startable(
    migrated_task: Callable[..., Any],
    dms: Any,
    run_sql: Callable[[str, str], None],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task("full-load")
    run_sql(task.target_db, "UPDATE t1 SET v = 'tampered' WHERE id = 7")
    temp_id = temporary_task_identifier(task.identifier, [TableRef("public", "t1")])
    op = NeonDmsReloadTablesOperator(
        task_id="reload",
        replication_task_arn=task.arn,
        tables=["public.t1"],
        deferrable=True,
        waiter_delay=0.2,
        max_wait=60,
        settle_timeout=60,
    )
    context = context_factory()
    with pytest.raises(TaskDeferred) as settle:
        op.execute(context)
    trigger = settle.value.trigger
    assert isinstance(trigger, NeonDmsTaskStartableTrigger)
    assert settle.value.method_name == "execute_temporary_startable"
    [temp] = [
        t
        for t in dms.describe_replication_tasks()["ReplicationTasks"]
        if t["ReplicationTaskIdentifier"] == temp_id
    ]
    assert temp["Status"] == "creating"
    assert trigger.replication_task_arn == temp["ReplicationTaskArn"]

    event = asyncio.run(_first_event(trigger))
    assert event["status"] == "success"
    # Resumed without the deferral kwargs (as dag.test() does): the event names the temporary task.
    with pytest.raises(TaskDeferred) as run:
        op.execute_temporary_startable(context_factory(context["dag_run"].start_date), event)
    assert isinstance(run.value.trigger, NeonDmsTaskCompletionTrigger)
    done = asyncio.run(_first_event(run.value.trigger))
    result = op.execute_complete_temporary(context_factory(), done)
    assert result["method"] == METHOD_TEMPORARY_TASK
    assert result["temporary_task_identifier"] == temp_id
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")
    assert temp_id not in {
        t["ReplicationTaskIdentifier"] for t in dms.describe_replication_tasks()["ReplicationTasks"]
    }


def test_reload_failed_settle_deletes_the_temporary_task(
    migrated_task: Callable[..., Any], dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = migrated_task("full-load")
    temp_id = temporary_task_identifier(task.identifier, [TableRef("public", "t0")])
    op = NeonDmsReloadTablesOperator(
        task_id="reload",
        replication_task_arn=task.arn,
        tables=["public.t0"],
        deferrable=True,
        settle_timeout=1,
    )
    with pytest.raises(TaskDeferred) as settle:
        op.execute(context_factory())
    temp_arn = settle.value.trigger.replication_task_arn
    event = {"status": "timeout", "message": "still creating", "replication_task_arn": temp_arn}
    with pytest.raises(DmsResourceError, match="did not become startable within 1 s"):
        op.execute_temporary_startable(context_factory(), event)
    assert temp_id not in {
        t["ReplicationTaskIdentifier"] for t in dms.describe_replication_tasks()["ReplicationTasks"]
    }


def test_settle_timeout_raises_instead_of_starting_anyway(
    creating_task: Callable[..., str], aws_conn: str, dms: Any
) -> None:
    arn = creating_task()
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    with pytest.raises(DmsResourceError, match="did not become startable within 0 s, so it was not started"):
        hook.start_task(arn, "start-replication", settle_timeout=0.2, settle_delay=0.1)
    task = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])[
        "ReplicationTasks"
    ][0]
    assert "StartDate" not in task.get("ReplicationTaskStats", {})

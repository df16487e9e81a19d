"""NeonDmsValidationOperator on the local DMS emulator: report, XCom, failures, deferral."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.exceptions import (
    DmsResourceError,
    ReplicationTaskFailedError,
    TableValidationFailedError,
)
from airflow_neon_dms.operators.validation import FAILED_TABLES_KEY, NeonDmsValidationOperator
from airflow_neon_dms.triggers.table_statistics import NeonDmsTableStatisticsTrigger


def _op(arn: str, **kwargs: Any) -> NeonDmsValidationOperator:
    kwargs.setdefault("waiter_delay", 0.2)
    kwargs.setdefault("max_wait", 60)
    return NeonDmsValidationOperator(task_id="validate", replication_task_arn=arn, **kwargs)


TAMPER = {
    "t1": "UPDATE t1 SET v = 'tampered' WHERE id = 7",
    "t2": "UPDATE t2 SET v = 'tampered' WHERE id = 7",
}


def _mismatch(dms: Any, task: Any, run_sql: Callable[[str, str], None], table: str = "t1") -> None:
    run_sql(task.target_db, TAMPER[table])
    dms.reload_tables(
        ReplicationTaskArn=task.arn,
        TablesToReload=[{"SchemaName": "public", "TableName": table}],
        ReloadOption="validate-only",
    )


def test_template_fields() -> None:
    assert {"replication_task_arn", "aws_conn_id"} <= set(NeonDmsValidationOperator.template_fields)


def test_all_validated_reports_every_table(
    migrated_task: Callable[..., Any],
    context_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = migrated_task()
    context = context_factory()
    result = _op(task.arn, deferrable=False).execute(context)
    logged = capsys.readouterr().out
    assert result["failed_tables"] == []
    assert context["ti"].xcom[FAILED_TABLES_KEY] == []
    assert result["no_primary_key"] == [{"schema": "public", "table": "nopk"}]
    assert result["summary"] == {"tables": 4, "rows": 200, "failed": 0, "validated": 3, "unchecked": 1}
    assert {t["table"]: t["validation_state"] for t in result["tables"]}["t0"] == "Validated"
    table_lines = [line for line in logged.splitlines() if "nopk" in line and "No primary key" in line]
    assert table_lines and "unchecked" in table_lines[0]


def test_unchecked_tables_can_fail_the_step(
    migrated_task: Callable[..., Any], context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = migrated_task()
    with pytest.raises(TableValidationFailedError, match=r"could not be validated: public\.nopk"):
        _op(task.arn, deferrable=False, fail_on_unchecked=True).execute(context_factory())


def test_mismatch_fails_listing_exactly_that_table(
    migrated_task: Callable[..., Any],
    dms: Any,
    run_sql: Callable[[str, str], None],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task()
    _mismatch(dms, task, run_sql)
    context = context_factory()
    with pytest.raises(TableValidationFailedError) as failure:
        _op(task.arn, deferrable=False).execute(context)
    assert "1 table(s) failed" in str(failure.value)
    assert "public.t1 (Mismatched records)" in str(failure.value)
    assert context["ti"].xcom[FAILED_TABLES_KEY] == [{"schema": "public", "table": "t1"}]


def test_report_without_failing_for_a_branching_dag(
    migrated_task: Callable[..., Any],
    dms: Any,
    run_sql: Callable[[str, str], None],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task()
    _mismatch(dms, task, run_sql, "t2")
    result = _op(task.arn, deferrable=False, fail_on_failed_tables=False).execute(context_factory())
    assert result["failed_tables"] == [{"schema": "public", "table": "t2"}]
    [t2] = [t for t in result["tables"] if t["table"] == "t2"]
    assert t2["failed_records"] == 1


def test_defers_until_the_task_lists_its_tables(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    arn = dms.create_replication_task(
        ReplicationTaskIdentifier=unique_id("task"),
        SourceEndpointArn=endpoint_pair.source_arn,
        TargetEndpointArn=endpoint_pair.target_arn,
        ReplicationInstanceArn=replication_instance_arn,
        MigrationType="full-load",
        TableMappings=TableMappings.include("public").to_json(),
    )["ReplicationTask"]["ReplicationTaskArn"]
    op = _op(arn, deferrable=True, max_wait=30)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    trigger = deferred.value.trigger
    assert isinstance(trigger, NeonDmsTableStatisticsTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert trigger.serialize()[1]["replication_task_arn"] == arn
    trigger.deadline = time.time() - 1  # the wait's time is up: the next poll ends it
    event = asyncio.run(_first_event(trigger))
    assert event["status"] == "timeout"
    assert "no table statistics yet" in event["message"]
    with pytest.raises(DmsResourceError, match="did not settle within 30 s"):
        op.execute_complete(context_factory(), event)


def test_deferred_completion_reports_like_the_sync_path(
    migrated_task: Callable[..., Any],
    dms: Any,
    run_sql: Callable[[str, str], None],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task()
    _mismatch(dms, task, run_sql)
    trigger = NeonDmsTableStatisticsTrigger(
        replication_task_arn=task.arn, deadline=time.time() + 60, waiter_delay=0.2
    )
    event = asyncio.run(_first_event(trigger))
    assert event == {
        "status": "success",
        "message": f"All 4 table(s) of {task.arn} have settled.",
        "replication_task_arn": task.arn,
    }
    context = context_factory()
    with pytest.raises(TableValidationFailedError, match=r"public\.t1 \(Mismatched records\)"):
        _op(task.arn).execute_complete(context, event)
    assert context["ti"].xcom[FAILED_TABLES_KEY] == [{"schema": "public", "table": "t1"}]


async def _first_event(trigger: NeonDmsTableStatisticsTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger yielded no event")


@pytest.mark.parametrize("event", [None, {"status": "nope"}])
def test_invalid_events(event: Any, context_factory: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(DmsResourceError, match="invalid event"):
        _op("arn:t").execute_complete(context_factory(), event)


def test_timeout_event(context_factory: Callable[..., dict[str, Any]]) -> None:
    event = {"status": "timeout", "message": "2 table(s) still pending", "replication_task_arn": "arn:t"}
    with pytest.raises(DmsResourceError, match="did not settle within 60 s: 2 table"):
        _op("arn:t").execute_complete(context_factory(), event)


def test_retry_gives_the_same_report(
    migrated_task: Callable[..., Any], context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = migrated_task()
    first = _op(task.arn, deferrable=False).execute(context_factory())
    assert _op(task.arn, deferrable=False).execute(context_factory()) == first


def test_failed_task_fails_at_once_with_its_message(
    aws_conn: str,
    dms: Any,
    pg_server: Any,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    bad_source = dms.create_endpoint(
        EndpointIdentifier=unique_id("source"),
        EndpointType="source",
        EngineName="postgres",
        ServerName=pg_server.host,
        Port=pg_server.port,
        DatabaseName="no_such_database_here",
        Username=pg_server.user,
        Password="unused",
    )["Endpoint"]["EndpointArn"]
    arn = dms.create_replication_task(
        ReplicationTaskIdentifier=unique_id("task"),
        SourceEndpointArn=bad_source,
        TargetEndpointArn=endpoint_pair.target_arn,
        ReplicationInstanceArn=replication_instance_arn,
        MigrationType="full-load",
        TableMappings=TableMappings.include("public").to_json(),
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.get_waiter("replication_task_ready").wait(
        Filters=[{"Name": "replication-task-arn", "Values": [arn]}], WaiterConfig={"Delay": 1}
    )
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    for _ in range(300):
        status = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])[
            "ReplicationTasks"
        ][0]["Status"]
        if status == "failed":
            break
        time.sleep(0.1)
    with pytest.raises(
        ReplicationTaskFailedError, match="no_such_database_here.*Fix the load before validating"
    ):
        _op(arn, deferrable=True).execute(context_factory())

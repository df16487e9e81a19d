"""NeonDmsStartTaskOperator: idempotent start, the wait, deferral and the verdicts, on real databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, ReplicationTaskFailedError
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger


@pytest.fixture
def make_task(
    aws_conn: str,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    stop_tasks_after: list[str],
) -> Callable[..., str]:
    def make(migration_type: str = "full-load", source_arn: str | None = None) -> str:
        arn, _ = NeonDmsHook(aws_conn_id=aws_conn).ensure_task(
            unique_id("task"),
            source_endpoint_arn=source_arn or endpoint_pair.source_arn,
            target_endpoint_arn=endpoint_pair.target_arn,
            replication_instance_arn=replication_instance_arn,
            migration_type=migration_type,
            table_mappings=TableMappings.include("public").to_json(),
            task_settings=TaskSettings().to_json(),
        )
        stop_tasks_after.append(arn)
        return arn

    return make


def _op(arn: str, **kwargs: Any) -> NeonDmsStartTaskOperator:
    kwargs.setdefault("waiter_delay", 0.2)
    kwargs.setdefault("settle_timeout", 30)
    kwargs.setdefault("max_wait", 120)
    return NeonDmsStartTaskOperator(task_id="start", replication_task_arn=arn, **kwargs)


def test_template_fields() -> None:
    assert {"replication_task_arn", "start_type", "aws_conn_id"} <= set(
        NeonDmsStartTaskOperator.template_fields
    )


def test_full_load_runs_to_finished_and_rows_arrive(
    make_task: Callable[..., str],
    endpoint_pair: Any,
    pg_server: Any,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    summary = _op(make_task(), deferrable=False).execute(context_factory())
    assert summary["status"] == "stopped"
    assert summary["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert summary["started"] is True
    with psycopg.connect(pg_server.dsn(endpoint_pair.target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (120,)


def test_retry_after_the_run_finished_does_not_start_it_again(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task()
    context = context_factory()
    first = _op(arn, deferrable=False).execute(context)
    retry = _op(arn, deferrable=False).execute(context_factory(context["dag_run"].start_date))
    assert retry["started"] is False
    assert {k: v for k, v in retry.items() if k != "started"} == {
        k: v for k, v in first.items() if k != "started"
    }


def test_deferred_path_returns_what_the_sync_path_returns(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task()
    op = _op(arn, deferrable=True)
    try:
        sync_like = op.execute(context_factory())  # finished before the first check: no deferral
    except TaskDeferred as deferred:
        trigger = deferred.trigger
        assert isinstance(trigger, NeonDmsTaskCompletionTrigger)

        async def first_event() -> dict[str, Any]:
            async for event in trigger.run():
                return dict(event.payload)
            raise AssertionError("trigger yielded nothing")

        event = asyncio.run(first_event())
        sync_like = op.execute_complete(context_factory(), event, **(deferred.kwargs or {}))
    assert sync_like["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert sync_like["replication_task_arn"] == arn


def test_unreachable_source_fails_with_stop_reason_and_dms_message(
    make_task: Callable[..., str],
    dms: Any,
    pg_server: Any,
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
    with pytest.raises(ReplicationTaskFailedError) as failure:
        _op(make_task(source_arn=bad_source), deferrable=False).execute(context_factory())
    text = str(failure.value)
    assert "FATAL_ERROR" in text
    assert "no_such_database_here" in text
    assert "CloudWatch log" in text


def test_defers_while_running_and_a_retry_does_not_start_again(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task("full-load-and-cdc")
    context = context_factory()
    with pytest.raises(TaskDeferred) as first:
        _op(arn, deferrable=True, wait_for_cdc_stop=True).execute(context)
    assert isinstance(first.value.trigger, NeonDmsTaskCompletionTrigger)
    assert first.value.method_name == "execute_complete"
    assert first.value.kwargs == {"started": True}
    kwargs = first.value.trigger.serialize()[1]
    assert kwargs["replication_task_arn"] == arn and kwargs["wait_for_cdc_stop"] is True
    assert context["ti"].xcom["neon_dms_task"]["task_id"]
    # The worker crashed and Airflow retries the task in the same DAG run.
    with pytest.raises(TaskDeferred) as retry:
        _op(arn, deferrable=True, wait_for_cdc_stop=True).execute(
            context_factory(context["dag_run"].start_date)
        )
    assert retry.value.kwargs == {"started": False}


def test_cdc_task_succeeds_once_full_load_is_done(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    summary = _op(make_task("full-load-and-cdc"), deferrable=False).execute(context_factory())
    assert summary["status"] == "running"
    assert summary["full_load_progress_percent"] == 100


def test_without_waiting_returns_the_summary(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task("full-load-and-cdc")
    summary = _op(arn, wait_for_completion=False).execute(context_factory())
    assert summary["replication_task_arn"] == arn
    assert summary["started"] is True


def test_sync_wait_gives_up_with_advice(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task("full-load-and-cdc")
    with pytest.raises(DmsResourceError, match="did not finish within 1 s.*will not start a second run"):
        _op(arn, deferrable=False, wait_for_cdc_stop=True, max_wait=0.6).execute(context_factory())


def test_failed_event_raises_with_stop_reason(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task()
    message = (
        "Replication task x stopped before finishing: Stop Reason FATAL_ERROR. Error: connection refused."
    )
    with pytest.raises(ReplicationTaskFailedError, match="Stop Reason FATAL_ERROR.*CloudWatch log"):
        _op(arn).execute_complete(
            context_factory(), {"status": "failed", "message": message, "replication_task_arn": arn}
        )


@pytest.mark.parametrize("event", [None, {"status": "odd"}, {"message": "no status"}])
def test_invalid_events(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]], event: Any
) -> None:
    with pytest.raises(DmsResourceError, match="invalid event"):
        _op(make_task()).execute_complete(context_factory(), event)


def test_bad_start_type(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(NeonConfigError, match="start_type 'go'"):
        _op(make_task(), start_type="go").execute(context_factory())

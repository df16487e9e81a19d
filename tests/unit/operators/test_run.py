"""DmsStartTaskOperator: idempotent start, the wait, deferral and the verdicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, ReplicationTaskFailedError
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.mappings import TableMappings
from airflow_neon_dms.operators.run import DmsStartTaskOperator
from airflow_neon_dms.settings import TaskSettings
from airflow_neon_dms.triggers.task import DmsTaskCompletionTrigger


@pytest.fixture
def make_task(
    aws_conn: str, endpoint_pair: Any, replication_instance_arn: str, unique_id: Callable[[str], str]
) -> Callable[[str], str]:
    def make(migration_type: str = "full-load") -> str:
        arn, _ = NeonDmsHook(aws_conn_id=aws_conn).ensure_task(
            unique_id("task"),
            source_endpoint_arn=endpoint_pair.source_arn,
            target_endpoint_arn=endpoint_pair.target_arn,
            replication_instance_arn=replication_instance_arn,
            migration_type=migration_type,
            table_mappings=TableMappings.include("public").to_json(),
            task_settings=TaskSettings().to_json(),
        )
        return arn

    return make


def _op(arn: str, **kwargs: Any) -> DmsStartTaskOperator:
    kwargs.setdefault("waiter_delay", 0.1)
    kwargs.setdefault("settle_timeout", 0.5)
    return DmsStartTaskOperator(task_id="start", replication_task_arn=arn, **kwargs)


def test_template_fields() -> None:
    assert {"replication_task_arn", "start_type", "aws_conn_id"} <= set(DmsStartTaskOperator.template_fields)


def test_defers_after_starting_and_a_retry_does_not_start_again(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task()
    context = context_factory()
    with pytest.raises(TaskDeferred) as first:
        _op(arn, deferrable=True).execute(context)
    assert isinstance(first.value.trigger, DmsTaskCompletionTrigger)
    assert first.value.method_name == "execute_complete"
    assert first.value.kwargs == {"started": True}
    assert first.value.trigger.serialize()[1]["replication_task_arn"] == arn
    assert context["ti"].xcom["neon_dms_task"]["task_id"]
    # The worker crashed and Airflow retries the task in the same DAG run.
    with pytest.raises(TaskDeferred) as retry:
        _op(arn, deferrable=True).execute(context_factory(context["dag_run"].start_date))
    assert retry.value.kwargs == {"started": False}


def test_without_waiting_returns_the_summary(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task()
    summary = _op(arn, wait_for_completion=False).execute(context_factory())
    assert summary["replication_task_arn"] == arn
    assert summary["started"] is True
    assert summary["status"] in ("starting", "running", "stopped")


def test_cdc_task_succeeds_once_full_load_is_done(
    make_task: Callable[..., str], dms_server: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task("full-load-and-cdc")
    summary = _op(arn, deferrable=False, max_wait=60).execute(context_factory())
    assert summary["status"] == "running"
    assert summary["full_load_progress_percent"] == 100


def test_sync_wait_gives_up_with_advice(
    make_task: Callable[..., str], dms_server: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    if dms_server.kind != "moto":
        pytest.skip("needs a task that never finishes (moto's full-load tasks run forever)")
    arn = make_task()
    with pytest.raises(DmsResourceError, match="did not finish within 0 s.*will not start a second run"):
        _op(arn, deferrable=False, max_wait=0.3).execute(context_factory())


def test_success_event_returns_the_same_summary_as_the_sync_path(
    make_task: Callable[..., str], context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = make_task()
    op = _op(arn)
    result = op.execute_complete(
        context_factory(),
        {"status": "success", "message": "done", "replication_task_arn": arn},
        started=False,
    )
    assert result["replication_task_arn"] == arn
    assert result["started"] is False


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

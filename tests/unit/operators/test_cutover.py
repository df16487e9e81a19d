"""NeonDmsCutoverOperator on moto's DMS and CloudWatch: catch up after the request, then stop.

A writer thread publishes the AWS/DMS datapoints a CDC task would (high resolution, period 1 s),
so the wait sees fresh data after the cutover began. The source position comes from a real
PostgreSQL database through an Airflow connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.dms.lag import CDC_INCOMING_CHANGES, CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, ReplicationTaskFailedError
from airflow_neon_dms.operators.cutover import NeonDmsCutoverOperator
from airflow_neon_dms.triggers.cutover import NeonDmsTaskStoppedTrigger
from airflow_neon_dms.triggers.lag import NeonDmsMetricsWindowTrigger
from tests.unit.moto_cloudwatch import MotoTask, moto_conn, moto_task, moto_url

__all__ = ["moto_conn", "moto_task", "moto_url"]


@contextmanager
def publishing(task: MotoTask, incoming: float = 0, latency: float = 0) -> Iterator[None]:
    """Publish the three CDC metrics every 0.2 s until the block ends."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            now = time.time()
            task.put(CDC_INCOMING_CHANGES, [(now, incoming)])
            task.put(CDC_LATENCY_SOURCE, [(now, latency)])
            task.put(CDC_LATENCY_TARGET, [(now, latency)])
            stop.wait(0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def status(task: MotoTask) -> str:
    found = task.dms.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task.arn]}]
    )
    return str(found["ReplicationTasks"][0]["Status"])


@pytest.fixture
def source_conn(pg_server: Any, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    conn = {
        "conn_type": "postgres",
        "host": pg_server.host,
        "port": pg_server.port,
        "login": pg_server.user,
        "password": pg_server.password or None,
        "schema": pg_database,
    }
    monkeypatch.setenv("AIRFLOW_CONN_CUTOVER_SRC", json.dumps(conn))
    return "cutover_src"


def cutover(task: MotoTask, conn: str, **kwargs: Any) -> NeonDmsCutoverOperator:
    args: dict[str, Any] = {
        "period": 1,
        "catch_up_seconds": 2,
        "waiter_delay": 0.2,
        "max_wait": 120,
        "deferrable": False,
        "aws_conn_id": conn,
        **kwargs,
    }
    return NeonDmsCutoverOperator(task_id="cutover", replication_task_arn=task.arn, **args)


def test_caught_up_task_is_stopped_and_the_facts_returned(
    moto_task: Callable[[], MotoTask],
    moto_conn: str,
    source_conn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = moto_task()
    with publishing(task):
        facts = cutover(task, moto_conn, source_conn_id=source_conn).execute(context_factory())
    assert status(task) == "stopped" and facts["status"] == "stopped"
    assert facts["replication_task_arn"] == task.arn
    assert facts["requested_at"] <= facts["caught_up_at"] <= facts["stop_requested_at"]
    assert facts["stopped_at"] is not None
    for key in ("source_position_at_request", "source_position_after_stop"):
        assert facts[key]["engine"] == "postgresql" and "/" in facts[key]["position"]
    json.dumps(facts)  # the XCom value is JSON


def test_changes_still_arriving_never_stop_the_task(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    with publishing(task, incoming=3), pytest.raises(DmsResourceError, match="Nothing is lost"):
        cutover(task, moto_conn, max_wait=3).execute(context_factory())
    assert status(task) == "running"


def test_old_quiet_datapoints_do_not_count(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    """Quiet data from before the request, then nothing: the wait cannot pass on stale evidence."""
    task = moto_task()
    with publishing(task):
        time.sleep(1.5)
    with pytest.raises(DmsResourceError, match="catch up did not happen"):
        cutover(task, moto_conn, max_wait=2).execute(context_factory())
    assert status(task) == "running"


def test_deferrable_cutover_defers_then_stops_on_success(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    op = cutover(task, moto_conn, deferrable=True, max_lag_seconds=2)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    trigger = deferred.value.trigger
    assert isinstance(trigger, NeonDmsMetricsWindowTrigger)
    assert deferred.value.method_name == "execute_stop"
    kwargs = trigger.serialize()[1]
    facts = deferred.value.kwargs["facts"]
    assert kwargs["not_before"] is not None and facts["requested_at"] is not None
    assert kwargs["limits"] == {CDC_INCOMING_CHANGES: 0, CDC_LATENCY_SOURCE: 2, CDC_LATENCY_TARGET: 2}
    assert kwargs["deadline"] == deferred.value.kwargs["deadline"]
    assert status(task) == "running"

    event = {"status": "success", "message": "caught up", "replication_task_arn": task.arn}
    result = op.execute_stop(context_factory(), event, **deferred.value.kwargs)
    assert status(task) == "stopped" and result["requested_at"] == facts["requested_at"]


def test_resumes_from_xcom_when_the_defer_kwargs_are_dropped(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    """``dag.test()`` resumes with the event only; the progress pushed to XCom carries the facts."""
    task = moto_task()
    op = cutover(task, moto_conn, deferrable=True)
    context = context_factory()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    saved = context["ti"].xcom["cutover_progress"]
    assert saved == {"facts": deferred.value.kwargs["facts"], "deadline": deferred.value.kwargs["deadline"]}
    event = {"status": "success", "message": "caught up", "replication_task_arn": task.arn}
    result = op.execute_stop(context, event)
    assert status(task) == "stopped"
    assert result["requested_at"] == saved["facts"]["requested_at"] and result["stop_requested_at"]


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"status": "failed", "message": "task is stopped"}, ReplicationTaskFailedError),
        ({"status": "timeout", "message": "CDCIncomingChanges is 4"}, DmsResourceError),
        ({"status": "error", "message": "throttled"}, DmsResourceError),
        (None, DmsResourceError),
        ({"status": "caught-up"}, DmsResourceError),
    ],
)
def test_no_stop_without_a_success_event(
    moto_task: Callable[[], MotoTask],
    moto_conn: str,
    context_factory: Callable[..., dict[str, Any]],
    event: dict[str, Any] | None,
    error: type[Exception],
) -> None:
    task = moto_task()
    op = cutover(task, moto_conn, deferrable=True)
    with pytest.raises(error):
        op.execute_stop(context_factory(), event, facts={"requested_at": None}, deadline=time.time() + 60)
    assert status(task) == "running"


def test_stop_wait_defers_and_completes(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    op = cutover(task, moto_conn, deferrable=True)
    facts = {"requested_at": "2026-01-01T00:00:00+00:00"}
    with pytest.raises(DmsResourceError, match="stop did not happen"):
        op.execute_complete(context_factory(), {"status": "timeout", "message": "stopping"}, facts=facts)
    task.dms.stop_replication_task(ReplicationTaskArn=task.arn)
    result = op.execute_complete(
        context_factory(),
        {"status": "success", "message": "stopped", "replication_task_arn": task.arn},
        facts=facts,
    )
    assert result["requested_at"] == facts["requested_at"] and result["status"] == "stopped"
    trigger = NeonDmsTaskStoppedTrigger(replication_task_arn=task.arn, deadline=1.0, **op.aws_kwargs)
    assert trigger.serialize()[1]["aws_conn_id"] == moto_conn


def test_a_retry_after_the_stop_reports_without_stopping_again(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = moto_task()
    task.dms.stop_replication_task(ReplicationTaskArn=task.arn)
    facts = cutover(task, moto_conn).execute(context_factory())
    assert facts["status"] == "stopped" and facts["requested_at"] is None


def test_bad_arguments_are_clear(
    moto_task: Callable[[], MotoTask], moto_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(NeonConfigError, match="period"):
        NeonDmsCutoverOperator(task_id="c", replication_task_arn="arn:aws:dms:r:1:task:T", period=0)
    task = moto_task()
    with pytest.raises(NeonConfigError, match="threshold"):
        cutover(task, moto_conn, max_lag_seconds=-1).execute(context_factory())
    assert status(task) == "running"

"""A first run of the example DAG in a real Airflow deployment, driven through the REST API.

Scheduler with the LocalExecutor, triggerer, dag-processor and api-server as separate processes on
a PostgreSQL metadata database, ``[operators] default_deferrable = True``: the waits must really
go to the triggerer, every task must succeed, the report must say every table is identical, and
no secret may show in a task log or an XCom the API hands out.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_neon_dms.local.sample_data import MIGRATED_TABLES
from tests.deployment.api import AirflowApi, RunWatch
from tests.deployment.harness import DAG_ID, Deployment, raced_tasks

pytestmark = pytest.mark.deployment

#: The tasks whose waits defer when default_deferrable is on (the DMS tasks of the example DAG).
WAITING_TASKS = {
    "test_source_connection",
    "test_neon_connection",
    "run_full_load",
    "premigration_assessment",
    "check_validation",
    "reload_failed_tables",
}


@pytest.fixture(scope="module")
def first_run(deployment: Deployment) -> tuple[str, dict[str, Any], RunWatch]:
    watch = RunWatch()
    run_id = deployment.api.trigger(DAG_ID, conf={"source_schema": "public"})
    run = deployment.api.wait_for_run(DAG_ID, run_id, watch=watch)
    return run_id, run, watch


def test_run_succeeds_and_every_task_succeeded(
    api: AirflowApi, first_run: tuple[str, dict, RunWatch]
) -> None:
    run_id, run, _ = first_run
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
    assert run["state"] == "success", states
    # The corrupted first load of orders makes the branch go through the reload.
    assert states["reload_failed_tables"] == "success", states
    # Every step ran and succeeded, but for the paths this run did not take: serverless compute and
    # the CDC cutover, which their branches skip.
    not_run = {task for task, state in states.items() if state != "success"}
    assert all(task.startswith(("serverless.", "cdc.")) for task in not_run), states
    assert all(states[task] == "skipped" for task in not_run), states


def test_waits_were_deferred_to_the_triggerer(
    deployment: Deployment, api: AirflowApi, first_run: tuple[str, dict, RunWatch]
) -> None:
    run_id, _, watch = first_run
    logs = list(api.all_task_logs(DAG_ID, run_id))
    # The triggerer writes its part of a deferred task's log; the API merges it into the task log.
    ran_in_triggerer = {task for task, _, text in logs if "Trigger fired event" in text}
    # A try lost to Airflow's deferral race (below) may have no log of its own; the worker's lines
    # still reach the scheduler's log (LocalExecutor), where its deferral shows.
    scheduler_log = deployment.component_log("scheduler")
    ran_in_triggerer |= {
        task
        for task in raced_tasks(scheduler_log, WAITING_TASKS)
        if any(
            "Pausing task as DEFERRED" in line and f"task_id={task} " in line
            for line in scheduler_log.splitlines()
        )
    }
    assert {"test_source_connection", "test_neon_connection", "run_full_load"} <= ran_in_triggerer, watch.seen
    assert ran_in_triggerer <= WAITING_TASKS
    # Deferring does not use up a try. The one exception is Airflow's own race (apache/airflow
    # issues 67287 and 72716): the scheduler reads the worker's exit after defer() as the end of
    # the try the trigger has already resumed, and marks it up_for_retry.
    retried = {task for task, number, _ in logs if number > 1}
    assert retried <= raced_tasks(scheduler_log, WAITING_TASKS), retried


def test_report_says_identical(api: AirflowApi, first_run: tuple[str, dict, RunWatch]) -> None:
    run_id, _, _ = first_run
    report = api.xcoms(DAG_ID, run_id, "report")["return_value"]
    assert report["verified"] is True
    assert {row["table"] for row in report["tables"]} == {f"public.{t}" for t in MIGRATED_TABLES}
    assert all(row.get("identical") for row in report["tables"]), report


def test_no_secret_in_any_task_log_or_xcom(
    deployment: Deployment, api: AirflowApi, first_run: tuple[str, dict, RunWatch]
) -> None:
    run_id, _, _ = first_run
    password = deployment.neon_password
    composed = f"endpoint=ep-local-demo${password}"
    logs = list(api.all_task_logs(DAG_ID, run_id))
    assert {task for task, _, _ in logs} >= WAITING_TASKS
    assert any("neon_endpoint" == task and text for task, _, text in logs)
    for task, try_number, text in logs:
        assert password not in text, f"{task} try {try_number} logs the Neon password"
        assert composed not in text
    for ti in api.task_instances(DAG_ID, run_id):
        for key, value in api.xcoms(DAG_ID, run_id, ti["task_id"]).items():
            assert password not in str(value), f"XCom {ti['task_id']}.{key} holds the Neon password"
    for component in ("scheduler", "triggerer", "api-server", "dag-processor"):
        assert password not in deployment.component_log(component), f"the {component} log has the password"

"""Day two in a real deployment: a rotated Neon password reaches DMS, and an error no retry can
fix fails the step in one try.

One deployment serves both scenarios: ``neon_target`` lives in the metadata database (so it can
be changed between runs through the REST API, as in the UI) and every database login takes a
password (so the old Neon password really stops working). A new DMS task stays ``creating`` for
``CREATING_SECONDS``, so the run's wait before starting it can be caught deferred.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.deployment.api import AirflowApi, RunWatch, task_in
from tests.deployment.conftest import start_deployment
from tests.deployment.harness import DAG_ID, Deployment, DeploymentOptions, raced_tasks

pytestmark = [pytest.mark.deployment, pytest.mark.slow]

#: Seconds a new DMS task stays ``creating`` in the emulator (real DMS: about a minute).
CREATING_SECONDS = 20
#: The premigration assessment is test_first_run's; these scenarios go straight to the load.
NO_ASSESSMENT = {"premigration_assessment": False}
#: The fingerprint tag the Neon endpoint carries (airflow_neon_dms.dms.password_fingerprint).
FINGERPRINT_TAG = "neon-dms:password-fingerprint"


@pytest.fixture(scope="module")
def deployment(pg_server: Any) -> Iterator[Deployment]:
    options = DeploymentOptions(
        corrupt=None,
        neon_connection="metadata",
        password_auth=True,
        task_creating_seconds=CREATING_SECONDS,
    )
    yield from start_deployment(pg_server, options)


def _states(api: AirflowApi, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}


def _tags(deployment: Deployment, arn: str) -> dict[str, str]:
    tag_list = deployment.dms_client().list_tags_for_resource(ResourceArn=arn)["TagList"]
    return {tag["Key"]: tag["Value"] for tag in tag_list}


def _tries(api: AirflowApi, run_id: str, task_id: str) -> int:
    return int(api.task_instance(DAG_ID, run_id, task_id)["try_number"])


# -- a password rotation between two runs (issue: "A rotated Neon password never reaches DMS") ----
@pytest.fixture(scope="module")
def rotation(deployment: Deployment) -> dict[str, Any]:
    """Run, rotate the Neon password (ALTER ROLE, then neon_target through the REST API), run again."""
    api = deployment.api
    old_password = deployment.neon_password
    first = api.trigger(DAG_ID, conf=NO_ASSESSMENT)
    first_run = api.wait_for_run(DAG_ID, first)
    assert first_run["state"] == "success", _states(api, first)
    endpoint_arn = api.xcoms(DAG_ID, first, "neon_endpoint")["return_value"]
    tag_before = _tags(deployment, endpoint_arn).get(FINGERPRINT_TAG)

    new_password = deployment.rotate_neon_password()
    old_dsn = deployment.neon_owner_dsn.replace(new_password, old_password)
    with pytest.raises(psycopg.OperationalError):  # the rotation is real: the old password is refused
        psycopg.connect(old_dsn, connect_timeout=10).close()

    watch = RunWatch()
    second = api.trigger(DAG_ID, conf=NO_ASSESSMENT)
    second_run = api.wait_for_run(DAG_ID, second, watch=watch)
    return {
        "runs": (first, second),
        "second_run": second_run,
        "watch": watch,
        "endpoint_arn": endpoint_arn,
        "tag_before": tag_before,
        "passwords": (old_password, new_password),
    }


def test_the_run_after_a_rotation_succeeds_with_the_new_password(
    deployment: Deployment, rotation: dict[str, Any]
) -> None:
    api = deployment.api
    first, second = rotation["runs"]
    assert rotation["second_run"]["state"] == "success", (_states(api, second), rotation["watch"].seen)
    # The Neon endpoint of the first run is reused, with the new password sent to it.
    assert api.xcoms(DAG_ID, second, "neon_endpoint")["return_value"] == rotation["endpoint_arn"]
    log = api.task_log(DAG_ID, second, "neon_endpoint", _tries(api, second, "neon_endpoint"))
    assert "differs in Password; modifying it" in log, log[-3000:]
    assert f"modified: {rotation['endpoint_arn']}" in log
    # The connection test from the replication instance passed at once: DMS had the new password
    # (before the fix it failed every try). A try lost to Airflow's deferral race is not DMS's.
    raced = raced_tasks(deployment.component_log("scheduler"), ["test_neon_connection"], second)
    assert _tries(api, second, "test_neon_connection") == 1 or raced
    assert "up_for_retry" not in rotation["watch"].seen["test_neon_connection"] or raced
    report = api.xcoms(DAG_ID, second, "report")["return_value"]
    assert report["verified"] is True and all(row.get("identical") for row in report["tables"]), report


def test_the_fingerprint_tag_changed_and_holds_no_password(
    deployment: Deployment, rotation: dict[str, Any]
) -> None:
    tags = _tags(deployment, rotation["endpoint_arn"])
    assert rotation["tag_before"] and tags.get(FINGERPRINT_TAG)
    assert tags[FINGERPRINT_TAG] != rotation["tag_before"]
    endpoints = deployment.dms_client().describe_endpoints()["Endpoints"]
    readable = json.dumps(
        [tags, *[_tags(deployment, e["EndpointArn"]) for e in endpoints], endpoints], default=str
    )
    for password in rotation["passwords"]:
        assert password not in readable


def test_no_password_in_logs_xcoms_or_rendered_fields(
    deployment: Deployment, rotation: dict[str, Any]
) -> None:
    api = deployment.api
    for run_id in rotation["runs"]:
        logs = list(api.all_task_logs(DAG_ID, run_id))
        assert any(task == "neon_endpoint" and text for task, _, text in logs)
        for ti in api.task_instances(DAG_ID, run_id):
            task_id = ti["task_id"]
            rendered = json.dumps(api.task_instance(DAG_ID, run_id, task_id).get("rendered_fields"))
            xcoms = json.dumps(api.xcoms(DAG_ID, run_id, task_id), default=str)
            for password in rotation["passwords"]:
                assert password not in rendered, f"{task_id}'s rendered fields hold a Neon password"
                assert password not in xcoms, f"an XCom of {task_id} holds a Neon password"
        for task_id, try_number, text in logs:
            for password in rotation["passwords"]:
                assert password not in text, f"{task_id} try {try_number} logs a Neon password"
    for component in ("scheduler", "triggerer", "api-server", "dag-processor", "local-dms"):
        text = deployment.component_log(component)
        for password in rotation["passwords"]:
            assert password not in text, f"the {component} log has a Neon password"


# -- an error a retry cannot fix (issue: "Errors that a retry cannot fix are retried with backoff") --
def test_a_task_deleted_under_the_run_fails_in_one_try(deployment: Deployment) -> None:
    api = deployment.api
    watch = RunWatch()
    run_id = api.trigger(DAG_ID, conf={**NO_ASSESSMENT, "task_identifier": "neon-dms-vanishing"})
    api.wait_for_run(DAG_ID, run_id, watch=watch, until=task_in("run_full_load", {"deferred"}))
    task_arn = api.xcoms(DAG_ID, run_id, "create_replication_task")["return_value"]
    dms = deployment.dms_client()
    task = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}])[
        "ReplicationTasks"
    ][0]
    assert task["Status"] == "creating", f"the task left creating too soon: raise CREATING_SECONDS ({task})"
    dms.delete_replication_task(ReplicationTaskArn=task_arn)  # someone deletes it in the console

    run = api.wait_for_run(DAG_ID, run_id, watch=watch)
    states = _states(api, run_id)
    assert run["state"] == "failed", states
    assert states["run_full_load"] == "failed", watch.seen
    ti = api.task_instance(DAG_ID, run_id, "run_full_load")
    assert ti["max_tries"] > 0  # retries were configured, and not used
    raced = raced_tasks(deployment.component_log("scheduler"), ["run_full_load"], run_id)
    assert ti["try_number"] == 1 or raced, watch.seen["run_full_load"]
    assert "up_for_retry" not in watch.seen["run_full_load"] or raced, watch.seen["run_full_load"]
    log = api.task_log(DAG_ID, run_id, "run_full_load", int(ti["try_number"]))
    failure = [line for line in log.splitlines() if "Task failed with exception" in line]
    assert failure, log[-3000:]
    assert task_arn in failure[-1]
    # The message says what to do: a new run, or clearing the step that creates the task.
    assert "trigger a new DAG run" in failure[-1].lower() or "clear" in failure[-1].lower(), failure[-1]
    assert "not retried" in failure[-1], failure[-1]

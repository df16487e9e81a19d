"""The local DMS goes away while a wait is deferred, comes back empty, and the user recovers.

The emulator keeps its resources in memory only (``local/service_state.py``), so a restart on the
same port loses the endpoints and the replication task the run created: the deferred wait must
end the task with a failure that says what happened, and clearing the run through the REST API
(what the README tells the user to do) must lead to a successful migration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.deployment.api import RunWatch, task_in
from tests.deployment.conftest import start_deployment
from tests.deployment.harness import DAG_ID, Deployment, DeploymentOptions

pytestmark = [pytest.mark.deployment, pytest.mark.slow]


@pytest.fixture(scope="module")
def deployment(pg_server: Any) -> Iterator[Deployment]:
    # A new DMS task stays "creating" long enough for run_full_load to be caught deferred.
    options = DeploymentOptions(corrupt=None, task_creating_seconds=20)
    yield from start_deployment(pg_server, options)


def test_emulator_restart_mid_wait_then_clear_recovers(deployment: Deployment) -> None:
    api = deployment.api
    watch = RunWatch()
    run_id = api.trigger(DAG_ID)
    api.wait_for_run(DAG_ID, run_id, watch=watch, until=task_in("run_full_load", {"deferred"}))
    task_arn = api.xcoms(DAG_ID, run_id, "create_replication_task")["return_value"]

    deployment.stop_local_dms()
    deployment.start_local_dms()  # same port, no memory of the run's endpoints or task
    # The wait ends with a failed try: retried, or failed at once (an error a retry cannot fix).
    api.wait_for_run(DAG_ID, run_id, watch=watch, until=task_in("run_full_load", {"up_for_retry", "failed"}))
    tries = [text for task, _, text in api.all_task_logs(DAG_ID, run_id) if task == "run_full_load"]
    failure = [line for text in tries for line in text.splitlines() if "Task failed with exception" in line]
    assert failure, tries[-1][-3000:]
    assert task_arn in failure[0]
    assert any(words in failure[0] for words in ("no longer exists", "not found", "does not exist")), failure

    if {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}["run_full_load"] == "failed":
        # Let the scheduler end the run first (it marks the steps after the failed one
        # upstream_failed): a clear that races that pass can leave one of them failed, and the
        # cleared run then fails once the rest succeeded.
        assert api.wait_for_run(DAG_ID, run_id, watch=watch, timeout=300)["state"] == "failed"

    # The recovery the README gives: clear the whole run, so the endpoints and the task are made again.
    cleared = api.clear(DAG_ID, run_id, only_failed=False)
    assert {"neon_endpoint", "create_replication_task", "run_full_load"} <= set(cleared)
    run = api.wait_for_run(DAG_ID, run_id, watch=watch, timeout=1200)
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
    not_done = sorted(f"{task}: {state}" for task, state in states.items() if state != "success")
    assert run["state"] == "success", not_done
    assert api.xcoms(DAG_ID, run_id, "create_replication_task")["return_value"] != task_arn
    report = api.xcoms(DAG_ID, run_id, "report")["return_value"]
    assert report["verified"] is True
    assert all(row.get("identical") for row in report["tables"]), report

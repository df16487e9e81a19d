"""The CDC cutover by approval in a real deployment, answered through the REST API as the UI does.

``migration_type=full-load-and-cdc`` with ``cutover=approval`` on a source with logical decoding,
while an application writes to it. The run replicates, then asks a person (Airflow 3's
human-in-the-loop ``ApprovalOperator``, state ``awaiting_input``) to confirm the writes stopped.
The first answer is Reject (the writers still run): the cutover is skipped and DMS keeps
replicating. The writers stop, the approval step is cleared so it asks again, and the answer is
Approve: Neon catches up, the task stops, the diff proves every table identical (the writes
included) and the report states the cutover window from the approval.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.local.sample_data import MIGRATED_TABLES
from airflow_neon_dms.local.source_writer import SourceWriter
from tests.deployment.api import AirflowApi, RunWatch, task_in, wait_for
from tests.deployment.conftest import start_deployment
from tests.deployment.harness import DAG_ID, Deployment, DeploymentOptions

pytestmark = [pytest.mark.deployment, pytest.mark.slow]

APPROVAL = "cdc.approve_cutover"
#: What the approval skips on Reject: everything after it.
AFTER_APPROVAL = ("cdc.writes_stopped", "cdc.cutover", "data_diff", "sync_sequences", "report")
CDC_CONF = {
    "migration_type": "full-load-and-cdc",
    "cutover": "approval",
    "premigration_assessment": False,  # test_first_run's; not part of this path
}
#: Transactions the application commits after the rejection (changes DMS must still apply).
WRITES_AFTER_REJECT = 50


@pytest.fixture(scope="module")
def deployment(pg_server: Any) -> Iterator[Deployment]:
    # Neon-side triggers would fire during CDC apply: no corruption trigger on this target.
    yield from start_deployment(pg_server, DeploymentOptions(corrupt=None, logical_decoding=True))


def _states(api: AirflowApi, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}


def _counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[
                0
            ]  # type: ignore[index]
            for table in MIGRATED_TABLES
        }


def _task_status(deployment: Deployment, task_arn: str) -> str:
    [task] = deployment.dms_client().describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}]
    )["ReplicationTasks"]
    return str(task["Status"])


def _wait_for_the_question(deployment: Deployment, run_id: str, watch: RunWatch) -> dict[str, Any]:
    """Wait until the approval waits for an answer, and the scheduler is done with its worker."""
    api = deployment.api
    api.wait_for_run(DAG_ID, run_id, watch=watch, until=task_in(APPROVAL, {"awaiting_input", "deferred"}))
    try_number = int(api.task_instance(DAG_ID, run_id, APPROVAL)["try_number"])
    wait_for(
        f"the scheduler saw {APPROVAL} try {try_number} park",
        lambda: deployment.worker_exit_seen(APPROVAL, run_id, try_number),
        timeout=120,
    )
    return api.hitl_detail(DAG_ID, run_id, APPROVAL)


@pytest.fixture(scope="module")
def cutover(deployment: Deployment) -> dict[str, Any]:
    api = deployment.api
    watch = RunWatch()
    facts: dict[str, Any] = {"watch": watch}
    with SourceWriter(deployment.source_dsn, rate=20) as writer:
        run_id = facts["run_id"] = api.trigger(DAG_ID, conf=CDC_CONF)
        facts["question"] = _wait_for_the_question(deployment, run_id, watch)
        facts["writes_before_reject"] = writer.transactions

        # "Not yet": the application still writes.
        facts["reject"] = api.respond(DAG_ID, run_id, APPROVAL, ["Reject"])
        facts["rejected_run"] = api.wait_for_run(DAG_ID, run_id, watch=watch)
        facts["rejected_states"] = _states(api, run_id)
        facts["task_arn"] = api.xcoms(DAG_ID, run_id, "create_replication_task")["return_value"]
        facts["status_after_reject"] = _task_status(deployment, facts["task_arn"])
        at_reject = writer.transactions
        wait_for(
            "writes after the rejection",
            lambda: writer.transactions >= at_reject + WRITES_AFTER_REJECT,
            timeout=120,
        )
    writer.stop()  # every writer stopped; raises what the writer hit
    facts["writer"] = writer

    # Ask again (clear the approval and what follows it), and approve.
    facts["cleared"] = api.clear(DAG_ID, run_id, [APPROVAL], include_downstream=True, only_failed=False)
    facts["question_again"] = _wait_for_the_question(deployment, run_id, watch)
    facts["approve"] = api.respond(DAG_ID, run_id, APPROVAL, ["Approve"])
    facts["run"] = api.wait_for_run(DAG_ID, run_id, watch=watch)
    facts["states"] = _states(api, run_id)
    return facts


def test_the_approval_asks_to_stop_the_writers(cutover: dict[str, Any]) -> None:
    for question in (cutover["question"], cutover["question_again"]):
        assert question["options"] == ["Approve", "Reject"]
        assert question["response_received"] is False
        assert "Cut over" in question["subject"]
        assert "Stop every writer to the source database" in question["body"]
    assert cutover["writes_before_reject"] > 0


def test_reject_skips_the_cutover_and_dms_keeps_replicating(cutover: dict[str, Any]) -> None:
    states = cutover["rejected_states"]
    assert cutover["reject"]["chosen_options"] == ["Reject"]
    assert states[APPROVAL] == "success", (states, cutover["watch"].seen[APPROVAL])
    assert {task: states[task] for task in AFTER_APPROVAL} == dict.fromkeys(AFTER_APPROVAL, "skipped")
    # Nothing was stopped or claimed verified: the task replicates on, ready for a later cutover.
    assert cutover["status_after_reject"] == "running"
    assert cutover["rejected_run"]["state"] == "success", states
    assert set(AFTER_APPROVAL) <= set(cutover["cleared"])


def test_approve_cuts_over_and_the_run_succeeds(deployment: Deployment, cutover: dict[str, Any]) -> None:
    states = cutover["states"]
    assert cutover["run"]["state"] == "success", (states, cutover["watch"].seen)
    assert cutover["approve"]["chosen_options"] == ["Approve"]
    for task in ("cdc.wait_full_load_done", "cdc.replication_lag", APPROVAL, *AFTER_APPROVAL):
        assert states[task] == "success", (task, states)
    assert states["cdc.wait_until_quiet"] == "skipped"
    assert _task_status(deployment, cutover["task_arn"]) == "stopped"


def test_neon_is_identical_including_the_writes(deployment: Deployment, cutover: dict[str, Any]) -> None:
    api = deployment.api
    report = api.xcoms(DAG_ID, cutover["run_id"], "report")["return_value"]
    assert report["verified"] is True
    assert {row["table"] for row in report["tables"]} == {f"public.{t}" for t in MIGRATED_TABLES}
    assert all(row.get("identical") for row in report["tables"]), report["tables"]
    source = _counts(deployment.source_dsn)
    assert _counts(deployment.neon_admin_dsn) == source
    sample = deployment.options.sample_size
    assert source["customers"] > sample.customers and source["orders"] > sample.orders  # the writes
    # They reached Neon by change data capture, after the full load.
    dms = deployment.dms_client()
    statistics = dms.describe_table_statistics(ReplicationTaskArn=cutover["task_arn"])["TableStatistics"]
    applied = {t["TableName"]: t.get("Inserts", 0) + t.get("Updates", 0) for t in statistics}
    assert applied["customers"] > 0 and applied["orders"] > 0, applied


def test_the_report_states_the_cutover_window_from_the_approval(
    deployment: Deployment, cutover: dict[str, Any]
) -> None:
    api = deployment.api
    run_id = cutover["run_id"]
    window = api.xcoms(DAG_ID, run_id, "report")["return_value"]["cutover"]
    assert window["mode"] == "approval"
    approved_at = datetime.fromisoformat(cutover["approve"]["responded_at"])
    assert datetime.fromisoformat(window["writes_stopped_at"]) == approved_at
    assert window["seconds"] > 0 and window["poll_intervals"] > 0
    assert window["writes_stopped_at"] <= window["task_stopped_at"] <= window["verified_at"]
    try_number = int(api.task_instance(DAG_ID, run_id, "report")["try_number"])
    log = api.task_log(DAG_ID, run_id, "report", try_number)
    assert "Cutover window:" in log and "from the approval to Neon verified" in log, log[-3000:]

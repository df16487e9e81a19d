"""The failure callback in a real task run: the failed step, its reason and its console links.

A task persists the provider's real DMS console links (task, table statistics, CloudWatch logs)
through XCom, reads the Neon connection (so its password is a registered secret) and fails with
a message that quotes the password, as a database driver may. ``dag.test()`` runs the task and
its ``on_failure_callback`` in Airflow's task runner, with a ``RuntimeTaskInstance``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dag_runs import run_dag_script

NEON_PASSWORD = "Rotated-Neon-Secret-2291"

DAG_FILE = """
from __future__ import annotations

import json

import pendulum
from airflow.sdk import DAG, BaseHook, BaseOperator

from airflow_neon_dms.callbacks import log_failed_step
from airflow_neon_dms.exceptions import ReplicationTaskFailedError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK, persist_task_links


class FailingTaskOperator(BaseOperator):
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def execute(self, context):
        password = BaseHook.get_connection("neon_target").password
        task = {
            "ReplicationTaskIdentifier": "neon-orders",
            "ReplicationTaskArn": "arn:aws:dms:eu-central-1:123456789012:task:ORDERSTASK",
        }
        persist_task_links(
            context, self, region_name="eu-central-1", partition="aws", task=task,
            instance_id="neon-dms-instance",
        )
        raise ReplicationTaskFailedError(
            "Replication task neon-orders failed: Stop Reason FATAL_ERROR (login as neondb_owner with "
            f"password {password} refused; DSN postgresql://neondb_owner:{password}@ep-x.neon.tech/db). "
            "Check the Neon connection."
        )


with DAG(
    "callback_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
    default_args={"on_failure_callback": log_failed_step, "retries": 0},
) as dag:
    FailingTaskOperator(task_id="run_full_load")

if __name__ == "__main__":
    run = dag.test()
    print("RESULT " + json.dumps({ti.task_id: str(ti.state) for ti in run.get_task_instances()}))
"""


def test_failure_callback_names_step_reason_and_console_links(dag_test_home: Path) -> None:
    neon = json.dumps(
        {"conn_type": "neon", "host": "ep-x.neon.tech", "login": "neondb_owner", "password": NEON_PASSWORD}
    )
    run = run_dag_script(dag_test_home, "callback_dag", DAG_FILE, AIRFLOW_CONN_NEON_TARGET=neon)

    assert run.result == {"run_full_load": "failed"}
    # The callback's message: its first line and the indented link lines under it.
    start = run.output.index("Migration step 'run_full_load' failed")
    lines = run.output[start:].splitlines()
    message = "\n".join([lines[0], *(line for line in lines[1:4] if line.startswith("  "))])
    console = "https://console.aws.amazon.com/dms/v2/home?region=eu-central-1"
    assert message.startswith(
        "Migration step 'run_full_load' failed: Replication task neon-orders failed: Stop Reason FATAL_ERROR"
    )
    assert f"DMS task: {console}#taskDetails/neon-orders" in message
    assert f"DMS table statistics: {console}#taskDetails/neon-orders?tab=table-statistics" in message
    assert "DMS task logs: https://console.aws.amazon.com/cloudwatch/home?region=eu-central-1" in message
    assert "dms-task-ORDERSTASK" in message
    # The password the failure quoted is scrubbed (Airflow's own traceback print in ``dag.test``'s
    # console is outside the callback and not asserted on here).
    assert "password *** refused" in message and "postgresql://neondb_owner:***@" in message
    assert NEON_PASSWORD not in message


def test_a_link_that_raises_is_logged_as_a_warning_and_the_others_still_show(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace

    from airflow.sdk import BaseOperatorLink

    from airflow_neon_dms.callbacks import step_links

    class BrokenLink(BaseOperatorLink):
        name = "Broken"

        def get_link(self, operator, *, ti_key):  # type: ignore[no-untyped-def]
            raise KeyError("region_name")

    class FixedLink(BaseOperatorLink):
        name = "Fixed"

        def get_link(self, operator, *, ti_key):  # type: ignore[no-untyped-def]
            return f"https://example.test/{ti_key.task_id}"

    task = SimpleNamespace(operator_extra_links=(BrokenLink(), FixedLink()))
    ti = SimpleNamespace(task_id="run_full_load", dag_id="d", run_id="r", map_index=-1)
    with caplog.at_level("WARNING", logger="airflow_neon_dms.callbacks"):
        links = step_links({"ti": ti, "task": task})
    assert links == {"Fixed": "https://example.test/run_full_load"}
    # Depending on whether Airflow's logging setup ran, the record reaches caplog or the console.
    console = capsys.readouterr()
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    logged += [line for line in (console.out + console.err).splitlines() if "[warning" in line]
    assert any(
        "Could not build the 'Broken' link of step 'run_full_load': 'region_name'" in line for line in logged
    ), logged

"""Errors no retry can fix fail in one try of a real task run (``dag.test()``, retries set);
an error a retry may fix is still retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DAG_FILE = """
from __future__ import annotations

import json
import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from airflow_neon_dms.exceptions import DmsResourceError
from airflow_neon_dms.operators.endpoint import NeonDmsSourceEndpointOperator
from airflow_neon_dms.operators.fail_fast import fail_fast
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.operators.task import NeonDmsCreateTaskOperator

GONE = "arn:aws:dms:eu-west-1:123456789012:{}:GONE0000000000000000000000"
ARGS = {"retries": 2, "retry_delay": timedelta(seconds=0)}

with DAG("fail_fast_test", schedule=None, start_date=pendulum.datetime(2024, 1, 1), default_args=ARGS) as dag:
    NeonDmsSourceEndpointOperator(
        task_id="refused_value", endpoint_identifier="bad-engine", engine_name="no-such-engine"
    )
    NeonDmsStartTaskOperator(task_id="task_gone", replication_task_arn=GONE.format("task"))
    NeonDmsCreateTaskOperator(
        task_id="endpoints_gone",
        replication_task_identifier="gone-endpoints",
        source_endpoint_arn=GONE.format("endpoint"),
        target_endpoint_arn=GONE.format("endpoint"),
        replication_instance_arn=os.environ["TEST_REPLICATION_INSTANCE_ARN"],
        table_mappings={"rules": []},
    )

    @task
    def plan_instance_gone() -> str:
        from airflow_neon_dms.hooks.dms import NeonDmsHook

        with fail_fast():
            return NeonDmsHook(aws_conn_id="aws_default").resolve_replication_instance_arn(GONE.format("rep"))

    @task
    def retryable() -> None:
        with fail_fast():
            raise DmsResourceError("Replication task X is busy (a retry may pass).")

    plan_instance_gone()
    retryable()


if __name__ == "__main__":
    dag_run = dag.test()
    tis = dag_run.get_task_instances()
    out = {ti.task_id: {"state": str(ti.state), "try_number": ti.try_number} for ti in tis}
    print("LINKS-START", flush=True)  # what follows reads XCom on purpose
    for ti in tis:
        task = dag.get_task(ti.task_id)
        keys = [link.xcom_key for link in task.operator_extra_links]
        out[ti.task_id]["links"] = {k: ti.xcom_pull(task_ids=ti.task_id, key=k) for k in keys}
    print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home


@pytest.fixture(scope="module")
def local_dms_url() -> Iterator[str]:
    from airflow_neon_dms.local.server import LocalDms

    with LocalDms() as running:
        yield running.endpoint_url


def test_not_retryable_errors_fail_in_one_try(airflow_home: Path, local_dms_url: str) -> None:
    import boto3

    client: Any = boto3.client(
        "dms",
        endpoint_url=local_dms_url,
        region_name="eu-west-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier="fail-fast", ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    dags = airflow_home / "dags"
    dags.mkdir(exist_ok=True)
    (dags / "fail_fast_dag.py").write_text(DAG_FILE)
    aws = {"conn_type": "aws", "login": "t", "password": "t"}
    aws["extra"] = {"endpoint_url": local_dms_url, "region_name": "eu-west-1"}  # type: ignore[assignment]
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws),
        "TEST_REPLICATION_INSTANCE_ARN": instance,
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    proc = subprocess.run(
        [sys.executable, str(dags / "fail_fast_dag.py")], env=env, capture_output=True, text=True, timeout=600
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    output = proc.stdout + proc.stderr
    for log_file in (airflow_home / "logs").rglob("*"):
        if log_file.is_file():
            output += log_file.read_text(errors="replace")

    tries = {name: (r["state"], r["try_number"]) for name, r in result.items()}
    for name in ("refused_value", "task_gone", "endpoints_gone", "plan_instance_gone"):
        assert tries[name] == ("failed", 1), tries
    # The control: an error a retry may fix runs 1 + retries tries, so the count above means something.
    assert tries["retryable"] == ("failed", 3), tries
    # Steps that failed before they knew their DMS resource: their console links render empty,
    # and the task runner's link lookup at the end of each try logged no "XCom not found" error.
    assert result["task_gone"]["links"] and set(result["task_gone"]["links"].values()) == {""}
    assert set(result["refused_value"]["links"].values()) == {""}
    run_output = proc.stdout.split("LINKS-START")[0] + proc.stderr
    assert "XCom not found" not in run_output
    assert "This error is not retried" in output
    assert "InvalidParameterValueException" in output and "trigger a new" in output.lower()

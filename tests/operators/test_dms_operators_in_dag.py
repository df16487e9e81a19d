"""The DMS operators chained in a real DAG run (``dag.test()``), deferring through Airflow itself.

Endpoints, connection tests, task, start, validation and a reload run against the local DMS
emulator, whose Neon target goes through the Neon proxy stand-in in front of real PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

NEON_SECRET = "neon-pw-never-shown-4411"
ENDPOINT_ID = "ep-dag-neon-9"
#: Seconds a new DMS task stays "creating" in this test's emulator.
CREATING_SECONDS = 3

DAG_FILE = """
from __future__ import annotations

import json
import os

import pendulum
import psycopg
from airflow.sdk import DAG, task

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.operators.connection_test import NeonDmsTestConnectionOperator
from airflow_neon_dms.operators.endpoint import NeonTargetEndpointOperator, NeonDmsSourceEndpointOperator
from airflow_neon_dms.operators.reload import NeonDmsReloadTablesOperator
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.operators.task import NeonDmsCreateTaskOperator
from airflow_neon_dms.operators.validation import NeonDmsValidationOperator

INSTANCE = os.environ["TEST_REPLICATION_INSTANCE_ARN"]
WAIT = {"deferrable": True, "waiter_delay": 0.5, "max_wait": 300}

with DAG("neon_dms_operators_test", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
    source = NeonDmsSourceEndpointOperator(
        task_id="source_endpoint", endpoint_identifier="dag-source", source_conn_id="src"
    )
    neon = NeonTargetEndpointOperator(
        task_id="neon_endpoint", endpoint_identifier="dag-neon", neon_conn_id="neon"
    )
    test_source = NeonDmsTestConnectionOperator(
        task_id="test_source", replication_instance_arn=INSTANCE, endpoint_arn=source.output, **WAIT
    )
    test_neon = NeonDmsTestConnectionOperator(
        task_id="test_neon", replication_instance_arn=INSTANCE, endpoint_arn=neon.output, **WAIT
    )
    create = NeonDmsCreateTaskOperator(
        task_id="create_task",
        replication_task_identifier="dag-task",
        source_endpoint_arn=source.output,
        target_endpoint_arn=neon.output,
        replication_instance_arn=INSTANCE,
        table_mappings=TableMappings.include("public"),
    )
    run = NeonDmsStartTaskOperator(task_id="run_full_load", replication_task_arn=create.output, **WAIT)
    validate = NeonDmsValidationOperator(task_id="validate", replication_task_arn=create.output, **WAIT)

    @task
    def damage_target() -> None:
        with psycopg.connect(os.environ["TEST_TARGET_DSN"], autocommit=True) as conn:
            conn.execute("UPDATE items SET name = 'tampered' WHERE id = 3")
            conn.execute("DELETE FROM items WHERE id = 4")

    reload = NeonDmsReloadTablesOperator(
        task_id="reload", replication_task_arn=create.output, tables=["public.items"], **WAIT
    )
    [test_source, test_neon] >> create >> run >> validate >> damage_target() >> reload

if __name__ == "__main__":
    dag_run = dag.test()
    out = {}
    for ti in dag_run.get_task_instances():
        out[ti.task_id] = {
            "state": str(ti.state),
            "return": ti.xcom_pull(task_ids=ti.task_id),
            "links": {k: ti.xcom_pull(task_ids=ti.task_id, key=k) for k in
                      ("neon_dms_endpoint", "neon_dms_task", "neon_dms_task_logs")},
        }
    print("RESULT " + json.dumps(out, default=str))
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
def neon_dms(pg_server: Any) -> Iterator[Any]:
    from airflow_neon_dms.local.server import LocalDms, NeonTarget
    from tests.timing_choice import chosen_timing

    # New tasks stay "creating" for a while, as on real DMS, so the start and the reload's
    # temporary task wait for them in the triggerer and resume from the event.
    with LocalDms(
        neon=[NeonTarget(ENDPOINT_ID, "localhost", pg_server.port)],
        timing=chosen_timing(),
        task_creating_seconds=CREATING_SECONDS,
    ) as running:
        yield running


def test_dms_operators_in_a_dag_run(
    airflow_home: Path, neon_dms: Any, pg_server: Any, make_pg_database: Any
) -> None:
    import boto3

    source_db, target_db = make_pg_database(), make_pg_database()
    for database in (source_db, target_db):
        with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 300) g")
    client = boto3.client(
        "dms",
        endpoint_url=neon_dms.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier="dag-instance", ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]

    dags = airflow_home / "dags"
    dags.mkdir(exist_ok=True)
    (dags / "dms_operators_dag.py").write_text(DAG_FILE)
    aws = {
        "conn_type": "aws",
        "login": "t",
        "password": "t",
        "extra": {"endpoint_url": neon_dms.endpoint_url, "region_name": "eu-west-1"},
    }
    src = {
        "conn_type": "postgres",
        "host": pg_server.host,
        "port": pg_server.port,
        "login": pg_server.user,
        "password": pg_server.password or "unused",
        "schema": source_db,
    }
    neon = {
        "conn_type": "neon",
        "host": "localhost",
        "port": pg_server.port,
        "login": pg_server.user,
        "password": NEON_SECRET,
        "schema": target_db,
        "extra": {"endpoint_id": ENDPOINT_ID},
    }
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws),
        "AIRFLOW_CONN_SRC": json.dumps(src),
        "AIRFLOW_CONN_NEON": json.dumps(neon),
        "TEST_REPLICATION_INSTANCE_ARN": instance,
        "TEST_TARGET_DSN": pg_server.dsn(target_db),
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    proc = subprocess.run(
        [sys.executable, str(dags / "dms_operators_dag.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT ") :])

    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if "rror" in line][-10:]
    assert {name: r["state"] for name, r in result.items()} == dict.fromkeys(result, "success"), errors
    neon_arn = result["neon_endpoint"]["return"]
    assert result["test_neon"]["return"] == neon_arn
    [endpoint] = client.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [neon_arn]}])[
        "Endpoints"
    ]
    assert endpoint["SslMode"] == "require"
    assert result["neon_endpoint"]["links"]["neon_dms_endpoint"]["region_name"] == "eu-west-1"
    assert result["run_full_load"]["return"]["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert result["run_full_load"]["links"]["neon_dms_task_logs"]["awslogs_group"] == "dms-tasks-dag-instance"
    assert result["validate"]["return"]["summary"]["rows"] == 300
    assert result["validate"]["return"]["failed_tables"] == []
    assert result["reload"]["return"]["method"] == "temporary-task"
    with (
        psycopg.connect(pg_server.dsn(source_db)) as src_conn,
        psycopg.connect(pg_server.dsn(target_db)) as tgt_conn,
    ):
        query = "SELECT id, name FROM items ORDER BY id"
        assert tgt_conn.execute(query).fetchall() == src_conn.execute(query).fetchall()
    tasks = {t["ReplicationTaskIdentifier"] for t in client.describe_replication_tasks()["ReplicationTasks"]}
    assert tasks == {"dag-task"}  # the temporary reload task is gone

    everything = json.dumps(result) + proc.stdout + proc.stderr
    for log_file in (airflow_home / "logs").rglob("*"):
        if log_file.is_file():
            everything += log_file.read_text(errors="replace")
    assert "Connection test to endpoint" in everything  # the task logs are part of what is searched
    # The reload created its temporary task and met it "creating": it waited in the triggerer.
    assert "Temporary reload task" in everything and "waiting in the triggerer" in everything
    assert NEON_SECRET not in everything

"""OpenLineage events of a real DAG run: the openlineage provider's own listener and extraction
call the operators' lineage methods, and its file transport writes the events this test reads.

A full load, a data diff, a reload and a failing data diff run against the local DMS and real
PostgreSQL; each event must name the source tables as inputs and the Neon tables as outputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.dag_runs import migrated_home, run_dag_script

pytest.importorskip(
    "airflow.providers.openlineage",
    reason="the openlineage extra is not installed (pip install 'airflow-neon-dms[openlineage]')",
)

ENDPOINT_ID = "ep-lineage-neon-7"
DAG_ID = "lineage_dms"

DAG_FILE = """
from __future__ import annotations

import json
import os

import pendulum
import psycopg
from airflow.sdk import DAG, task

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.operators.data_diff import NeonDataDiffOperator
from airflow_neon_dms.operators.endpoint import NeonDmsSourceEndpointOperator, NeonTargetEndpointOperator
from airflow_neon_dms.operators.reload import NeonDmsReloadTablesOperator
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.operators.task import NeonDmsCreateTaskOperator

WAIT = {"deferrable": True, "waiter_delay": 0.3, "max_wait": 300}

with DAG("lineage_dms", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
    source = NeonDmsSourceEndpointOperator(
        task_id="source_endpoint", endpoint_identifier="lineage-source", source_conn_id="src"
    )
    neon = NeonTargetEndpointOperator(
        task_id="neon_endpoint", endpoint_identifier="lineage-neon", neon_conn_id="neon"
    )
    create = NeonDmsCreateTaskOperator(
        task_id="create_task",
        replication_task_identifier="lineage-task",
        source_endpoint_arn=source.output,
        target_endpoint_arn=neon.output,
        replication_instance_arn=os.environ["TEST_REPLICATION_INSTANCE_ARN"],
        table_mappings=TableMappings.include("public"),
    )
    run = NeonDmsStartTaskOperator(
        task_id="run_full_load", replication_task_arn=create.output, neon_conn_id="neon_sql", **WAIT
    )
    diff = NeonDataDiffOperator(
        task_id="data_diff", source_conn_id="src", neon_conn_id="neon_sql", tables=["public.items"],
        fail_on_difference=True,
    )

    @task
    def damage_target() -> None:
        with psycopg.connect(os.environ["TEST_TARGET_DSN"], autocommit=True) as conn:
            conn.execute("DELETE FROM items WHERE id = 4")

    damage = damage_target()
    failing_diff = NeonDataDiffOperator(
        task_id="failing_diff", source_conn_id="src", neon_conn_id="neon_sql", tables=["public.items"],
        fail_on_difference=True,
    )
    reload = NeonDmsReloadTablesOperator(
        task_id="reload", replication_task_arn=create.output, tables=["public.items"],
        neon_conn_id="neon_sql", **WAIT
    )
    run >> diff >> damage >> failing_diff >> reload
    reload.trigger_rule = "all_done"

if __name__ == "__main__":
    dag_run = dag.test()
    out = {ti.task_id: {"state": str(ti.state), "return": ti.xcom_pull(task_ids=ti.task_id)}
           for ti in dag_run.get_task_instances()}
    print("RESULT " + json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def neon_dms(pg_server: Any) -> Iterator[Any]:
    from airflow_neon_dms.local.server import LocalDms, NeonTarget
    from tests.timing_choice import chosen_timing

    with LocalDms(neon=[NeonTarget(ENDPOINT_ID, "localhost", pg_server.port)], timing=chosen_timing()) as dms:
        yield dms


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _final_event(events: list[dict[str, Any]], task_id: str) -> dict[str, Any]:
    ends = [e for e in events if e["job"]["name"] == f"{DAG_ID}.{task_id}" and e["eventType"] != "START"]
    assert ends, sorted({e["job"]["name"] for e in events})
    return ends[-1]


def _names(datasets: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in datasets]


def test_lineage_events_of_a_dag_run(
    tmp_path_factory: pytest.TempPathFactory, neon_dms: Any, pg_server: Any, make_pg_database: Any
) -> None:
    import boto3

    source_db, target_db = make_pg_database(), make_pg_database()
    for database in (source_db, target_db):
        with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g")
    client = boto3.client(
        "dms",
        endpoint_url=neon_dms.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier="lineage-instance", ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    home = migrated_home(tmp_path_factory)
    events_file = home / "openlineage.jsonl"
    connections = {
        "AIRFLOW_CONN_AWS_DEFAULT": {
            "conn_type": "aws",
            "login": "t",
            "password": "t",
            "extra": {"endpoint_url": neon_dms.endpoint_url, "region_name": "eu-west-1"},
        },
        "AIRFLOW_CONN_SRC": {
            "conn_type": "postgres",
            "host": pg_server.host,
            "port": pg_server.port,
            "login": pg_server.user,
            "password": pg_server.password or "unused",
            "schema": source_db,
        },
        "AIRFLOW_CONN_NEON": {
            "conn_type": "neon",
            "host": "localhost",
            "port": pg_server.port,
            "login": pg_server.user,
            "password": "neon-lineage-secret-5521",
            "schema": target_db,
            "extra": {"endpoint_id": ENDPOINT_ID},
        },
    }
    # The same database for SQL from Airflow (column lists, the diff): no TLS on the test server.
    connections["AIRFLOW_CONN_NEON_SQL"] = {
        **connections["AIRFLOW_CONN_NEON"],
        "extra": {"sslmode": "disable"},
    }
    run = run_dag_script(
        home,
        DAG_ID,
        DAG_FILE,
        TEST_REPLICATION_INSTANCE_ARN=instance,
        TEST_TARGET_DSN=pg_server.dsn(target_db),
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        AIRFLOW__OPENLINEAGE__NAMESPACE="neon-dms-test",
        **{name: json.dumps(value) for name, value in connections.items()},
    )
    states = {task_id: r["state"] for task_id, r in run.result.items()}
    assert states["run_full_load"] == states["data_diff"] == states["reload"] == "success", run.output[-4000:]
    assert states["failing_diff"] == "failed"
    assert events_file.exists(), run.output[-4000:]
    events = _events(events_file)

    source = (f"postgres://{pg_server.host}:{pg_server.port}", f"{source_db}.public.items")
    neon = (f"postgres://localhost:{pg_server.port}", f"{target_db}.public.items")
    task_arn = run.result["create_task"]["return"]
    identity = {
        column: {
            "inputFields": [{"namespace": source[0], "name": source[1], "field": column}],
            "transformationType": "IDENTITY",
        }
        for column in ("id", "name")
    }
    for task_id in ("run_full_load", "data_diff", "reload"):
        event = _final_event(events, task_id)
        assert event["eventType"] == "COMPLETE", (task_id, event["eventType"])
        assert _names(event["inputs"]) == [source], task_id
        assert _names(event["outputs"]) == [neon], task_id
        lineage = event["outputs"][0]["facets"]["columnLineage"]["fields"]
        assert {
            column: {
                "inputFields": [{k: f[k] for k in ("namespace", "name", "field")} for f in v["inputFields"]],
                "transformationType": v["transformationType"],
            }
            for column, v in lineage.items()
        } == identity, task_id
    for task_id in ("run_full_load", "reload"):
        external = _final_event(events, task_id)["run"]["facets"]["externalQuery"]
        assert (external["externalQueryId"], external["source"]) == (task_arn, "aws-dms")

    failed = _final_event(events, "failing_diff")
    assert failed["eventType"] == "FAIL"
    assert _names(failed["inputs"]) == [source] and _names(failed["outputs"]) == [neon]
    assert "not clean" in failed["run"]["facets"]["errorMessage"]["message"]
    assert "neon-lineage-secret-5521" not in events_file.read_text()
    # The deferred full load's trigger logged the load's progress into the run's logs.
    assert "1 of 1 table(s) loaded, 0 loading, 0 queued, 0 errored; 50 row(s) copied" in run.output

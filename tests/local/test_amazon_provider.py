"""The amazon provider's own DMS operators, sensor and hook against the emulator (code not written here)."""

from __future__ import annotations

import json
import time
from typing import Any, cast

import psycopg
import pytest

from tests.local.support import INCLUDE_ALL_PUBLIC, unique


@pytest.fixture
def aws_conn_id(local_dms: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": local_dms.endpoint_url, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL_DMS", json.dumps(connection))
    return "aws_local_dms"


def test_provider_operators_and_sensor_run_a_migration(
    aws_conn_id: str, dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    from airflow.providers.amazon.aws.hooks.dms import DmsHook
    from airflow.providers.amazon.aws.operators.dms import DmsCreateTaskOperator, DmsStartTaskOperator
    from airflow.providers.amazon.aws.sensors.dms import DmsTaskCompletedSensor
    from airflow.sdk import Context

    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 42)")
    # These operators read nothing from the context; a real run would pass Airflow's.
    context = cast(Context, {})
    task_arn = DmsCreateTaskOperator(
        task_id="create",
        replication_task_id=unique("provider"),
        source_endpoint_arn=dms.pg_endpoint("source", pg_server, source_db),
        target_endpoint_arn=dms.pg_endpoint("target", pg_server, target_db),
        replication_instance_arn=dms.instance_arn,
        table_mappings=INCLUDE_ALL_PUBLIC,
        aws_conn_id=aws_conn_id,
    ).execute(context)
    assert task_arn.startswith("arn:aws:dms:us-east-1:")
    hook = DmsHook(aws_conn_id=aws_conn_id)
    assert hook.get_task_status(task_arn) == "ready"
    DmsStartTaskOperator(task_id="start", replication_task_arn=task_arn, aws_conn_id=aws_conn_id).execute(
        context
    )
    sensor = DmsTaskCompletedSensor(
        task_id="wait", replication_task_arn=task_arn, aws_conn_id=aws_conn_id, poke_interval=1
    )
    for _ in range(120):
        if sensor.poke(context):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the provider's sensor never saw the task complete")
    assert hook.get_task_status(task_arn) == "stopped"
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (42,)

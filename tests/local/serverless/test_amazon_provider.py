"""The amazon provider's own DMS Serverless operators against the emulator (code not written here):
create a config, start it and wait with the provider's waiter, describe, delete."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import psycopg
import pytest

from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from tests.local.support import INCLUDE_ALL_PUBLIC, Dms, unique


@pytest.fixture
def own_dms(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDms]:
    """An emulator whose stopped replications deprovision at once (the provider's delete
    operator deletes as soon as the replication is stopped)."""
    with LocalDms(port=0, timing=INSTANT) as running:
        connection = {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": running.endpoint_url, "region_name": "us-east-1"},
        }
        monkeypatch.setenv("AIRFLOW_CONN_AWS_SERVERLESS_DMS", json.dumps(connection))
        yield running


def test_provider_serverless_operators_run_a_full_load(
    own_dms: LocalDms, make_dms: Callable[[str], Dms], pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    from airflow.providers.amazon.aws.hooks.dms import DmsHook
    from airflow.providers.amazon.aws.operators.dms import (
        DmsCreateReplicationConfigOperator,
        DmsDeleteReplicationConfigOperator,
        DmsDescribeReplicationsOperator,
        DmsStartReplicationOperator,
    )
    from airflow.sdk import Context

    dms = make_dms(own_dms.endpoint_url)
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 42)")
    context = cast(Context, {})  # these operators read nothing from the context
    conn_id = "aws_serverless_dms"
    config_arn = DmsCreateReplicationConfigOperator(
        task_id="create",
        replication_config_id=unique("provider"),
        source_endpoint_arn=dms.pg_endpoint("source", pg_server, source_db),
        target_endpoint_arn=dms.pg_endpoint("target", pg_server, target_db),
        compute_config={"MaxCapacityUnits": 4, "MinCapacityUnits": 1},
        replication_type="full-load",
        table_mappings=json.dumps(INCLUDE_ALL_PUBLIC),
        aws_conn_id=conn_id,
    ).execute(context)
    assert str(config_arn).startswith("arn:aws:dms:us-east-1:123456789012:replication-config:")
    DmsStartReplicationOperator(
        task_id="start",
        replication_config_arn=config_arn,
        replication_start_type="start-replication",
        wait_for_completion=True,
        waiter_delay=1,
        waiter_max_attempts=120,
        aws_conn_id=conn_id,
    ).execute(context)
    described = DmsDescribeReplicationsOperator(
        task_id="describe",
        filter=[{"Name": "replication-config-arn", "Values": [config_arn]}],
        aws_conn_id=conn_id,
    ).execute(context)
    assert described[0]["Status"] == "stopped"
    assert described[0]["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (42,)
    assert DmsHook(aws_conn_id=conn_id).get_provision_status(config_arn) == "deprovisioned"
    DmsDeleteReplicationConfigOperator(
        task_id="delete",
        replication_config_arn=config_arn,
        wait_for_completion=True,
        waiter_delay=1,
        waiter_max_attempts=30,
        aws_conn_id=conn_id,
    ).execute(context)
    assert dms.client.describe_replication_configs()["ReplicationConfigs"] == []

"""A full-load-and-cdc DMS Serverless replication on the local DMS: it applies the source's
changes after its load, counts them in DescribeReplicationTableStatistics, publishes its CDC
metrics under its config's ReplicationConfigId, and stops at StartReplication's CdcStopPosition."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import boto3
import psycopg
import pytest

from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from tests.local.serverless.support import create_config, table_stats, wait_for
from tests.local.support import Dms
from tests.logical_postgres import LogicalPg

#: Metrics every second, so a test sees a CDC datapoint soon.
PERIOD = 1.0


@pytest.fixture(scope="module")
def fast_dms() -> Iterator[LocalDms]:
    timing = dataclasses.replace(INSTANT, serverless_deprovision_after_seconds=0.5)
    with LocalDms(port=0, timing=timing, metrics_period_seconds=PERIOD) as running:
        yield running


def test_a_cdc_replication_applies_changes_publishes_metrics_and_stops_at_its_position(
    fast_dms: LocalDms,
    make_dms: Callable[[str], Dms],
    logical_pg: LogicalPg,
    make_logical_database: Callable[[], str],
) -> None:
    dms = make_dms(fast_dms.endpoint_url)
    source_db, target_db = make_logical_database(), make_logical_database()
    for database in (source_db, target_db):
        with psycopg.connect(logical_pg.dsn(database), autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
    with psycopg.connect(logical_pg.dsn(source_db), autocommit=True) as conn:
        conn.execute("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 20) AS g")
    endpoints = [
        dms.endpoint(
            kind,
            ServerName=logical_pg.host,
            Port=logical_pg.port,
            Username=logical_pg.user,
            Password="unused",
            DatabaseName=database,
        )
        for kind, database in (("source", source_db), ("target", target_db))
    ]
    client = dms.client
    config = create_config(client, *endpoints, replication_type="full-load-and-cdc")
    stop_at = (datetime.now(timezone.utc) + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%S")
    client.start_replication(
        ReplicationConfigArn=config,
        StartReplicationType="start-replication",
        CdcStopPosition=f"server_time:{stop_at}",
    )
    wait_for(
        client,
        config,
        lambda r: r["Status"] == "running" and r["ReplicationStats"].get("FullLoadProgressPercent") == 100,
        "finished its full load",
    )
    with psycopg.connect(logical_pg.dsn(source_db), autocommit=True) as conn:
        conn.execute("INSERT INTO items SELECT g, 'n' || g FROM generate_series(21, 25) AS g")
        conn.execute("UPDATE items SET name = 'changed' WHERE id = 1")
    deadline = time.monotonic() + 60
    with psycopg.connect(logical_pg.dsn(target_db), autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM items").fetchone() != (25,):
            assert time.monotonic() < deadline, "the inserts never reached the target"
            time.sleep(0.2)
        while conn.execute("SELECT name FROM items WHERE id = 1").fetchone() != ("changed",):
            assert time.monotonic() < deadline, "the update never reached the target"
            time.sleep(0.2)
    stats = table_stats(client, config)[("public", "items")]
    assert stats["Inserts"] == 5 and stats["Updates"] == 1, stats

    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=fast_dms.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    account, resource = config.split(":")[4], config.split(":")[-1]
    wanted = [{"Name": "ReplicationConfigId", "Value": f"{account}:{resource}"}]
    deadline = time.monotonic() + 30
    while not cloudwatch.list_metrics(Namespace="AWS/DMS", MetricName="CDCLatencyTarget", Dimensions=wanted)[
        "Metrics"
    ]:
        assert time.monotonic() < deadline, "no CDC metric under the config's ReplicationConfigId"
        time.sleep(0.5)

    stopped = wait_for(client, config, lambda r: r["Status"] == "stopped", "stopped at its CdcStopPosition")
    assert stopped["StopReason"] == "Stop Reason STOPPED_AT_SERVER_TIME"
    assert stopped["CdcStopPosition"] == f"server_time:{stop_at}"

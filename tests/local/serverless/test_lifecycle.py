"""A DMS Serverless full load end to end: provisioning, running, the data, stopped, deprovisioned,
deleted. boto3 against the local DMS over HTTP, real PostgreSQL on both sides."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from airflow_neon_dms.local.replication_models import PROVISIONING_STATUSES
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import StateTiming
from tests.local.serverless.support import create_config, provision_state, replication, table_stats, wait_for
from tests.local.support import Dms, HeldTable, target_rows

#: Long enough to be seen by a poll, short enough for a test; the other states are instant.
TIMED = StateTiming(
    task_creating_seconds=0,
    task_starting_seconds=0,
    deleting_seconds=1.5,
    modifying_seconds=0,
    serverless_provisioning_seconds=3.0,
    serverless_deprovision_after_seconds=1.0,
    serverless_deprovisioning_seconds=1.0,
)

ROWS_SQL = """
CREATE TABLE orders (
    id int PRIMARY KEY, customer text, amount numeric(10, 2), placed timestamptz, paid boolean
);
INSERT INTO orders
SELECT g, 'customer ' || g, g * 1.25, timestamptz '2026-01-01 00:00+00' + g * interval '1 hour', g % 2 = 0
FROM generate_series(1, 300) AS g;
"""


@pytest.fixture(scope="module")
def timed_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=TIMED) as running:
        yield running


@pytest.fixture
def timed(timed_dms: LocalDms, make_dms: Callable[[str], Dms]) -> Dms:
    return make_dms(timed_dms.endpoint_url)


def _rows(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT * FROM public.orders ORDER BY id").fetchall()


def _deprovisioned(current: dict[str, Any]) -> bool:
    return provision_state(current) == "deprovisioned"


def _target_has_orders(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT to_regclass('public.orders') IS NOT NULL").fetchone()
        return bool(row and row[0])


def test_full_load_replication_provisions_then_loads_and_stops_with_aws_stop_reason(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute(ROWS_SQL)
    client = timed.client
    config = create_config(
        client,
        timed.pg_endpoint("source", pg_server, source_db),
        timed.pg_endpoint("target", pg_server, target_db),
        compute={"MinCapacityUnits": 2, "MaxCapacityUnits": 8},
        ReplicationSettings=json.dumps({"FullLoadSettings": {"MaxFullLoadSubTasks": 4}}),
        Tags=[{"Key": "team", "Value": "data"}],
    )
    described = client.describe_replication_configs(
        Filters=[{"Name": "replication-config-arn", "Values": [config]}]
    )["ReplicationConfigs"][0]
    assert described["ComputeConfig"] == {"MinCapacityUnits": 2, "MaxCapacityUnits": 8}
    settings = json.loads(described["ReplicationSettings"])  # merged into DMS's default document
    assert settings["FullLoadSettings"]["MaxFullLoadSubTasks"] == 4
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DROP_AND_CREATE"
    assert "ValidationSettings" in settings
    assert client.list_tags_for_resource(ResourceArn=config)["TagList"][0]["Key"] == "team"
    created = replication(client, config)
    assert created["Status"] == "created" and "ProvisionData" not in created

    started = client.start_replication(ReplicationConfigArn=config, StartReplicationType="start-replication")
    assert started["Replication"]["Status"] in PROVISIONING_STATUSES
    assert provision_state(started["Replication"]) == "provisioning"
    seen: list[str] = []
    target_dsn = pg_server.dsn(target_db)

    def progress(current: dict[str, Any]) -> bool:
        seen.append(current["Status"])
        if provision_state(current) == "provisioning":  # no table loads before capacity exists
            assert not _target_has_orders(target_dsn)
            assert table_stats(client, config) == {}
        return bool(current["Status"] == "stopped")

    stopped = wait_for(client, config, progress, "stopped")
    assert "provisioning_capacity" in seen or "calculating_capacity" in seen
    assert stopped["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert stopped["ReplicationStats"]["TablesLoaded"] == 1
    assert stopped["ReplicationStats"]["FullLoadProgressPercent"] == 100
    assert stopped["StartReplicationType"] == "start-replication"
    assert "ReplicationLastStopTime" in stopped
    assert _rows(target_dsn) == _rows(pg_server.dsn(source_db))
    stats = table_stats(client, config)[("public", "orders")]
    assert stats["TableState"] == "Table completed" and stats["FullLoadRows"] == 300

    states: list[str] = []
    wait_for(
        client,
        config,
        lambda r: states.append(provision_state(r)) is None and states[-1] == "deprovisioned",
        "deprovisioned",
    )
    assert states[-1] == "deprovisioned"

    deleted = client.delete_replication_config(ReplicationConfigArn=config)
    assert deleted["ReplicationConfig"]["ReplicationConfigArn"] == config
    assert replication(client, config)["Status"] == "deleting"
    with pytest.raises(ClientError) as gone:
        wait_for(client, config, lambda r: False, "gone")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundFault"


def test_a_stopped_replication_restarts_with_reload_target_only(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute(ROWS_SQL)
    client = timed.client
    config = create_config(
        client,
        timed.pg_endpoint("source", pg_server, source_db),
        timed.pg_endpoint("target", pg_server, target_db),
    )
    with pytest.raises(ClientError, match="first run must use start-replication"):
        client.start_replication(ReplicationConfigArn=config, StartReplicationType="reload-target")
    client.start_replication(ReplicationConfigArn=config, StartReplicationType="start-replication")
    wait_for(client, config, lambda r: r["Status"] == "stopped", "stopped")
    for start_type, message in [
        ("start-replication", "valid only for its first run"),
        ("resume-processing", "isn't applicable to the full-load replication"),
    ]:
        with pytest.raises(ClientError, match=message):
            client.start_replication(ReplicationConfigArn=config, StartReplicationType=start_type)
    with pytest.raises(ClientError, match="can be modified only while"):  # "even if you stop it"
        client.modify_replication_config(ReplicationConfigArn=config, ReplicationType="cdc")
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("INSERT INTO orders (id, customer) VALUES (301, 'late')")
    wait_for(client, config, lambda r: provision_state(r) == "deprovisioned", "deprovisioned")
    again = client.start_replication(ReplicationConfigArn=config, StartReplicationType="reload-target")
    assert provision_state(again["Replication"]) == "provisioning"  # capacity is provisioned again
    stopped = wait_for(client, config, lambda r: r["Status"] == "stopped", "stopped")
    assert stopped["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert _rows(pg_server.dsn(target_db)) == _rows(pg_server.dsn(source_db))


def test_a_never_started_config_is_deleting_then_gone(timed: Dms) -> None:
    client = timed.client
    config = create_config(client, timed.endpoint("source"), timed.endpoint("target"))
    assert (
        client.describe_replication_table_statistics(ReplicationConfigArn=config)[
            "ReplicationTableStatistics"
        ]
        == []
    )
    client.delete_replication_config(ReplicationConfigArn=config)
    assert replication(client, config)["Status"] == "deleting"
    with pytest.raises(ClientError, match="being deleted"):
        client.delete_replication_config(ReplicationConfigArn=config)
    with pytest.raises(ClientError) as gone:
        wait_for(client, config, lambda r: False, "gone")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    with pytest.raises(ClientError) as missing:
        client.describe_replication_configs(Filters=[{"Name": "replication-config-arn", "Values": [config]}])
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundFault"


def test_a_replication_stopped_while_provisioning_loads_nothing(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute(ROWS_SQL)
    client = timed.client
    config = create_config(
        client,
        timed.pg_endpoint("source", pg_server, source_db),
        timed.pg_endpoint("target", pg_server, target_db),
    )
    client.start_replication(ReplicationConfigArn=config, StartReplicationType="start-replication")
    stopping = client.stop_replication(ReplicationConfigArn=config)["Replication"]
    assert stopping["Status"] == "stopping"
    stopped = wait_for(client, config, lambda r: r["Status"] == "stopped", "stopped")
    assert stopped["StopReason"] == "Stop Reason NORMAL"
    assert stopped["ReplicationStats"]["TablesLoaded"] == 0
    # a stop ends the provisioning: a stopped replication is never still "provisioning"
    assert provision_state(stopped) in ("provisioned", "deprovisioning", "deprovisioned")
    # it never ran: no table was listed, none loaded
    assert table_stats(client, config) == {}
    assert provision_state(wait_for(client, config, _deprovisioned, "deprovisioned")) == "deprovisioned"
    assert not _target_has_orders(pg_server.dsn(target_db))


def test_a_stop_accepted_as_the_replication_begins_running_moves_no_row(
    timed: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    """StopReplication racing the end of provisioning: the replication has just begun its full
    load when the stop is accepted. The source table is held locked, so the first table's COPY is
    in flight (waiting on the lock) exactly then; once released, not one row may commit."""
    source_db, target_db = pg_pair
    source_dsn = pg_server.dsn(source_db)
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute(ROWS_SQL)
    client = timed.client
    config = create_config(
        client,
        timed.pg_endpoint("source", pg_server, source_db),
        timed.pg_endpoint("target", pg_server, target_db),
    )
    held = HeldTable(source_dsn, "orders")
    try:
        started = client.start_replication(
            ReplicationConfigArn=config, StartReplicationType="start-replication"
        )
        assert provision_state(started["Replication"]) == "provisioning"
        held.wait_for_reader()  # provisioning is over and the load of orders has begun
        assert replication(client, config)["Status"] == "running"
        stopping = client.stop_replication(ReplicationConfigArn=config)["Replication"]
        assert stopping["Status"] == "stopping"
    finally:
        held.release()
    stopped = wait_for(client, config, lambda r: r["Status"] == "stopped", "stopped")
    assert stopped["StopReason"] == "Stop Reason NORMAL"
    assert stopped["ReplicationStats"]["TablesLoaded"] == 0
    assert provision_state(stopped) in ("provisioned", "deprovisioning", "deprovisioned")
    stats = table_stats(client, config)[("public", "orders")]
    assert stats["TableState"] == "Table cancelled" and stats["FullLoadRows"] == 0
    # the load's transaction (its CREATE TABLE included) was rolled back
    assert target_rows(pg_server.dsn(target_db), "orders") is None

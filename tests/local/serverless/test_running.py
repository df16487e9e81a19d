"""A running DMS Serverless replication: table statistics paging, ReloadReplicationTables, and
the operations DMS refuses while a replication runs or keeps its capacity."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError
from psycopg import sql

from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from tests.local.serverless.support import create_config, provision_state, replication, table_stats, wait_for
from tests.local.support import Dms
from tests.logical_postgres import LogicalPg

#: No transitional state is shown, except that a stopped replication keeps its capacity (AWS:
#: up to 48 hours), so the refusals that depend on it can be seen.
KEEPS_CAPACITY = dataclasses.replace(INSTANT, serverless_deprovision_after_seconds=3600.0)
TABLES = [f"t{i:02d}" for i in range(1, 26)]


@pytest.fixture(scope="module")
def keeping_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=KEEPS_CAPACITY) as running:
        yield running


@pytest.fixture
def keeping(keeping_dms: LocalDms, make_dms: Callable[[str], Dms]) -> Dms:
    return make_dms(keeping_dms.endpoint_url)


def _endpoint(dms: Dms, endpoint_type: str, server: LogicalPg, database: str) -> str:
    return dms.endpoint(
        endpoint_type,
        ServerName=server.host,
        Port=server.port,
        Username=server.user,
        Password="unused",
        DatabaseName=database,
    )


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def _tables(names: list[str]) -> list[dict[str, str]]:
    return [{"SchemaName": "public", "TableName": name} for name in names]


def test_running_replication_pages_statistics_reloads_and_refuses_changes(
    keeping: Dms, logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    source_db, target_db = make_logical_database(), make_logical_database()
    with psycopg.connect(logical_pg.dsn(source_db), autocommit=True) as conn:
        for name in TABLES:
            table = sql.Identifier(name)
            conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, v text)").format(table))
            conn.execute(
                sql.SQL("INSERT INTO {} SELECT g, 'v' || g FROM generate_series(1, 3) AS g").format(table)
            )
    client = keeping.client
    config = create_config(
        client,
        _endpoint(keeping, "source", logical_pg, source_db),
        _endpoint(keeping, "target", logical_pg, target_db),
        replication_type="full-load-and-cdc",
    )
    reload_t01 = lambda: client.reload_replication_tables(  # noqa: E731
        ReplicationConfigArn=config, TablesToReload=_tables(["t01"])
    )
    code, message = _error(reload_t01)
    assert code == "InvalidResourceStateFault" and "is created" in message

    client.start_replication(ReplicationConfigArn=config, StartReplicationType="start-replication")
    wait_for(
        client,
        config,
        lambda r: r["Status"] == "running" and r["ReplicationStats"].get("TablesLoaded") == len(TABLES),
        "loaded every table",
    )

    # DescribeReplicationTableStatistics pages like DescribeTableStatistics (MaxRecords 20..500)
    first = client.describe_replication_table_statistics(ReplicationConfigArn=config, MaxRecords=20)
    assert len(first["ReplicationTableStatistics"]) == 20 and first["Marker"]
    rest = client.describe_replication_table_statistics(
        ReplicationConfigArn=config, MaxRecords=20, Marker=first["Marker"]
    )
    assert len(rest["ReplicationTableStatistics"]) == 5 and "Marker" not in rest
    paged = {s["TableName"] for s in first["ReplicationTableStatistics"] + rest["ReplicationTableStatistics"]}
    assert paged == set(TABLES)
    code, _ = _error(
        lambda: client.describe_replication_table_statistics(ReplicationConfigArn=config, MaxRecords=19)
    )
    assert code == "InvalidParameterValueException"
    only = table_stats(client, config, Filters=[{"Name": "table-name", "Values": ["t07"]}])
    assert list(only) == [("public", "t07")]

    # refused while running
    for call in (
        lambda: client.modify_replication_config(ReplicationConfigArn=config, ReplicationType="full-load"),
        lambda: client.delete_replication_config(ReplicationConfigArn=config),
        lambda: client.start_replication(ReplicationConfigArn=config, StartReplicationType="reload-target"),
    ):
        code, message = _error(call)
        assert code == "InvalidResourceStateFault" and "running" in message
    code, message = _error(
        lambda: client.reload_replication_tables(
            ReplicationConfigArn=config, TablesToReload=_tables(TABLES[:11])
        )
    )
    assert code == "InvalidParameterValueException" and "at most 10" in message
    code, _ = _error(
        lambda: client.reload_replication_tables(
            ReplicationConfigArn=config, TablesToReload=_tables(["t01", "t01"])
        )
    )
    assert code == "InvalidParameterValueException"
    code, message = _error(
        lambda: client.reload_replication_tables(
            ReplicationConfigArn=config, TablesToReload=_tables(["nope"])
        )
    )
    assert code == "InvalidParameterValueException" and "public.nope" in message

    # a reload while running loads the table again
    with psycopg.connect(logical_pg.dsn(target_db), autocommit=True) as conn:
        conn.execute("DELETE FROM t01")
    assert reload_t01()["ReplicationConfigArn"] == config
    reloaded = wait_for(
        client,
        config,
        lambda r: (
            table_stats(client, config)[("public", "t01")].get("FullLoadReloaded") is True
            and table_stats(client, config)[("public", "t01")]["TableState"] == "Table completed"
        ),
        "reloaded t01",
    )
    assert reloaded["Status"] == "running"
    with psycopg.connect(logical_pg.dsn(target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM t01").fetchone() == (3,)

    # stopped: NORMAL, the capacity stays provisioned until ReplicationDeprovisionTime
    client.stop_replication(ReplicationConfigArn=config)
    stopped = wait_for(client, config, lambda r: r["Status"] == "stopped", "stopped")
    assert stopped["StopReason"] == "Stop Reason NORMAL"
    assert provision_state(stopped) == "provisioned" and "ReplicationDeprovisionTime" in stopped
    code, message = _error(reload_t01)
    assert code == "InvalidResourceStateFault" and "is stopped" in message
    code, message = _error(lambda: client.delete_replication_config(ReplicationConfigArn=config))
    assert code == "InvalidResourceStateFault" and "deprovisioned" in message
    code, _ = _error(lambda: client.stop_replication(ReplicationConfigArn=config))
    assert code == "InvalidResourceStateFault"

    # resume-processing reuses the provisioned capacity: no provisioning phase
    resumed = client.start_replication(ReplicationConfigArn=config, StartReplicationType="resume-processing")
    assert provision_state(resumed["Replication"]) == "provisioned"
    wait_for(client, config, lambda r: r["Status"] == "running", "running again")
    client.stop_replication(ReplicationConfigArn=config)
    assert replication(client, config)["Status"] in ("stopping", "stopped")
    wait_for(client, config, lambda r: r["Status"] == "stopped", "stopped again")

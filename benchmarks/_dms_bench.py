"""Shared set-up of the DMS call-count benchmarks: a PostgreSQL, the local DMS emulator, a task.

Uses the server in NEON_DMS_TEST_PG_DSN when set, else an embedded PostgreSQL. Every database and
DMS resource it makes is removed when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import psycopg
from psycopg import sql

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT

AWS_CONN_ID = "aws_bench"


@dataclass
class BenchTask:
    """A replication task on the emulator, loaded from ``tables`` source tables."""

    arn: str
    client: Any


@contextlib.contextmanager
def postgres(*, logical: bool = False) -> Iterator[Callable[[str], str]]:
    """Yield ``dsn(database)`` for a PostgreSQL superuser (the given server, or an embedded one).
    ``logical``: change data capture needs wal_level=logical, so always an embedded server with it
    (the given server is shared and is not reconfigured)."""
    given = os.environ.get("NEON_DMS_TEST_PG_DSN")
    if given and not logical:
        parts = urlsplit(given)
        auth = parts.username or "postgres"
        if parts.password:
            auth += f":{parts.password}"
        base = f"postgresql://{auth}@{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
        yield lambda database: f"{base}/{database}"
        return
    from airflow_neon_dms.local.embedded import EmbeddedPostgres
    from airflow_neon_dms.local.stack import LOGICAL_DECODING

    with EmbeddedPostgres(settings=LOGICAL_DECODING if logical else None) as server:
        yield lambda database: f"postgresql://{server.user}@{server.host}:{server.port}/{database}"


@contextlib.contextmanager
def loaded_task(tables: int, migration_type: str, *, serverless: bool = False) -> Iterator[BenchTask]:
    """A task whose full load of ``tables`` one-row tables has finished (a CDC task keeps running).
    ``serverless``: a DMS Serverless replication config instead (``BenchTask.arn`` is its ARN)."""
    # INSTANT: the measured work is the operators' and the load's, not the emulator's state timing
    with contextlib.ExitStack() as stack:
        dsn = stack.enter_context(postgres(logical=migration_type != "full-load"))
        names = [f"neon_dms_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        admin = psycopg.connect(dsn("postgres"), autocommit=True)
        stack.callback(admin.close)
        for name in names:
            # dropped once the local DMS has stopped: a CDC task streaming from a database holds
            # its slot active, and PostgreSQL refuses to drop a database with an active slot
            stack.callback(
                admin.execute, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        dms = stack.enter_context(LocalDms(timing=INSTANT))
        os.environ[f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "aws",
                "login": "bench",
                "password": "bench",
                "extra": {"endpoint_url": dms.endpoint_url, "region_name": "us-east-1"},
            }
        )
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        for name in names:
            with psycopg.connect(dsn(name), autocommit=True) as conn, conn.transaction():
                for i in range(tables):
                    table = sql.Identifier(f"t{i:04d}")
                    conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY)").format(table))
                    if name == names[0]:
                        conn.execute(sql.SQL("INSERT INTO {} VALUES (1)").format(table))
        yield _run(dms.endpoint_url, dsn, names, tables, migration_type, serverless)


def _run(
    url: str, dsn: Callable[[str], str], names: list[str], tables: int, migration_type: str, serverless: bool
) -> BenchTask:
    client = boto3.client(
        "dms", endpoint_url=url, region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b"
    )
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier="bench", ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    arns = []
    for kind, name in zip(("source", "target"), names, strict=True):
        parts = urlsplit(dsn(name))
        arns.append(
            client.create_endpoint(
                EndpointIdentifier=f"bench-{kind}",
                EndpointType=kind,
                EngineName="postgres",
                ServerName=parts.hostname,
                Port=parts.port,
                DatabaseName=name,
                Username=parts.username,
                Password=parts.password or "unused",
            )["Endpoint"]["EndpointArn"]
        )
    if serverless:
        return _loaded_replication(client, arns, tables, migration_type)
    task = client.create_replication_task(
        ReplicationTaskIdentifier="bench-task",
        SourceEndpointArn=arns[0],
        TargetEndpointArn=arns[1],
        ReplicationInstanceArn=instance,
        MigrationType=migration_type,
        TableMappings=TableMappings.include("public").to_json(),
        ReplicationTaskSettings=TaskSettings(enable_validation=False).to_json(),
    )["ReplicationTask"]["ReplicationTaskArn"]
    client.get_waiter("replication_task_ready").wait(
        Filters=[{"Name": "replication-task-arn", "Values": [task]}], WaiterConfig={"Delay": 1}
    )
    client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    task_filter = [{"Name": "replication-task-arn", "Values": [task]}]
    _wait_loaded(
        tables,
        lambda: client.describe_replication_tasks(Filters=task_filter)["ReplicationTasks"][0],
        "ReplicationTaskStats",
    )
    return BenchTask(task, client)


def _loaded_replication(client: Any, arns: list[str], tables: int, replication_type: str) -> BenchTask:
    config = client.create_replication_config(
        ReplicationConfigIdentifier="bench-config",
        SourceEndpointArn=arns[0],
        TargetEndpointArn=arns[1],
        ComputeConfig={"MaxCapacityUnits": 4},
        ReplicationType=replication_type,
        TableMappings=TableMappings.include("public").to_json(),
        ReplicationSettings=TaskSettings(enable_validation=False).to_json(),
    )["ReplicationConfig"]["ReplicationConfigArn"]
    client.start_replication(ReplicationConfigArn=config, StartReplicationType="start-replication")
    _wait_loaded(
        tables,
        lambda: client.describe_replications(
            Filters=[{"Name": "replication-config-arn", "Values": [config]}]
        )["Replications"][0],
        "ReplicationStats",
    )
    return BenchTask(config, client)


def _wait_loaded(tables: int, describe: Callable[[], dict[str, Any]], stats_key: str) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        described = describe()
        if described["Status"] == "failed":
            raise RuntimeError(f"benchmark run failed: {described}")
        if (described.get(stats_key) or {}).get("FullLoadProgressPercent") == 100:
            return
        time.sleep(1)
    raise RuntimeError(f"the full load of {tables} tables did not finish in 15 minutes")


def count_calls(hook: Any, operation: str) -> Callable[[], int]:
    """Count the hook's client calls of ``operation`` from now on; returns a reader."""
    calls = [0]

    def counted(**_: Any) -> None:
        calls[0] += 1

    hook.conn.meta.events.register(f"before-call.database-migration-service.{operation}", counted)
    return lambda: calls[0]

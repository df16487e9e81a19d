"""Shortcuts the emulator tests share: unique names, a client wrapper, a default mapping."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

INCLUDE_ALL_PUBLIC = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "public",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        }
    ]
}


#: Engines whose endpoints need ServerName, Port and Username, with their usual port.
PLACEHOLDER_PORTS = {"postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306, "mariadb": 3306}


def unique(prefix: str) -> str:
    """An identifier no other test (or engineer on the same servers) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Dms:
    """A boto3 client plus shortcuts for the resources most tests need."""

    client: Any
    instance_arn: str

    def endpoint(self, endpoint_type: str, engine: str = "postgres", **fields: Any) -> str:
        """An endpoint; a relational one gets placeholder connection fields unless given
        (DMS refuses one without ServerName, Port or Username)."""
        if engine in PLACEHOLDER_PORTS:
            fields = {
                "ServerName": "db.example.invalid",
                "Port": PLACEHOLDER_PORTS[engine],
                "Username": "dms",
                **fields,
            }
        answer = self.client.create_endpoint(
            EndpointIdentifier=unique(endpoint_type),
            EndpointType=endpoint_type,
            EngineName=engine,
            **fields,
        )
        return str(answer["Endpoint"]["EndpointArn"])

    def pg_endpoint(self, endpoint_type: str, server: Any, database: str, **fields: Any) -> str:
        values: dict[str, Any] = {
            "ServerName": server.host,
            "Port": server.port,
            "Username": server.user,
            "Password": server.password or "unused",
            "DatabaseName": database,
        }
        values.update(fields)
        return self.endpoint(endpoint_type, "postgres", **values)

    def task(
        self,
        source_arn: str,
        target_arn: str,
        mappings: dict[str, Any] | str = INCLUDE_ALL_PUBLIC,
        settings: dict[str, Any] | None = None,
        migration_type: str = "full-load",
    ) -> str:
        answer = self.client.create_replication_task(
            ReplicationTaskIdentifier=unique("task"),
            SourceEndpointArn=source_arn,
            TargetEndpointArn=target_arn,
            ReplicationInstanceArn=self.instance_arn,
            MigrationType=migration_type,
            TableMappings=mappings if isinstance(mappings, str) else json.dumps(mappings),
            ReplicationTaskSettings=json.dumps(settings or {}),
        )
        arn = str(answer["ReplicationTask"]["ReplicationTaskArn"])
        self.wait("replication_task_ready", arn)
        return arn

    def wait(self, waiter: str, task_arn: str) -> None:
        self.client.get_waiter(waiter).wait(
            Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}],
            WaiterConfig={"Delay": 1, "MaxAttempts": 120},
        )

    def describe_task(self, task_arn: str) -> dict[str, Any]:
        tasks = self.client.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}]
        )["ReplicationTasks"]
        assert len(tasks) == 1
        return dict(tasks[0])

    def run_full_load(self, task_arn: str) -> dict[str, Any]:
        self.client.start_replication_task(
            ReplicationTaskArn=task_arn, StartReplicationTaskType="start-replication"
        )
        # botocore's stopped waiter fails on "starting" (as on AWS): wait until the task leaves it
        while self.describe_task(task_arn)["Status"] == "starting":
            time.sleep(0.2)
        self.wait("replication_task_stopped", task_arn)
        return self.describe_task(task_arn)

    def table_stats(self, task_arn: str) -> dict[tuple[str, str], dict[str, Any]]:
        stats = self.client.describe_table_statistics(ReplicationTaskArn=task_arn)["TableStatistics"]
        return {(s["SchemaName"], s["TableName"]): s for s in stats}


def new_dms(dms_client: Any) -> Dms:
    arn = dms_client.create_replication_instance(
        ReplicationInstanceIdentifier=unique("ri"), ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    dms_client.get_waiter("replication_instance_available").wait(
        Filters=[{"Name": "replication-instance-arn", "Values": [arn]}],
        WaiterConfig={"Delay": 1, "MaxAttempts": 30},
    )
    return Dms(dms_client, arn)


def refreshed_schemas(client: Any, endpoint_arn: str, instance_arn: str) -> dict[str, Any]:
    """Run RefreshSchemas and wait until it is no longer ``refreshing``; returns its final status."""
    client.refresh_schemas(EndpointArn=endpoint_arn, ReplicationInstanceArn=instance_arn)
    for _ in range(300):
        status = dict(
            client.describe_refresh_schemas_status(EndpointArn=endpoint_arn)["RefreshSchemasStatus"]
        )
        if status["Status"] != "refreshing":
            return status
        time.sleep(0.1)
    raise AssertionError(f"RefreshSchemas of {endpoint_arn} still refreshing")


class HeldTable:
    """A source table locked ``ACCESS EXCLUSIVE`` by an open transaction of the test: a load's
    ``COPY ... TO STDOUT`` of it waits until ``release()`` (PostgreSQL's own lock, no fake)."""

    def __init__(self, dsn: str, table: str) -> None:
        self.dsn = dsn
        self.conn = psycopg.connect(dsn)
        self.table = table
        self.conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))

    def reader_waiting(self) -> bool:
        """True once another session waits for the table (the load's COPY is in flight)."""
        with psycopg.connect(self.dsn, autocommit=True) as other:
            row = other.execute(
                "SELECT count(*) FROM pg_locks WHERE relation = to_regclass(%s) AND NOT granted",
                [self.table],
            ).fetchone()
        return bool(row and row[0])

    def wait_for_reader(self, patience: float = 120) -> None:
        deadline = time.monotonic() + patience
        while not self.reader_waiting():
            if time.monotonic() > deadline:
                raise AssertionError(f"no load ever waited for table {self.table}")
            time.sleep(0.05)

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def target_rows(dsn: str, table: str) -> int | None:
    """Rows of ``public.<table>`` in the target database, None when the table does not exist."""
    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{table}"]).fetchone()
        if not (exists and exists[0]):
            return None
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        return int(row[0]) if row else 0

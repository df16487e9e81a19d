"""Fixtures for the unit tests of hooks, operators, sensors, triggers and links.

The DMS is the project's local emulator (the ``local_dms`` fixture), reached with boto3 over HTTP;
it copies and validates rows between real databases. Connections come through ``AIRFLOW_CONN_*``
environment variables.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest


@dataclass
class DmsServer:
    """A DMS API on 127.0.0.1."""

    endpoint_url: str

    def client(self) -> Any:
        return boto3.client(
            "dms",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def aws_conn_json(endpoint_url: str, region: str = "us-east-1") -> str:
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint_url, "region_name": region},
        }
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class RecordingTI:
    """Enough of a task instance for execute(): it keeps what the operator pushes to XCom."""

    xcom: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = json.loads(json.dumps(value))  # XCom values must be JSON

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        return self.xcom.get(key)


@dataclass
class FakeDagRun:
    start_date: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def make_context(dag_run_start: datetime | None = None) -> dict[str, Any]:
    """A context with a ``ti`` that records XCom pushes and a ``dag_run`` with its start time."""
    return {"ti": RecordingTI(), "dag_run": FakeDagRun(dag_run_start or datetime.now(timezone.utc))}


@pytest.fixture(scope="session")
def pg_server(logical_pg: Any) -> Any:
    """The operators' tests run full-load-and-cdc tasks, whose PostgreSQL source the local DMS
    replicates by logical decoding: their databases live on the session's wal_level=logical server."""
    return logical_pg


@pytest.fixture(scope="session")
def dms_server(local_dms: Any) -> DmsServer:
    """The session's local DMS emulator."""
    return DmsServer(local_dms.endpoint_url)


@pytest.fixture
def aws_conn(dms_server: DmsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``aws_default`` pointing boto3 at the test DMS through its ``endpoint_url`` extra."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_conn_json(dms_server.endpoint_url))
    return "aws_default"


@pytest.fixture
def dms(dms_server: DmsServer) -> Any:
    """A boto3 DMS client on the test DMS."""
    return dms_server.client()


@pytest.fixture
def replication_instance_arn(dms: Any) -> str:
    """A fresh replication instance."""
    response = dms.create_replication_instance(
        ReplicationInstanceIdentifier=unique("ri"), ReplicationInstanceClass="dms.t3.micro"
    )
    return str(response["ReplicationInstance"]["ReplicationInstanceArn"])


@pytest.fixture
def unique_id() -> Callable[[str], str]:
    """Factory of identifiers unique to this test (other tests share the DMS server)."""
    return unique


@pytest.fixture
def context_factory() -> Callable[..., dict[str, Any]]:
    """Factory of execute() contexts with a recording ``ti`` and a ``dag_run``."""
    return make_context


@dataclass(frozen=True)
class EndpointPair:
    """Source and target endpoints on real PostgreSQL databases of the test server."""

    source_arn: str
    target_arn: str
    source_db: str
    target_db: str


#: The table every endpoint_pair source holds (and its target has, empty).
PAIR_ROWS = 120


@pytest.fixture
def endpoint_pair(dms: Any, pg_server: Any, make_pg_database: Callable[[], str]) -> EndpointPair:
    """A source database with ``public.items`` (120 rows), an empty target, and their endpoints."""
    import psycopg

    source_db, target_db = make_pg_database(), make_pg_database()
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, %s) g", (PAIR_ROWS,))
    with psycopg.connect(pg_server.dsn(target_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
    arns = []
    for kind, database in (("source", source_db), ("target", target_db)):
        response = dms.create_endpoint(
            EndpointIdentifier=unique(kind),
            EndpointType=kind,
            EngineName="postgres",
            ServerName=pg_server.host,
            Port=pg_server.port,
            DatabaseName=database,
            Username=pg_server.user,
            Password=pg_server.password or "unused",
            SslMode="none",
        )
        arns.append(str(response["Endpoint"]["EndpointArn"]))
    return EndpointPair(arns[0], arns[1], source_db, target_db)


@pytest.fixture
def stop_tasks_after(dms: Any) -> Iterator[list[str]]:
    """Task ARNs appended here are stopped after the test (CDC tasks otherwise run on)."""
    arns: list[str] = []
    yield arns
    from botocore.exceptions import ClientError

    for arn in arns:
        with contextlib.suppress(ClientError):  # already stopped: nothing to clean
            dms.stop_replication_task(ReplicationTaskArn=arn)


@pytest.fixture
def aws_conn_to(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Any]:
    """``aws_conn_to(conn_id, endpoint_url)``: an AWS connection to another DMS; returns a client."""

    def point(conn_id: str, endpoint_url: str) -> Any:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", aws_conn_json(endpoint_url))
        return DmsServer(endpoint_url).client()

    return point


@dataclass(frozen=True)
class MigratedTask:
    """A task that has loaded ``public.t0..t2`` (50 rows each, with primary keys) and ``public.nopk``."""

    arn: str
    identifier: str
    source_db: str
    target_db: str


TABLES_WITH_KEYS = ("t0", "t1", "t2")


@pytest.fixture
def migrated_task(
    dms_server: DmsServer,
    dms: Any,
    aws_conn: str,
    pg_server: Any,
    make_pg_database: Callable[[], str],
    replication_instance_arn: str,
    stop_tasks_after: list[str],
) -> Callable[..., MigratedTask]:
    """Factory: run a validated load of the sample tables; ``migration_type`` and ``prep_mode`` vary."""
    import psycopg
    from psycopg import sql

    def make(
        migration_type: str = "full-load-and-cdc", prep_mode: str = "TRUNCATE_BEFORE_LOAD"
    ) -> MigratedTask:
        from airflow_neon_dms.dms.mappings import TableMappings
        from airflow_neon_dms.dms.task_settings import TaskSettings
        from airflow_neon_dms.hooks.dms import NeonDmsHook

        source_db, target_db = make_pg_database(), make_pg_database()
        for database in (source_db, target_db):
            with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
                for name in TABLES_WITH_KEYS:
                    conn.execute(
                        sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, v text)").format(sql.Identifier(name))
                    )
                conn.execute("CREATE TABLE nopk (id int, v text)")
                if database == source_db:
                    for name in (*TABLES_WITH_KEYS, "nopk"):
                        conn.execute(
                            sql.SQL(
                                "INSERT INTO {} SELECT g, 'row ' || g FROM generate_series(1, 50) g"
                            ).format(sql.Identifier(name))
                        )
        endpoints = []
        for kind, database in (("source", source_db), ("target", target_db)):
            endpoints.append(
                dms.create_endpoint(
                    EndpointIdentifier=unique(kind),
                    EndpointType=kind,
                    EngineName="postgres",
                    ServerName=pg_server.host,
                    Port=pg_server.port,
                    DatabaseName=database,
                    Username=pg_server.user,
                    Password=pg_server.password or "unused",
                )["Endpoint"]["EndpointArn"]
            )
        hook = NeonDmsHook(aws_conn_id=aws_conn)
        identifier = unique("task")
        arn, _ = hook.ensure_task(
            identifier,
            source_endpoint_arn=endpoints[0],
            target_endpoint_arn=endpoints[1],
            replication_instance_arn=replication_instance_arn,
            migration_type=migration_type,
            table_mappings=TableMappings.include("public").to_json(),
            task_settings=TaskSettings(target_table_prep_mode=prep_mode).to_json(),
        )
        stop_tasks_after.append(arn)
        hook.start_task(arn, "start-replication", settle_timeout=30, settle_delay=0.1)
        deadline = time.time() + 60
        while time.time() < deadline:
            rows = hook.table_statistics(arn)
            settled = len(rows) == 4 and all(
                r["TableState"] == "Table completed"
                and r["ValidationState"] in ("Validated", "No primary key")
                for r in rows
            )
            if settled and (migration_type != "full-load" or hook.describe_task(arn)["Status"] == "stopped"):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"sample load of {identifier} did not settle")
        return MigratedTask(arn, identifier, source_db, target_db)

    return make


@pytest.fixture
def table_rows(pg_server: Any) -> Callable[[str, str], list[tuple[Any, ...]]]:
    """``table_rows(database, table)``: every row of a table, ordered."""
    import psycopg
    from psycopg import sql

    def rows(database: str, table: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(pg_server.dsn(database)) as conn:
            return conn.execute(
                sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(sql.Identifier(table))
            ).fetchall()

    return rows


@pytest.fixture
def run_sql(pg_server: Any) -> Callable[[str, str], None]:
    """``run_sql(database, statement)`` with autocommit (fixed statements written by the tests)."""
    import psycopg

    def run(database: str, statement: str) -> None:
        with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    return run


@pytest.fixture
def started_task_factory(
    aws_conn: str,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    stop_tasks_after: list[str],
) -> Callable[[str], str]:
    """Factory: a started replication task of the given migration type, stopped after the test."""

    def make(migration_type: str) -> str:
        from airflow_neon_dms.dms.mappings import TableMappings
        from airflow_neon_dms.dms.task_settings import TaskSettings
        from airflow_neon_dms.hooks.dms import NeonDmsHook

        hook = NeonDmsHook(aws_conn_id=aws_conn)
        arn, _ = hook.ensure_task(
            unique_id("task"),
            source_endpoint_arn=endpoint_pair.source_arn,
            target_endpoint_arn=endpoint_pair.target_arn,
            replication_instance_arn=replication_instance_arn,
            migration_type=migration_type,
            table_mappings=TableMappings.include("public").to_json(),
            task_settings=TaskSettings().to_json(),
        )
        stop_tasks_after.append(arn)
        hook.start_task(arn, "start-replication", settle_timeout=30, settle_delay=0.1)
        return arn

    return make


#: Rows of the ``locked`` table (see ``locked_target``).
LOCKED_ROWS = 40


@pytest.fixture
def locked_target(endpoint_pair: EndpointPair, pg_server: Any) -> Iterator[Any]:
    """A second table ``locked`` on both sides, locked on the target until the test commits the
    returned connection: a real load stays on that table until then."""
    import psycopg

    for database in (endpoint_pair.source_db, endpoint_pair.target_db):
        with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
            conn.execute("CREATE TABLE locked (id int PRIMARY KEY)")
    with psycopg.connect(pg_server.dsn(endpoint_pair.source_db), autocommit=True) as conn:
        conn.execute("INSERT INTO locked SELECT generate_series(1, %s)", (LOCKED_ROWS,))
    holder = psycopg.connect(pg_server.dsn(endpoint_pair.target_db))
    holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
    yield holder
    holder.close()


def info_messages(entries: list[dict[str, Any]]) -> list[str]:
    """The info lines in structlog's ``capture_logs`` entries (Airflow 3 operators and triggers
    log through structlog; the triggerer sends a trigger's lines to the deferred task's log)."""
    return [
        str(e["event"]) % tuple(e["positional_args"]) if e.get("positional_args") else str(e["event"])
        for e in entries
        if e.get("log_level") == "info"
    ]

"""Fixtures for the unit tests of hooks, operators, sensors, triggers and links.

The DMS is the project's local emulator when it is importable, else moto's server (which lacks
connection-test results, table statistics, reloads and ModifyEndpoint: tests needing those skip,
saying so, on moto). Connections come through ``AIRFLOW_CONN_*`` environment variables.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest


@dataclass
class DmsServer:
    """A DMS API on 127.0.0.1 and which implementation serves it."""

    endpoint_url: str
    kind: str  # "emulator" or "moto"

    def client(self) -> Any:
        return boto3.client(
            "dms",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def require_full_dms(self, what: str) -> None:
        if self.kind != "emulator":
            pytest.skip(f"moto's DMS has no {what}; this test needs the local DMS emulator")


def start_moto_server() -> Iterator[DmsServer]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield DmsServer(f"http://{host}:{port}", "moto")
    finally:
        server.stop()


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


@dataclass
class FakeDagRun:
    start_date: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def make_context(dag_run_start: datetime | None = None) -> dict[str, Any]:
    """A context with a ``ti`` that records XCom pushes and a ``dag_run`` with its start time."""
    return {"ti": RecordingTI(), "dag_run": FakeDagRun(dag_run_start or datetime.now(timezone.utc))}


@pytest.fixture(scope="session")
def dms_server(request: pytest.FixtureRequest) -> Iterator[DmsServer]:
    """A DMS API over HTTP on 127.0.0.1 for the whole session (emulator, else moto)."""
    try:
        local_dms = request.getfixturevalue("local_dms")
    except pytest.FixtureLookupError:
        yield from start_moto_server()
        return
    yield DmsServer(local_dms.endpoint_url, "emulator")


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
        return DmsServer(endpoint_url, "emulator").client()

    return point

"""A rotated password reaches DMS: the endpoint operators send it again, and TestConnection from
the local DMS then logs in to a real PostgreSQL that checks passwords (SCRAM-SHA-256)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.exceptions import ConnectionTestFailedError
from airflow_neon_dms.operators.connection_test import NeonDmsTestConnectionOperator
from airflow_neon_dms.operators.endpoint import NeonDmsSourceEndpointOperator, NeonTargetEndpointOperator
from tests.local.tls_postgres import TlsOnlyPostgres, postgres_bin_dir
from tests.timing_choice import chosen_timing

ENDPOINT_ID = "ep-rotate-neon-5"
ROLE = "rotating_app"
#: The superuser logs in without a password (setup); every other role needs its SCRAM password.
PASSWORD_HBA = """\
local all all              trust
host  all postgres 127.0.0.1/32 trust
host  all all      127.0.0.1/32 scram-sha-256
"""


@pytest.fixture(scope="module")
def password_pg() -> Iterator[TlsOnlyPostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    with TlsOnlyPostgres(bin_dir, hba=PASSWORD_HBA) as server:
        with psycopg.connect(host=server.host, port=server.port, user="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'first-pw-1'")
        yield server


@pytest.fixture(scope="module")
def neon_dms(password_pg: TlsOnlyPostgres) -> Iterator[Any]:
    from airflow_neon_dms.local.server import LocalDms, NeonTarget

    with LocalDms(
        neon=[NeonTarget(ENDPOINT_ID, "localhost", password_pg.port)], timing=chosen_timing()
    ) as dms:
        yield dms


def _rotate(server: TlsOnlyPostgres, password: str) -> None:
    with psycopg.connect(host=server.host, port=server.port, user="postgres", autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {ROLE} PASSWORD '{password}'")  # test-only literal, no user input


def _set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def _fingerprint(client: Any, arn: str) -> str:
    from airflow_neon_dms.dms.password_fingerprint import TAG_KEY

    tags = client.list_tags_for_resource(ResourceArn=arn)["TagList"]
    return next(str(t["Value"]) for t in tags if t["Key"] == TAG_KEY)


def _test_connection(instance: str, endpoint_arn: str, context: dict[str, Any]) -> Any:
    return NeonDmsTestConnectionOperator(
        task_id="test",
        replication_instance_arn=instance,
        endpoint_arn=endpoint_arn,
        aws_conn_id="aws_rotate",
        deferrable=False,
        waiter_delay=0.2,
        max_wait=60,
    ).execute(context)


@pytest.mark.parametrize("kind", ["neon", "source"])
def test_rotated_password_is_sent_and_the_dms_connection_test_passes(
    kind: str,
    neon_dms: Any,
    password_pg: TlsOnlyPostgres,
    monkeypatch: pytest.MonkeyPatch,
    aws_conn_to: Callable[[str, str], Any],
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = aws_conn_to("aws_rotate", neon_dms.endpoint_url)
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier=unique_id("ri"), ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    identifier = unique_id(kind)
    conn: dict[str, Any] = {
        "host": "localhost" if kind == "neon" else password_pg.host,
        "port": password_pg.port,
        "login": ROLE,
        "schema": "postgres",
    }
    if kind == "neon":
        conn.update(conn_type="neon", extra={"endpoint_id": ENDPOINT_ID})
        op: Any = NeonTargetEndpointOperator(
            task_id="neon_endpoint",
            endpoint_identifier=identifier,
            neon_conn_id="rot",
            aws_conn_id="aws_rotate",
        )
    else:
        conn.update(conn_type="postgres")
        op = NeonDmsSourceEndpointOperator(
            task_id="source_endpoint",
            endpoint_identifier=identifier,
            source_conn_id="rot",
            aws_conn_id="aws_rotate",
        )
    _rotate(password_pg, "first-pw-1")
    _set_conn(monkeypatch, "rot", {**conn, "password": "first-pw-1"})
    arn = op.execute(context_factory())
    assert _test_connection(instance, arn, context_factory()) == arn

    first_tag = _fingerprint(client, arn)

    _rotate(password_pg, "second-pw-2")
    # The server really checks passwords: DMS still holds the old one.
    with pytest.raises(ConnectionTestFailedError, match="password authentication failed") as stale:
        _test_connection(instance, arn, context_factory())
    if kind == "neon":  # the DMS-side hint: the endpoint holds an older password
        assert "run the endpoint step (NeonTargetEndpointOperator) again" in str(stale.value)
    _set_conn(monkeypatch, "rot", {**conn, "password": "second-pw-2"})
    capsys.readouterr()
    assert op.execute(context_factory()) == arn
    assert f"Endpoint {identifier} (postgres" in capsys.readouterr().out.split(" modified: ")[0]
    assert _test_connection(instance, arn, context_factory()) == arn
    second_tag = _fingerprint(client, arn)
    assert second_tag != first_tag

    assert op.execute(context_factory()) == arn  # unchanged password: nothing to send
    assert " reused: " in capsys.readouterr().out
    assert _fingerprint(client, arn) == second_tag
    tags = json.dumps(client.list_tags_for_resource(ResourceArn=arn))
    assert "second-pw-2" not in tags and "first-pw-1" not in tags

"""``--neon``: the emulator's own connections to a Neon endpoint go through the Neon proxy."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.server import LocalDms, NeonTarget
from airflow_neon_dms.neon import NEON_MISSING_ENDPOINT_MESSAGE, dms_password
from tests.timing_choice import chosen_timing

ENDPOINT = "ep-neon-local-42"


@pytest.fixture(scope="module")
def neon_dms(pg_server: Any) -> Iterator[LocalDms]:
    # Endpoints that name the server "localhost" play Neon; "127.0.0.1" is the plain source.
    with LocalDms(
        neon=[NeonTarget(ENDPOINT, "localhost", pg_server.port)], timing=chosen_timing()
    ) as running:
        yield running


@pytest.fixture
def neon(neon_dms: LocalDms, make_dms: Callable[[str], Any]) -> Any:
    return make_dms(neon_dms.endpoint_url)


def _target(neon: Any, pg_server: Any, database: str, password: str, ssl_mode: str = "require") -> str:
    return neon.endpoint(
        "target",
        ServerName="localhost",
        Port=pg_server.port,
        Username=pg_server.user,
        Password=password,
        DatabaseName=database,
        SslMode=ssl_mode,
    )


def _test_connection(neon: Any, endpoint_arn: str) -> dict[str, Any]:
    answer = neon.client.test_connection(ReplicationInstanceArn=neon.instance_arn, EndpointArn=endpoint_arn)
    assert answer["Connection"]["Status"] == "testing"
    waiter = neon.client.get_waiter("test_connection_succeeds")
    try:
        waiter.wait(
            Filters=[{"Name": "endpoint-arn", "Values": [endpoint_arn]}],
            WaiterConfig={"Delay": 1, "MaxAttempts": 30},
        )
    except Exception:
        pass
    connections = neon.client.describe_connections(
        Filters=[
            {"Name": "endpoint-arn", "Values": [endpoint_arn]},
            {"Name": "replication-instance-arn", "Values": [neon.instance_arn]},
        ]
    )["Connections"]
    assert len(connections) == 1
    return dict(connections[0])


def test_neon_password_form_connects(neon: Any, pg_server: Any) -> None:
    arn = _target(neon, pg_server, "postgres", dms_password(ENDPOINT, pg_server.password or "pw"))
    connection = _test_connection(neon, arn)
    assert connection["Status"] == "successful"
    # Re-testing the same pair works and gives a fresh answer.
    assert _test_connection(neon, arn)["Status"] == "successful"


def test_plain_password_fails_with_neons_message(neon: Any, pg_server: Any) -> None:
    connection = _test_connection(neon, _target(neon, pg_server, "postgres", "just-the-password"))
    assert connection["Status"] == "failed"
    assert NEON_MISSING_ENDPOINT_MESSAGE in connection["LastFailureMessage"]
    assert "just-the-password" not in json.dumps(connection)


def test_wrong_endpoint_id_fails_with_a_mismatch(neon: Any, pg_server: Any) -> None:
    connection = _test_connection(neon, _target(neon, pg_server, "postgres", "endpoint=ep-someone-else$pw"))
    assert connection["Status"] == "failed"
    assert "Endpoint ID mismatch" in connection["LastFailureMessage"]


def test_ssl_mode_none_is_refused_like_neon(neon: Any, pg_server: Any) -> None:
    arn = _target(neon, pg_server, "postgres", dms_password(ENDPOINT, "pw"), ssl_mode="none")
    connection = _test_connection(neon, arn)
    assert connection["Status"] == "failed"
    assert "connection is insecure" in connection["LastFailureMessage"]


def test_full_load_into_neon_through_the_proxy(neon: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE t (id int PRIMARY KEY, v text);"
            "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 500) g"
        )
    source = neon.pg_endpoint("source", pg_server, source_db)
    target = _target(neon, pg_server, target_db, dms_password(ENDPOINT, pg_server.password or "pw"))
    task = neon.task(source, target)
    described = neon.run_full_load(task)
    assert described["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert neon.table_stats(task)[("public", "t")]["FullLoadRows"] == 500
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        assert conn.execute("SELECT count(*), sum(id) FROM t").fetchone() == (500, 125250)


def test_neon_target_with_a_plain_password_fails_the_task(
    neon: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    task = neon.task(
        neon.pg_endpoint("source", pg_server, source_db), _target(neon, pg_server, target_db, "pw")
    )
    neon.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    with pytest.raises(Exception, match="failure state"):
        neon.wait("replication_task_stopped", task)
    described = neon.describe_task(task)
    assert described["StopReason"] == "Stop Reason FATAL_ERROR"
    assert "Endpoint ID is not specified" in described["LastFailureMessage"]


def test_neon_target_parsing() -> None:
    assert NeonTarget.parse("ep-a-1@127.0.0.1:5432") == NeonTarget("ep-a-1", "127.0.0.1", 5432)
    with pytest.raises(ValueError, match="ENDPOINT_ID@HOST:PORT"):
        NeonTarget.parse("ep-a-1:5432")


def test_endpoint_pointing_straight_at_a_running_proxy(dms: Any, pg_server: Any) -> None:
    from airflow_neon_dms.local.neon_proxy import NeonProxy

    with NeonProxy("ep-direct-7", pg_server.host, pg_server.port) as proxy:
        arn = dms.endpoint(
            "target",
            ServerName="127.0.0.1",
            Port=proxy.port,
            Username=pg_server.user,
            Password=dms_password("ep-direct-7", pg_server.password or "pw"),
            DatabaseName="postgres",
            SslMode="require",
        )
        connection = _test_connection(dms, arn)
    assert connection["Status"] == "successful"

"""Endpoint connection fields DMS needs: refused at create, or a failed connection test."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.support import Dms, unique

LOCAL = Path(__file__).resolve().parents[2] / "airflow_neon_dms" / "local"


def _create(dms: Dms, engine: str, **fields: Any) -> Any:
    return dms.client.create_endpoint(
        EndpointIdentifier=unique("ep"), EndpointType="source", EngineName=engine, **fields
    )


@pytest.mark.parametrize("engine", ["postgres", "mysql", "mariadb"])
@pytest.mark.parametrize(
    ("left_out", "message"),
    [
        ("ServerName", "The parameter serverName must be provided and must not be blank."),
        ("Port", "The parameter port must be provided and must not be blank."),
        ("Username", "The parameter username must be provided and must not be blank."),
    ],
)
def test_create_without_server_port_or_user_is_refused(
    dms: Dms, engine: str, left_out: str, message: str
) -> None:
    fields: dict[str, Any] = {"ServerName": "127.0.0.1", "Port": 5432, "Username": "app", "Password": "pw"}
    del fields[left_out]
    before = len(dms.client.describe_endpoints()["Endpoints"])
    with pytest.raises(ClientError) as err:
        _create(dms, engine, **fields)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert err.value.response["Error"]["Message"] == message
    assert len(dms.client.describe_endpoints()["Endpoints"]) == before  # nothing half-created


def test_modify_cannot_blank_the_server_name(dms: Dms) -> None:
    arn = dms.endpoint("target", ServerName="db.example.invalid")
    with pytest.raises(ClientError) as err:
        dms.client.modify_endpoint(EndpointArn=arn, ServerName="  ")
    assert "serverName must be provided" in err.value.response["Error"]["Message"]


def _test_connection(dms: Dms, arn: str) -> dict[str, Any]:
    dms.client.test_connection(ReplicationInstanceArn=dms.instance_arn, EndpointArn=arn)
    found = [{"Name": "endpoint-arn", "Values": [arn]}]
    try:
        dms.client.get_waiter("test_connection_succeeds").wait(
            Filters=found, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    except Exception:  # the waiter fails on "failed": the connection is returned below
        pass
    return dict(dms.client.describe_connections(Filters=found)["Connections"][0])


@pytest.mark.parametrize("left_out", ["DatabaseName"])
def test_postgres_endpoint_without_database_fails_its_connection_test(
    dms: Dms, pg_server: Any, make_pg_database: Any, left_out: str
) -> None:
    fields = {
        "ServerName": pg_server.host,
        "Port": pg_server.port,
        "Username": pg_server.user,
        "Password": pg_server.password or "unused",
        "DatabaseName": make_pg_database(),
    }
    given = {k: v for k, v in fields.items() if k != left_out}
    arn = _create(dms, "postgres", **given)["Endpoint"]["EndpointArn"]
    connection = _test_connection(dms, arn)
    assert connection["Status"] == "failed"
    assert f"The endpoint has no {left_out}" in connection["LastFailureMessage"]
    # the driver's default (database "postgres", no password) was not used; with the field set,
    # the same endpoint connects
    dms.client.modify_endpoint(EndpointArn=arn, **{left_out: fields[left_out]})
    assert _test_connection(dms, arn)["Status"] == "successful"


def test_mysql_endpoint_needs_no_database_name(dms: Dms, mysql_server: Any) -> None:
    fields = {"ServerName": mysql_server.host, "Port": mysql_server.port, "Username": mysql_server.user}
    if mysql_server.password:
        fields["Password"] = mysql_server.password
    connection = _test_connection(dms, _create(dms, "mysql", **fields)["Endpoint"]["EndpointArn"])
    assert connection["Status"] == "successful", connection.get("LastFailureMessage")


def test_the_emulator_imports_none_of_the_product_rules() -> None:
    product_rules = ("airflow_neon_dms.neon", "airflow_neon_dms.dms", "airflow_neon_dms.operators")
    for module in ("endpoint_operations.py", "endpoint_rules.py", "models.py", "task_settings.py"):
        tree = ast.parse((LOCAL / module).read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        assert not [m for m in imported if m.startswith(product_rules)], module

"""RefreshSchemas / DescribeRefreshSchemasStatus / DescribeSchemas read real databases;
DescribeEndpointTypes lists the engines."""

from __future__ import annotations

import socket
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.local.support import refreshed_schemas


def test_postgres_schemas_are_read_from_the_database(dms: Any, pg_server: Any, pg_database: str) -> None:
    endpoint = dms.pg_endpoint("source", pg_server, pg_database)
    with pytest.raises(ClientError) as err:
        dms.client.describe_schemas(EndpointArn=endpoint)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    assert "RefreshSchemas" in err.value.response["Error"]["Message"]
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute('CREATE SCHEMA sales; CREATE SCHEMA "Mixed Case"')

    status = refreshed_schemas(dms.client, endpoint, dms.instance_arn)
    assert status["Status"] == "successful" and "LastRefreshDate" in status
    assert status["ReplicationInstanceArn"] == dms.instance_arn
    assert dms.client.describe_schemas(EndpointArn=endpoint)["Schemas"] == ["Mixed Case", "public", "sales"]

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("DROP SCHEMA sales")
    assert dms.client.describe_schemas(EndpointArn=endpoint)["Schemas"] == ["Mixed Case", "public", "sales"]
    refreshed_schemas(dms.client, endpoint, dms.instance_arn)  # the list changes only on a refresh
    assert dms.client.describe_schemas(EndpointArn=endpoint)["Schemas"] == ["Mixed Case", "public"]


def test_mysql_schemas_are_its_databases(dms: Any, mysql_server: Any, mysql_database: str) -> None:
    password = {"Password": mysql_server.password} if mysql_server.password else {}
    endpoint = dms.endpoint(
        "source",
        "mysql",
        ServerName=mysql_server.host,
        Port=mysql_server.port,
        Username=mysql_server.user,
        **password,
    )
    status = refreshed_schemas(dms.client, endpoint, dms.instance_arn)
    assert status["Status"] == "successful", status
    schemas = dms.client.describe_schemas(EndpointArn=endpoint, MaxRecords=100)["Schemas"]
    assert mysql_database in schemas and "mysql" in schemas
    assert "information_schema" not in schemas


def test_a_failed_refresh_reports_the_driver_error(dms: Any, pg_server: Any) -> None:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = dms.endpoint(
        "source", ServerName="127.0.0.1", Port=port, Username="u", Password="secret-pw", DatabaseName="d"
    )
    status = refreshed_schemas(dms.client, endpoint, dms.instance_arn)
    assert status["Status"] == "failed"
    assert str(port) in status["LastFailureMessage"] and "secret-pw" not in status["LastFailureMessage"]
    with pytest.raises(ClientError) as err:
        dms.client.describe_schemas(EndpointArn=endpoint)
    assert err.value.response["Error"]["Code"] == "InvalidResourceStateFault"


def test_refresh_needs_a_known_endpoint_and_instance(dms: Any) -> None:
    endpoint = dms.endpoint("source", ServerName="127.0.0.1", Port=5432, Username="u", Password="p")
    with pytest.raises(ClientError) as err:
        dms.client.refresh_schemas(EndpointArn=endpoint, ReplicationInstanceArn=dms.instance_arn + "X")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    with pytest.raises(ClientError) as err:
        dms.client.describe_refresh_schemas_status(EndpointArn=endpoint + "X")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundFault"


def test_endpoint_types(dms_client: Any) -> None:
    everything = dms_client.describe_endpoint_types()["SupportedEndpointTypes"]
    pairs = {(t["EngineName"], t["EndpointType"]) for t in everything}
    assert {
        ("postgres", "source"),
        ("postgres", "target"),
        ("mysql", "source"),
        ("mariadb", "source"),
    } <= pairs
    assert ("redshift", "source") not in pairs and ("redshift", "target") in pairs
    (mysql,) = dms_client.describe_endpoint_types(
        Filters=[
            {"Name": "engine-name", "Values": ["mysql"]},
            {"Name": "endpoint-type", "Values": ["SOURCE"]},
        ]
    )["SupportedEndpointTypes"]
    assert mysql == {
        "EngineName": "mysql",
        "SupportsCDC": True,
        "EndpointType": "source",
        "EngineDisplayName": "MySQL",
    }
    first = dms_client.describe_endpoint_types(MaxRecords=20)
    rest = dms_client.describe_endpoint_types(MaxRecords=20, Marker=first["Marker"])["SupportedEndpointTypes"]
    assert first["SupportedEndpointTypes"] + rest == everything[: 20 + len(rest)]

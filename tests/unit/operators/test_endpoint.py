"""Endpoint operators: the Neon target from a ``neon`` connection, and a generic source."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.log import _secrets_masker

from airflow_neon_dms.exceptions import NeonConfigError
from airflow_neon_dms.operators.endpoint import NeonDmsSourceEndpointOperator, NeonTargetEndpointOperator

NEON_PASSWORD = "Np4ss-w0rd-x7"


@pytest.fixture
def neon_conn(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEON_TARGET",
        json.dumps(
            {
                "conn_type": "neon",
                "host": "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech",
                "port": 5432,
                "login": "neondb_owner",
                "password": NEON_PASSWORD,
                "schema": "neondb",
            }
        ),
    )
    return "neon_target"


@pytest.fixture
def source_conn(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DMS_SOURCE",
        json.dumps(
            {
                "conn_type": "mysql",
                "host": "db.internal",
                "port": 3306,
                "login": "repl",
                "password": "src-pw-91",
                "schema": "shop",
            }
        ),
    )
    return "dms_source"


def _endpoint(dms: Any, identifier: str) -> list[dict[str, Any]]:
    # Every page: the session's emulator holds more endpoints than one page (MaxRecords 100).
    pages = dms.get_paginator("describe_endpoints").paginate()
    return [e for page in pages for e in page["Endpoints"] if e["EndpointIdentifier"] == identifier]


def test_template_fields() -> None:
    assert {
        "neon_conn_id",
        "endpoint_identifier",
        "tags",
        "extra_settings",
        "aws_conn_id",
        "region_name",
    } <= set(NeonTargetEndpointOperator.template_fields)
    assert {"source_conn_id", "engine_name", "ssl_mode"} <= set(NeonDmsSourceEndpointOperator.template_fields)


def test_neon_target_endpoint_uses_direct_host_and_tls(
    aws_conn: str,
    neon_conn: str,
    dms: Any,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = unique_id("neon")
    op = NeonTargetEndpointOperator(task_id="target", endpoint_identifier=name, neon_conn_id=neon_conn)
    context = context_factory()
    with caplog.at_level(logging.INFO):
        arn = op.execute(context)
    [endpoint] = _endpoint(dms, name)
    assert endpoint["EndpointArn"] == arn
    assert endpoint["ServerName"] == "ep-cool-darkness-123456.us-east-2.aws.neon.tech"
    assert endpoint["SslMode"] == "require"
    assert endpoint["DatabaseName"] == "neondb"
    link = context["ti"].xcom["neon_dms_endpoint"]
    assert link["endpoint_id"] == name and link["region_name"] == "us-east-1"
    assert NEON_PASSWORD not in caplog.text
    # The composed DMS password is registered with Airflow's secrets masker the moment it exists.
    composed = f"endpoint=ep-cool-darkness-123456${NEON_PASSWORD}"
    assert NEON_PASSWORD not in str(_secrets_masker().redact(f"boto3 body Password={composed}"))
    assert NEON_PASSWORD not in json.dumps(context["ti"].xcom) + arn


def test_retry_reuses_the_endpoint(
    aws_conn: str,
    neon_conn: str,
    dms: Any,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("neon")
    op = NeonTargetEndpointOperator(task_id="target", endpoint_identifier=name, neon_conn_id=neon_conn)
    first = op.execute(context_factory())
    second = op.execute(context_factory())
    assert first == second
    assert len(_endpoint(dms, name)) == 1


def test_source_endpoint_from_connection(
    aws_conn: str,
    source_conn: str,
    dms: Any,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("src")
    op = NeonDmsSourceEndpointOperator(task_id="source", endpoint_identifier=name, source_conn_id=source_conn)
    arn = op.execute(context_factory())
    [endpoint] = _endpoint(dms, name)
    assert endpoint["EndpointArn"] == arn
    assert endpoint["EngineName"] == "mysql"
    assert endpoint["ServerName"] == "db.internal"
    assert endpoint["Port"] == 3306
    # botocore: never DatabaseName for a MySQL endpoint; the connection's Schema ("shop") is the
    # table mapping's schema instead.
    assert "DatabaseName" not in endpoint
    assert endpoint["EndpointType"].lower() == "source"


def test_mysql_source_with_database_name_is_refused_before_any_call(
    aws_conn: str,
    source_conn: str,
    dms: Any,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("src")
    op = NeonDmsSourceEndpointOperator(
        task_id="source",
        endpoint_identifier=name,
        source_conn_id=source_conn,
        extra_settings={"DatabaseName": "shop_v2"},
    )
    with pytest.raises(
        NeonConfigError, match=f"Endpoint {name} is a mysql endpoint with DatabaseName 'shop_v2'"
    ):
        op.execute(context_factory())
    assert _endpoint(dms, name) == []


def test_mysql_connection_schema_is_the_default_source_schema(source_conn: str) -> None:
    from airflow_neon_dms.operators.db_endpoints import source_schema

    assert source_schema(source_conn) == "shop"
    assert source_schema(source_conn, "sales") == "sales"


def test_postgres_and_schemaless_mysql_source_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_neon_dms.operators.db_endpoints import source_schema

    monkeypatch.setenv(
        "AIRFLOW_CONN_PG_SRC", json.dumps({"conn_type": "postgres", "host": "h", "schema": "app"})
    )
    monkeypatch.setenv("AIRFLOW_CONN_MY_SRC", json.dumps({"conn_type": "mysql", "host": "h"}))
    assert source_schema("pg_src") == "public"
    with pytest.raises(NeonConfigError, match="Connection 'my_src' is a MySQL source without a Schema"):
        source_schema("my_src")


def test_verify_full_target_without_a_certificate_names_the_fix(
    aws_conn: str,
    neon_conn: str,
    dms: Any,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("neon")
    op = NeonTargetEndpointOperator(
        task_id="target", endpoint_identifier=name, neon_conn_id=neon_conn, ssl_mode="verify-full"
    )
    with pytest.raises(
        NeonConfigError, match="needs the CA as a CertificateArn.*import-certificate.*'require'"
    ):
        op.execute(context_factory())
    assert _endpoint(dms, name) == []


def test_certificate_arn_makes_the_target_verify_full(
    aws_conn: str,
    neon_conn: str,
    dms: Any,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    certificate = "arn:aws:dms:us-east-1:123456789012:cert:ISRGROOTX1"
    name = unique_id("neon")
    op = NeonTargetEndpointOperator(
        task_id="target", endpoint_identifier=name, neon_conn_id=neon_conn, certificate_arn=certificate
    )
    op.execute(context_factory())
    [endpoint] = _endpoint(dms, name)
    assert endpoint["SslMode"] == "verify-full"
    assert endpoint["CertificateArn"] == certificate


def test_verify_full_source_without_a_certificate_is_refused(
    aws_conn: str,
    source_conn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = NeonDmsSourceEndpointOperator(
        task_id="s", endpoint_identifier=unique_id("src"), source_conn_id=source_conn, ssl_mode="verify-ca"
    )
    with pytest.raises(NeonConfigError, match="SslMode verify-ca checks the server's certificate"):
        op.execute(context_factory())


def test_source_endpoint_unknown_connection_type(
    aws_conn: str, monkeypatch: pytest.MonkeyPatch, context_factory: Callable[..., dict[str, Any]]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ODD", json.dumps({"conn_type": "http", "host": "x"}))
    op = NeonDmsSourceEndpointOperator(task_id="s", endpoint_identifier="odd", source_conn_id="odd")
    with pytest.raises(NeonConfigError, match="Connection 'odd' has type 'http'.*engine_name"):
        op.execute(context_factory())


def test_source_endpoint_without_connection_or_engine(
    aws_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    op = NeonDmsSourceEndpointOperator(task_id="s", endpoint_identifier="nothing")
    with pytest.raises(NeonConfigError, match="Source endpoint nothing has no EngineName"):
        op.execute(context_factory())


def test_mysql_source_endpoint_from_a_connection_passes_a_real_connection_test(
    aws_conn: str,
    mysql_server: Any,
    mysql_database: str,
    monkeypatch: pytest.MonkeyPatch,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    from airflow_neon_dms.operators.connection_test import NeonDmsTestConnectionOperator

    monkeypatch.setenv(
        "AIRFLOW_CONN_MYSQL_SOURCE",
        json.dumps(
            {
                "conn_type": "mysql",
                "host": mysql_server.host,
                "port": mysql_server.port,
                "login": mysql_server.user,
                "password": mysql_server.password,
                "schema": mysql_database,
            }
        ),
    )
    arn = NeonDmsSourceEndpointOperator(
        task_id="source", endpoint_identifier=unique_id("mysql"), source_conn_id="mysql_source"
    ).execute(context_factory())
    tested = NeonDmsTestConnectionOperator(
        task_id="test_source",
        replication_instance_arn=replication_instance_arn,
        endpoint_arn=arn,
        deferrable=False,
        waiter_delay=0.2,
        max_wait=60,
    ).execute(context_factory())
    assert tested == arn

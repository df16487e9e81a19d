"""Airflow connection ids to database endpoints (connections from AIRFLOW_CONN_* variables)."""

from __future__ import annotations

import json
import ssl

import pytest

from airflow_neon_dms.exceptions import NeonConfigError, WrongConnectionTypeError
from airflow_neon_dms.operators.db_endpoints import neon_endpoint, source_endpoint


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_mysql_and_postgres_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(
        monkeypatch,
        "shop",
        conn_type="mysql",
        host="db.example",
        port=3307,
        login="u",
        password="pw-123456",
        schema="shop",
    )
    _conn(
        monkeypatch,
        "pg",
        conn_type="postgres",
        host="pg.example",
        login="app",
        password="pw-654321",
        schema="app",
        extra={"sslmode": "require"},
    )
    mysql = source_endpoint("shop")
    assert (mysql.engine, mysql.params["host"], mysql.params["port"], mysql.params["database"]) == (
        "mysql",
        "db.example",
        3307,
        "shop",
    )
    pg = source_endpoint("pg")
    assert (pg.engine, pg.params["dbname"], pg.params["sslmode"], pg.params["port"]) == (
        "postgresql",
        "app",
        "require",
        5432,
    )
    for endpoint in (mysql, pg):
        assert "pw-" not in repr(endpoint) and "pw-" not in endpoint.description


def test_uri_source_and_wrong_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BYURI", "mysql://root:pw-abcdef@10.0.0.5:3306/sales")
    assert source_endpoint("byuri").engine == "mysql"
    _conn(monkeypatch, "http_thing", conn_type="http", host="example.com")
    with pytest.raises(WrongConnectionTypeError, match="'http_thing' has type 'http'"):
        source_endpoint("http_thing")
    with pytest.raises(WrongConnectionTypeError, match="needs a 'neon' connection"):
        neon_endpoint("http_thing")


def test_neon_target_requires_tls_and_passes_endpoint_id(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(
        monkeypatch,
        "neon_direct",
        conn_type="neon",
        host="ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        login="neondb_owner",
        password="pw-neon-1",
        schema="neondb",
    )
    _conn(
        monkeypatch,
        "neon_custom",
        conn_type="neon",
        host="db.internal.example",
        login="owner",
        password="pw-neon-2",
        schema="neondb",
        extra={"endpoint_id": "ep-cool-darkness-123456"},
    )
    direct = neon_endpoint("neon_direct")
    # The worker checks Neon's certificate against the system's roots (libpq >= 16: "system").
    assert direct.params["sslmode"] == "verify-full"
    assert direct.params["sslrootcert"] in ("system", ssl.get_default_verify_paths().cafile)
    assert "options" not in direct.params  # SNI carries the endpoint id
    custom = neon_endpoint("neon_custom")
    assert custom.params["options"] == "endpoint=ep-cool-darkness-123456"


def test_neon_target_uses_the_hooks_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(
        monkeypatch,
        "neon_pooler",
        conn_type="neon",
        host="ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech",
        login="neondb_owner",
        password="pw-neon-3",
        schema="neondb",
    )
    _conn(monkeypatch, "neon_no_role", conn_type="neon", host="ep-x-1.us-east-2.aws.neon.tech", schema="db")
    _conn(
        monkeypatch,
        "neon_plain",
        conn_type="neon",
        host="ep-x-1.us-east-2.aws.neon.tech",
        login="owner",
        password="pw-neon-4",
        schema="db",
        extra={"sslmode": "disable"},
    )
    pooled = neon_endpoint("neon_pooler")
    assert pooled.params["host"] == "ep-cool-darkness-123456.us-east-2.aws.neon.tech"  # direct host
    assert pooled.description == "Neon ep-cool-darkness-123456.us-east-2.aws.neon.tech:5432/neondb"
    assert "pw-neon-3" not in repr(pooled) + pooled.description
    with pytest.raises(NeonConfigError, match="'neon_no_role' has no Login"):
        neon_endpoint("neon_no_role")
    with pytest.raises(NeonConfigError, match="Neon only accepts encrypted connections"):
        neon_endpoint("neon_plain")

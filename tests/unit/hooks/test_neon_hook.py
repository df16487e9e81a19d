"""NeonHook against a real PostgreSQL server that checks passwords."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.exceptions import (
    DatabaseConnectionError,
    DmsPasswordError,
    NeonHostError,
    WrongConnectionTypeError,
)
from airflow_neon_dms.hooks.neon import NeonHook
from airflow_neon_dms.local.embedded import EmbeddedPostgres

PASSWORD = "Correct-Horse-42"


@pytest.fixture(scope="module")
def password_server() -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL that requires a password over TCP (SCRAM)."""
    with EmbeddedPostgres(password=PASSWORD) as server:
        yield server


def _set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def _neon_conn(server: EmbeddedPostgres, password: str = PASSWORD, **extra: object) -> dict[str, object]:
    return {
        "conn_type": "neon",
        "host": server.host,
        "port": server.port,
        "login": "postgres",
        "password": password,
        "schema": "postgres",
        "extra": {"sslmode": "disable", **extra},
    }


def test_get_conn_and_cursor(monkeypatch: pytest.MonkeyPatch, password_server: EmbeddedPostgres) -> None:
    _set_conn(monkeypatch, "neon_ok", **_neon_conn(password_server))
    hook = NeonHook(neon_conn_id="neon_ok")
    with hook.cursor() as cur:
        cur.execute("SELECT current_user, current_setting('application_name')")
        assert cur.fetchone() == ("postgres", "airflow-neon-dms")


def test_test_connection_success(monkeypatch: pytest.MonkeyPatch, password_server: EmbeddedPostgres) -> None:
    _set_conn(monkeypatch, "neon_ok", **_neon_conn(password_server))
    ok, message = NeonHook(neon_conn_id="neon_ok").test_connection()
    assert ok, message
    assert message.startswith("Connected to Neon host 127.0.0.1, database postgres as postgres")


def test_test_connection_wrong_password(
    monkeypatch: pytest.MonkeyPatch, password_server: EmbeddedPostgres
) -> None:
    wrong = "Wrong-Battery-7"
    _set_conn(monkeypatch, "neon_bad", **_neon_conn(password_server, password=wrong))
    ok, message = NeonHook(neon_conn_id="neon_bad").test_connection()
    assert not ok
    assert message.startswith("Neon connection 'neon_bad' (postgres@127.0.0.1:")
    assert 'password authentication failed for user "postgres"' in message
    assert "Check the Neon connection's Login and Password" in message
    assert wrong not in message


def test_endpoint_option_only_where_sni_cannot_name_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(
        monkeypatch,
        "neon_opt",
        conn_type="neon",
        host="127.0.0.1",
        login="u",
        password="p",
        schema="db",
        extra={"endpoint_id": "ep-local-1"},
    )
    assert NeonHook(neon_conn_id="neon_opt").connection_kwargs()["options"] == "endpoint=ep-local-1"
    _set_conn(
        monkeypatch,
        "neon_sni",
        conn_type="neon",
        host="ep-a-1.us-east-2.aws.neon.tech",
        login="u",
        password="p",
        schema="db",
    )
    assert "options" not in NeonHook(neon_conn_id="neon_sni").connection_kwargs()


def test_dms_target_settings_for_a_pooler_host(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _set_conn(
        monkeypatch,
        "neon_cloud",
        conn_type="neon",
        host="ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech",
        login="neondb_owner",
        password="AbC123xyz",
        schema="neondb",
    )
    settings = NeonHook(neon_conn_id="neon_cloud").dms_target_settings()
    assert settings == {
        "EndpointType": "target",
        "EngineName": "postgres",
        "ServerName": "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        "Port": 5432,
        "DatabaseName": "neondb",
        "Username": "neondb_owner",
        "Password": "endpoint=ep-cool-darkness-123456$AbC123xyz",
        "SslMode": "require",
    }
    out, err = capfd.readouterr()
    assert "using the direct host ep-cool-darkness-123456.us-east-2.aws.neon.tech" in out + err


def test_composed_password_is_masked_in_logs(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _set_conn(
        monkeypatch,
        "neon_mask",
        conn_type="neon",
        host="ep-mask-1.us-east-2.aws.neon.tech",
        login="owner",
        password="Mask-Me-77",
        schema="neondb",
    )
    from airflow.sdk.log import configure_logging

    configure_logging()  # what the task runner does before a task starts
    hook = NeonHook(neon_conn_id="neon_mask")
    composed = hook.dms_target_settings()["Password"]
    hook.log.info("CreateEndpoint Password=%s", composed)
    logging.getLogger("airflow.task").warning("stdlib logger: %s", composed)
    out, err = capfd.readouterr()
    captured = out + err
    assert "CreateEndpoint Password=***" in captured
    assert "Mask-Me-77" not in captured
    assert composed not in captured


def test_password_dms_cannot_store(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(
        monkeypatch,
        "neon_semicolon",
        conn_type="neon",
        host="ep-x-1.us-east-2.aws.neon.tech",
        login="owner",
        password="has;semi",
        schema="neondb",
    )
    with pytest.raises(DmsPasswordError, match="';'") as err:
        NeonHook(neon_conn_id="neon_semicolon").dms_target_settings()
    assert "has;semi" not in str(err.value)


def test_dms_settings_need_an_endpoint_id_for_custom_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(
        monkeypatch,
        "neon_custom",
        conn_type="neon",
        host="db.example.com",
        login="o",
        password="p",
        schema="neondb",
    )
    with pytest.raises(NeonHostError, match="endpoint_id"):
        NeonHook(neon_conn_id="neon_custom").dms_target_settings()


def test_wrong_connection_type(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(monkeypatch, "not_neon", conn_type="mysql", host="db.example.com", login="u", password="p")
    with pytest.raises(WrongConnectionTypeError, match="--conn-type neon"):
        NeonHook(neon_conn_id="not_neon").get_conn()


def test_test_connection_reports_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(monkeypatch, "neon_empty", conn_type="neon", host="", login="u", password="p", schema="db")
    ok, message = NeonHook(neon_conn_id="neon_empty").test_connection()
    assert not ok
    assert "Neon host is empty" in message


@pytest.fixture(scope="module")
def tls_proxy(pg_server: Any) -> Iterator[Any]:
    """The Neon proxy stand-in: TLS with a self-signed certificate no system root trusts."""
    from airflow_neon_dms.local.neon_proxy import NeonProxy

    with NeonProxy("ep-quiet-lake-123456", pg_server.host, pg_server.port) as running:
        yield running


def _proxy_conn(proxy: Any, pg_server: Any, **extra: object) -> dict[str, object]:
    return {
        "conn_type": "neon",
        "host": "127.0.0.1",
        "port": proxy.port,
        "login": pg_server.user,
        "password": pg_server.password or "any",
        "schema": "postgres",
        "extra": {"endpoint_id": "ep-quiet-lake-123456", **extra},
    }


def test_neon_host_defaults_to_verify_full_against_the_system_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(
        monkeypatch,
        "neon_cloud",
        conn_type="neon",
        host="ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        login="neondb_owner",
        password="pw",
        schema="neondb",
    )
    kwargs = NeonHook(neon_conn_id="neon_cloud").connection_kwargs()
    assert kwargs["sslmode"] == "verify-full"
    assert psycopg.pq.version() >= 160000, "this test expects libpq 16+ (sslrootcert=system)"
    assert kwargs["sslrootcert"] == "system"


def test_verify_full_refuses_a_certificate_no_system_root_signed(
    monkeypatch: pytest.MonkeyPatch, tls_proxy: Any, pg_server: Any
) -> None:
    """Real libpq against a real TLS server: the hook's verify-full really checks the chain, and
    the documented way down (sslmode=require) still connects, encrypted."""
    _set_conn(monkeypatch, "neon_verify", **_proxy_conn(tls_proxy, pg_server, sslmode="verify-full"))
    with pytest.raises(DatabaseConnectionError, match="certificate verify failed"):
        NeonHook(neon_conn_id="neon_verify").get_conn()
    _set_conn(monkeypatch, "neon_require", **_proxy_conn(tls_proxy, pg_server, sslmode="require"))
    with NeonHook(neon_conn_id="neon_require").cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def test_own_ca_file_through_the_sslrootcert_extra(
    monkeypatch: pytest.MonkeyPatch, tls_proxy: Any, pg_server: Any
) -> None:
    extra = {"sslmode": "verify-ca", "sslrootcert": str(tls_proxy.cert_path)}
    _set_conn(monkeypatch, "neon_own_ca", **_proxy_conn(tls_proxy, pg_server, **extra))
    with NeonHook(neon_conn_id="neon_own_ca").cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)

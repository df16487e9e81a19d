"""The Neon proxy stand-in, driven by psycopg (libpq) as a real client would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.neon_proxy import NeonProxy, endpoint_from_options, endpoint_from_sni
from airflow_neon_dms.neon import NEON_MISSING_ENDPOINT_MESSAGE

ENDPOINT = "ep-quiet-lake-123456"


@pytest.fixture(scope="module")
def proxy(pg_server: Any) -> Iterator[NeonProxy]:
    with NeonProxy(ENDPOINT, pg_server.host, pg_server.port) as running:
        yield running


def _connect(proxy: NeonProxy, pg_server: Any, **kwargs: Any) -> psycopg.Connection[Any]:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": proxy.port,
        "user": pg_server.user,
        "dbname": "postgres",
        "sslmode": "require",
        "connect_timeout": 10,
    }
    params.update(kwargs)
    return psycopg.connect(**params)


@pytest.mark.parametrize("separator", ["$", ";"])
def test_password_with_endpoint_id_logs_in_over_tls(proxy: NeonProxy, pg_server: Any, separator: str) -> None:
    password = f"endpoint={ENDPOINT}{separator}{pg_server.password or 'any'}"
    with _connect(proxy, pg_server, password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (pg_server.user,)
        assert conn.pgconn.ssl_in_use


def test_options_parameter_names_the_endpoint(proxy: NeonProxy, pg_server: Any) -> None:
    with _connect(
        proxy, pg_server, password=pg_server.password or "any", options=f"endpoint={ENDPOINT}"
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_sni_names_the_endpoint(proxy: NeonProxy, pg_server: Any) -> None:
    host = f"{ENDPOINT}-pooler.us-east-2.aws.neon.tech"
    with _connect(proxy, pg_server, host=host, hostaddr="127.0.0.1", password="x") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_missing_endpoint_id_gets_neons_message(proxy: NeonProxy, pg_server: Any) -> None:
    with pytest.raises(psycopg.OperationalError) as err:
        _connect(proxy, pg_server, password="plain-password")
    assert NEON_MISSING_ENDPOINT_MESSAGE in str(err.value)


def test_wrong_endpoint_id_is_a_mismatch(proxy: NeonProxy, pg_server: Any) -> None:
    with pytest.raises(psycopg.OperationalError, match="Endpoint ID mismatch") as err:
        _connect(proxy, pg_server, password="endpoint=ep-other-999$pw")
    assert "ep-other-999" in str(err.value) and ENDPOINT in str(err.value)


def test_client_without_tls_is_refused(proxy: NeonProxy, pg_server: Any) -> None:
    with pytest.raises(psycopg.OperationalError, match="connection is insecure"):
        _connect(proxy, pg_server, sslmode="disable", password=f"endpoint={ENDPOINT}$x")


def test_backend_errors_reach_the_client(proxy: NeonProxy, pg_server: Any) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        _connect(proxy, pg_server, password=f"endpoint={ENDPOINT}$x", dbname="no_such_database_here")


def test_endpoint_id_parsing() -> None:
    assert endpoint_from_sni("ep-a-1-pooler.c-2.us-east-2.aws.neon.tech") == "ep-a-1"
    assert endpoint_from_sni("127.0.0.1") is None
    assert endpoint_from_sni("localhost") is None
    assert endpoint_from_sni(None) is None
    assert endpoint_from_options("-c search_path=x endpoint=ep-b-2") == "ep-b-2"
    assert endpoint_from_options("endpoint%3Dep-c-3") == "ep-c-3"
    assert endpoint_from_options("-c work_mem=4MB") is None


def test_proxy_logs_in_to_a_password_protected_backend_with_scram() -> None:
    from airflow_neon_dms.local.embedded import EmbeddedPostgres

    try:
        server = EmbeddedPostgres(password="Real-pw_42").start()
    except Exception as err:  # the embedded binaries are optional on a developer machine
        pytest.skip(f"embedded PostgreSQL could not start: {err}")
    try:
        with NeonProxy("ep-scram-1", server.host, server.port) as scram_proxy:
            params = {"host": "127.0.0.1", "port": scram_proxy.port, "user": "postgres", "dbname": "postgres"}
            with psycopg.connect(
                **params, password="endpoint=ep-scram-1$Real-pw_42", sslmode="require"
            ) as conn:
                method = conn.execute("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' LIMIT 1")
                assert method.fetchone() == ("scram-sha-256",)
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(**params, password="endpoint=ep-scram-1$wrong", sslmode="require")
    finally:
        server.stop()


def test_cancel_requests_reach_the_backend(proxy: NeonProxy, pg_server: Any) -> None:
    import threading

    with _connect(proxy, pg_server, password=f"endpoint={ENDPOINT}$x") as conn:
        timer = threading.Timer(0.5, conn.cancel_safe)
        timer.start()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_sleep(30)")
        finally:
            timer.cancel()

"""The Test button's messages (NeonHook.test_connection) for real errors from the Neon proxy
stand-in: each hint speaks of this worker's libpq connection, never of DMS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_neon_dms.dms.failure_hints import (
    HINT_DATABASE,
    HINT_ENDPOINT_ID,
    HINT_ENDPOINT_ID_WORKER,
    HINT_NETWORK,
    HINT_TLS,
    HINT_TLS_WORKER,
)
from airflow_neon_dms.hooks.neon import NeonHook
from airflow_neon_dms.local.neon_proxy import NeonProxy

ENDPOINT = "ep-hint-lake-424242"


@pytest.fixture(scope="module")
def proxy(pg_server: Any) -> Iterator[NeonProxy]:
    with NeonProxy(ENDPOINT, pg_server.host, pg_server.port) as running:
        yield running


def _test(monkeypatch: pytest.MonkeyPatch, port: int, pg_server: Any, **fields: Any) -> tuple[bool, str]:
    conn: dict[str, Any] = {
        "conn_type": "neon",
        "host": "localhost",
        "port": port,
        "login": pg_server.user,
        "password": pg_server.password or "unused",
        "schema": "postgres",
        "extra": {"endpoint_id": ENDPOINT, "sslmode": "require"},
    }
    conn.update(fields)
    monkeypatch.setenv("AIRFLOW_CONN_NEON_HINT", json.dumps(conn))
    return NeonHook(neon_conn_id="neon_hint", connect_timeout=5).test_connection()


def _no_dms_words(message: str) -> None:
    assert "DMS sends no TLS SNI" not in message and HINT_ENDPOINT_ID not in message
    assert HINT_TLS not in message and "imported into DMS" not in message


def test_wrong_endpoint_id_gets_the_worker_hint(
    monkeypatch: pytest.MonkeyPatch, proxy: NeonProxy, pg_server: Any
) -> None:
    ok, message = _test(
        monkeypatch, proxy.port, pg_server, extra={"endpoint_id": "ep-other-1", "sslmode": "require"}
    )
    assert not ok
    assert "Endpoint ID mismatch" in message  # the stand-in's answer, as Neon's proxy refuses it
    assert HINT_ENDPOINT_ID_WORKER in message
    _no_dms_words(message)


def test_unencrypted_connection_gets_the_sslmode_hint(
    monkeypatch: pytest.MonkeyPatch, proxy: NeonProxy, pg_server: Any
) -> None:
    # No endpoint id and a non-Neon host: the worker may try without TLS; the proxy refuses it.
    ok, message = _test(monkeypatch, proxy.port, pg_server, extra={"sslmode": "disable"})
    assert not ok
    assert "connection is insecure" in message
    assert HINT_TLS_WORKER in message
    _no_dms_words(message)


@pytest.mark.parametrize("sslmode", ["disable", "allow"])
def test_sslmode_without_tls_is_refused_for_a_neon_connection(
    monkeypatch: pytest.MonkeyPatch, proxy: NeonProxy, pg_server: Any, sslmode: str
) -> None:
    ok, message = _test(
        monkeypatch, proxy.port, pg_server, extra={"endpoint_id": ENDPOINT, "sslmode": sslmode}
    )
    assert not ok
    assert f"sslmode {sslmode!r}, but Neon only accepts encrypted connections" in message
    _no_dms_words(message)


def test_missing_database_gets_the_database_hint(
    monkeypatch: pytest.MonkeyPatch, proxy: NeonProxy, pg_server: Any
) -> None:
    ok, message = _test(monkeypatch, proxy.port, pg_server, schema="no_such_db_4242")
    assert not ok
    assert 'database "no_such_db_4242" does not exist' in message
    assert HINT_DATABASE in message
    assert HINT_NETWORK not in message and "suspended compute" not in message


def test_pooler_rewrite_is_named_by_the_test_button(
    monkeypatch: pytest.MonkeyPatch, proxy: NeonProxy, pg_server: Any
) -> None:
    ok, message = _test(monkeypatch, proxy.port, pg_server, host="localhost-pooler")
    assert ok, message
    assert "'-pooler' host was replaced by the direct host localhost" in message


def test_unreachable_host_still_gets_the_network_hint(
    monkeypatch: pytest.MonkeyPatch, pg_server: Any
) -> None:
    from airflow_neon_dms.local.embedded import free_port

    ok, message = _test(monkeypatch, free_port(), pg_server)  # nothing listens there
    assert not ok
    assert HINT_NETWORK in message

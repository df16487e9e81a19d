"""The Neon proxy in front of a TLS-only PostgreSQL (as real Neon is): prefer, require, disable, SNI."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.embedded import free_port
from airflow_neon_dms.local.neon_proxy import NeonProxy, error_response, make_self_signed_cert
from airflow_neon_dms.local.server import LocalDms, NeonTarget
from tests.local.test_cli import _start, _stop
from tests.local.tls_postgres import TlsOnlyPostgres, postgres_bin_dir

ENDPOINT = "ep-tls-only-77"
PASSWORD = f"endpoint={ENDPOINT}$unused"
SSL_REQUEST = struct.pack("!II", 8, 80877103)


@pytest.fixture(scope="module")
def tls_pg() -> Iterator[TlsOnlyPostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    with TlsOnlyPostgres(bin_dir) as server:
        yield server


def _through(proxy: NeonProxy, **kwargs: Any) -> psycopg.Connection[Any]:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": proxy.port,
        "user": "postgres",
        "dbname": "postgres",
        "password": PASSWORD,
        "sslmode": "require",
        "connect_timeout": 10,
    }
    params.update(kwargs)
    return psycopg.connect(**params)


def _backend_uses_tls(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    return bool(row and row[0])


def test_the_backend_really_refuses_plaintext(tls_pg: TlsOnlyPostgres) -> None:
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(host=tls_pg.host, port=tls_pg.port, user="postgres", sslmode="disable")


@pytest.mark.parametrize("sslmode", ["prefer", "require"])
def test_proxy_reaches_a_tls_only_backend(tls_pg: TlsOnlyPostgres, sslmode: str) -> None:
    with (
        NeonProxy(ENDPOINT, tls_pg.host, tls_pg.port, backend_sslmode=sslmode) as proxy,
        _through(proxy) as conn,
    ):
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        assert _backend_uses_tls(conn)


def test_default_backend_sslmode_is_prefer(tls_pg: TlsOnlyPostgres) -> None:
    with NeonProxy(ENDPOINT, "localhost", tls_pg.port) as proxy, _through(proxy) as conn:
        assert proxy.backend_sslmode == "prefer"
        assert _backend_uses_tls(conn)


def test_cancel_requests_reach_a_tls_only_backend(tls_pg: TlsOnlyPostgres) -> None:
    with (
        NeonProxy(ENDPOINT, tls_pg.host, tls_pg.port, backend_sslmode="require") as proxy,
        _through(proxy) as conn,
    ):
        timer = threading.Timer(0.5, conn.cancel_safe)
        timer.start()
        try:
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_sleep(30)")
        finally:
            timer.cancel()


def test_disable_gets_the_backends_own_refusal(tls_pg: TlsOnlyPostgres) -> None:
    with NeonProxy(ENDPOINT, tls_pg.host, tls_pg.port, backend_sslmode="disable") as proxy:
        with pytest.raises(psycopg.OperationalError) as err:
            _through(proxy)
    assert "pg_hba.conf" in str(err.value)  # "rejects connection" (hostnossl reject) or "no entry"
    assert "no encryption" in str(err.value)


def test_require_refuses_a_backend_without_tls(pg_server: Any) -> None:
    with socket.create_connection((pg_server.host, pg_server.port), timeout=10) as probe:
        probe.sendall(SSL_REQUEST)
        if probe.recv(1) != b"N":
            pytest.skip(f"the test PostgreSQL at {pg_server.host}:{pg_server.port} offers TLS")
    with NeonProxy(ENDPOINT, pg_server.host, pg_server.port, backend_sslmode="require") as proxy:
        with pytest.raises(psycopg.OperationalError) as err:
            _through(proxy, password=f"endpoint={ENDPOINT}${pg_server.password or 'x'}")
    message = str(err.value)
    assert "does not offer TLS" in message and "sslmode is require" in message
    assert f"{pg_server.host}:{pg_server.port}" in message


def test_unknown_backend_sslmode_is_refused() -> None:
    with pytest.raises(ValueError, match="prefer, require"):
        NeonProxy(ENDPOINT, "127.0.0.1", 5432, backend_sslmode="verify-everything")
    with pytest.raises(ValueError, match="prefer, require"):
        NeonTarget.parse(f"{ENDPOINT}@127.0.0.1:5432", "allow")


class SniRecorder:
    """A TLS listener that speaks just enough of PostgreSQL's SSLRequest to record the SNI name."""

    def __init__(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="sni-recorder-"))
        cert, key = make_self_signed_cert(self._tmp, ["localhost"])
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.context.sni_callback = self._record
        self.names: list[str | None] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _record(self, _sock: Any, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.names.append(name)

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            with raw:
                if raw.recv(8) != SSL_REQUEST:
                    continue
                raw.sendall(b"S")
                with self.context.wrap_socket(raw, server_side=True) as tls:
                    tls.recv(65536)  # the startup message
                    tls.sendall(error_response("SNI recorded", "08004"))

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


@pytest.fixture
def sni_recorder() -> Iterator[SniRecorder]:
    recorder = SniRecorder()
    yield recorder
    recorder.close()


@pytest.mark.parametrize(("backend_host", "expected"), [("localhost", "localhost"), ("127.0.0.1", None)])
def test_backend_host_name_is_sent_as_sni(
    sni_recorder: SniRecorder, backend_host: str, expected: str | None
) -> None:
    with NeonProxy(ENDPOINT, backend_host, sni_recorder.port, backend_sslmode="require") as proxy:
        with pytest.raises(psycopg.OperationalError, match="SNI recorded"):
            _through(proxy)
    deadline = time.monotonic() + 10
    while not sni_recorder.names and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sni_recorder.names == [expected]


def test_local_dms_neon_target_fronts_a_tls_only_server(tls_pg: TlsOnlyPostgres, make_dms: Any) -> None:
    target = NeonTarget.parse(f"{ENDPOINT}@localhost:{tls_pg.port}", "require")
    with LocalDms(neon=[target]) as dms_server:
        dms = make_dms(dms_server.endpoint_url)
        endpoint_arn = dms.endpoint(
            "target",
            ServerName="localhost",
            Port=tls_pg.port,
            Username="postgres",
            Password=PASSWORD,
            DatabaseName="postgres",
            SslMode="require",
        )
        dms.client.test_connection(ReplicationInstanceArn=dms.instance_arn, EndpointArn=endpoint_arn)
        dms.client.get_waiter("test_connection_succeeds").wait(
            Filters=[{"Name": "endpoint-arn", "Values": [endpoint_arn]}],
            WaiterConfig={"Delay": 1, "MaxAttempts": 30},
        )


def test_neon_proxy_command_takes_backend_sslmode(tls_pg: TlsOnlyPostgres) -> None:
    port = free_port()
    backend = f"localhost:{tls_pg.port}"
    process, ready = _start(
        "neon-proxy",
        "--endpoint-id",
        ENDPOINT,
        "--backend",
        backend,
        "--backend-sslmode",
        "require",
        "--port",
        str(port),
    )
    try:
        assert f"127.0.0.1:{port}" in ready
        conn = psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="postgres",
            password=PASSWORD,
            sslmode="require",
            connect_timeout=10,
        )
        with conn:
            assert _backend_uses_tls(conn)
    finally:
        output = _stop(process, signal.SIGTERM)
    assert "backend sslmode require" in ready + output


def test_unreachable_backend_is_named_to_the_client() -> None:
    closed_port = free_port()
    with NeonProxy(ENDPOINT, "127.0.0.1", closed_port) as proxy:
        with pytest.raises(
            psycopg.OperationalError, match=f"cannot reach its backend PostgreSQL 127.0.0.1:{closed_port}"
        ):
            _through(proxy)

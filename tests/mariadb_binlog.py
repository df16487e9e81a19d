"""A private MariaDB server with the binary log on, for tests of change data capture.

The test MySQL server (NEON_DMS_TEST_MYSQL_DSN) may run without the binary log and is never
reconfigured; CDC tests start their own server on a free port of 127.0.0.1 with a temporary data directory:

    with BinlogMariaDb() as server:   # skips (pytest.skip) when the binaries are missing
        conn = pymysql.connect(host=server.host, port=server.port, user="root")

Tests use the session fixture ``binlog_server`` (one server for the whole run) and the per-test
``binlog_database`` / ``binlog_address``; ``tests/conftest.py`` loads this module as a plugin.

Settings are the ones AWS DMS asks of a MySQL-compatible CDC source (binlog_format=ROW,
binlog_row_image=FULL, server_id >= 1, expire_logs_days >= 1), plus binlog_row_metadata=FULL,
which the local DMS's binlog reader needs to decode values exactly.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import pytest

from airflow_neon_dms.identifiers import mysql_identifier
from airflow_neon_dms.local.databases import DatabaseAddress

if TYPE_CHECKING:
    from tests.conftest import MySqlServer

START_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return found
    return None


class BinlogMariaDb:
    """Start ``mariadbd`` with the binary log on; stop it and delete its data on exit."""

    host = "127.0.0.1"
    user = "root"
    password = ""

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        self.extra_args = extra_args
        self.port = 0
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BinlogMariaDb:
        server = _binary("mariadbd", "mysqld")
        install = _binary("mariadb-install-db", "mysql_install_db")
        if server is None or install is None:
            pytest.skip("mariadbd and mariadb-install-db are not installed (apt-get install mariadb-server)")
        self.workdir = Path(tempfile.mkdtemp(prefix="neon-dms-binlog-"))
        data = self.workdir / "data"
        try:
            # --no-defaults first: a system-wide my.cnf must not change the private server.
            subprocess.run(
                [install, "--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db",
                 "--auth-root-authentication-method=normal"],
                check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS,
            )  # fmt: skip
            self.port = _free_port()
            self.process = subprocess.Popen(
                [server, "--no-defaults", f"--datadir={data}", f"--port={self.port}",
                 f"--bind-address={self.host}", f"--socket={self.workdir / 'sock'}",
                 f"--pid-file={self.workdir / 'pid'}", f"--log-error={self.workdir / 'error.log'}",
                 f"--log-bin={data / 'binlog'}", "--binlog-format=ROW", "--binlog-row-image=FULL",
                 "--binlog-row-metadata=FULL", "--server-id=1", "--expire-logs-days=1", "--user=root",
                 "--innodb-buffer-pool-size=64M", "--skip-name-resolve", *self.extra_args],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        import pymysql

        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited at start: {self.error_log()[-2000:]}")
            try:
                pymysql.connect(host=self.host, port=self.port, user=self.user, connect_timeout=2).close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mariadbd did not answer within {START_TIMEOUT_SECONDS}s: {self.error_log()[-2000:]}"
                    ) from None
                time.sleep(0.2)

    def error_log(self) -> str:
        log = self.workdir / "error.log" if self.workdir else None
        return log.read_text(errors="replace") if log and log.exists() else ""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def binlog_server() -> Iterator[MySqlServer]:
    """A MariaDB started for this test session with binlog_format=ROW, FULL row images."""
    from tests.conftest import MySqlServer

    pytest.importorskip("pymysqlreplication", reason="mysql-replication is not installed (the 'local' extra)")
    with BinlogMariaDb() as server:
        yield MySqlServer(host=server.host, port=server.port, user=server.user, password=server.password)


@pytest.fixture
def binlog_database(binlog_server: MySqlServer) -> Iterator[str]:
    """A fresh database on the binlog server, dropped after the test."""
    name = f"cdc_{uuid.uuid4().hex[:12]}"
    conn = binlog_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {mysql_identifier(name)} CHARACTER SET utf8mb4")
        yield name
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {mysql_identifier(name)}")
    finally:
        conn.close()


@pytest.fixture
def binlog_address(binlog_server: MySqlServer, binlog_database: str) -> DatabaseAddress:
    """The binlog server as a source endpoint's address (user root, empty password)."""
    return DatabaseAddress(
        "mariadb", binlog_server.host, binlog_server.port, binlog_server.user, binlog_server.password,
        binlog_database,
    )  # fmt: skip

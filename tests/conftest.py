"""Shared fixtures: real PostgreSQL and MariaDB/MySQL servers for the tests.

PostgreSQL: the server named by NEON_DMS_TEST_PG_DSN (a libpq URI for a superuser), otherwise an
embedded PostgreSQL started for the test session. MySQL/MariaDB: NEON_DMS_TEST_MYSQL_DSN or
mysql://root@127.0.0.1:3306/test; tests that need it are skipped, with the reason, when it does
not answer.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.identifiers import mysql_identifier
from tests.pg_databases import drop_test_database

#: Servers with special settings, started once per test session by whichever folder needs them:
#: a PostgreSQL with wal_level=logical and a MariaDB with the binary log on.
pytest_plugins = ["tests.logical_postgres", "tests.mariadb_binlog"]

os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


@dataclass(frozen=True)
class PgServer:
    """A reachable PostgreSQL server and a superuser DSN for it."""

    host: str
    port: int
    user: str
    password: str

    def dsn(self, database: str = "postgres") -> str:
        auth = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole test session."""
    given = os.environ.get("NEON_DMS_TEST_PG_DSN")
    if given:
        parts = urlsplit(given)
        yield PgServer(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or "",
        )
        return
    from airflow_neon_dms.local.embedded import EmbeddedPostgres

    with EmbeddedPostgres() as embedded:
        yield PgServer(host=embedded.host, port=embedded.port, user=embedded.user, password="")


@pytest.fixture
def make_pg_database(pg_server: PgServer) -> Iterator[Callable[[], str]]:
    """Factory: create a fresh, uniquely named database; every one is dropped after the test."""
    created: list[str] = []

    def make() -> str:
        name = f"neon_dms_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return name

    yield make
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        for name in created:
            drop_test_database(conn, name)


@pytest.fixture
def pg_database(make_pg_database: Callable[[], str]) -> str:
    """The name of one fresh database on the test PostgreSQL server."""
    return make_pg_database()


@dataclass(frozen=True)
class MySqlServer:
    """A reachable MySQL or MariaDB server and its root credentials."""

    host: str
    port: int
    user: str
    password: str

    def connect(self, database: str | None = None):  # type: ignore[no-untyped-def]
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            autocommit=True,
            charset="utf8mb4",
        )


@pytest.fixture(scope="session")
def mysql_server() -> MySqlServer:
    """A MySQL/MariaDB server, or a skip that says why there is none."""
    pymysql = pytest.importorskip("pymysql", reason="pymysql is not installed (the 'local' extra)")
    dsn = os.environ.get("NEON_DMS_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306/test")
    parts = urlsplit(dsn)
    server = MySqlServer(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )
    try:
        server.connect().close()
    except pymysql.err.OperationalError as err:
        pytest.skip(f"MySQL/MariaDB not reachable at {server.host}:{server.port} ({err.args[-1]})")
    return server


@pytest.fixture
def mysql_database(mysql_server: MySqlServer) -> Iterator[str]:
    """A fresh MySQL/MariaDB database, dropped after the test."""
    name = f"neon_dms_test_{uuid.uuid4().hex[:12]}"
    conn = mysql_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {mysql_identifier(name)} CHARACTER SET utf8mb4")
        yield name
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {mysql_identifier(name)}")
    finally:
        conn.close()


# --- local DMS emulator -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def local_dms():  # type: ignore[no-untyped-def]
    """The local DMS emulator on a free port of 127.0.0.1, for the whole test run."""
    from airflow_neon_dms.local.server import LocalDms
    from tests.timing_choice import chosen_timing

    with LocalDms(port=0, timing=chosen_timing()) as dms:
        yield dms


def make_dms_client(endpoint_url: str):  # type: ignore[no-untyped-def]
    """A boto3 'dms' client for the emulator (dummy credentials) that checks every answer's shape."""
    import boto3

    from airflow_neon_dms.local.api_shapes import check_responses

    client = boto3.client(
        "dms",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return check_responses(client)


@pytest.fixture
def dms_client(local_dms):  # type: ignore[no-untyped-def]
    """A boto3 'dms' client pointed at the local DMS emulator of this test run."""
    return make_dms_client(local_dms.endpoint_url)


@pytest.fixture
def dms_client_factory():  # type: ignore[no-untyped-def]
    """``factory(endpoint_url)``: a shape-checking boto3 'dms' client for another emulator."""
    return make_dms_client


# --- Airflow home for dag.test() runs -----------------------------------------------------------
@pytest.fixture(scope="session")
def dag_test_home(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """An Airflow home with a migrated SQLite metadata database, shared by the DAG-run tests."""
    from tests.dag_runs import migrated_home

    return migrated_home(tmp_path_factory)

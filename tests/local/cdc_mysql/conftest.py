"""Fixtures for the MySQL/MariaDB CDC engine: a private MariaDB with the binary log on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from airflow_neon_dms.identifiers import mysql_identifier
from airflow_neon_dms.local.databases import DatabaseAddress
from tests.conftest import MySqlServer
from tests.mariadb_binlog import BinlogMariaDb


@pytest.fixture(scope="session")
def binlog_server() -> Iterator[MySqlServer]:
    """A MariaDB started for this test session with binlog_format=ROW, FULL row images."""
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

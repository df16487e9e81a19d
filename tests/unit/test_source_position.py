"""The source's change-stream position that the cutover records, on real servers."""

from __future__ import annotations

import re

import psycopg
import pytest

from airflow_neon_dms.source_position import read_source_position
from tests.conftest import MySqlServer, PgServer
from tests.mariadb_binlog import BinlogMariaDb

LSN = re.compile(r"^[0-9A-F]+/[0-9A-F]+$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _lsn(value: str) -> int:
    high, low = value.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def test_postgres_position_is_the_wal_lsn_and_moves_with_a_write(
    pg_server: PgServer, pg_database: str
) -> None:
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        before = read_source_position(conn, "postgresql")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 100)")
        after = read_source_position(conn, "postgresql")
    assert before["engine"] == "postgresql"
    assert LSN.match(before["position"]) and ISO_UTC.match(before["server_time"])
    assert _lsn(after["position"]) > _lsn(before["position"])


def test_mysql_without_binlog_has_no_position(mysql_server: MySqlServer) -> None:
    conn = mysql_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@log_bin")
            (log_bin,) = cur.fetchone()
        position = read_source_position(conn, "mysql")
    finally:
        conn.close()
    if int(log_bin):
        pytest.skip("the test MySQL server has its binary log on; the binlog server test covers it")
    assert position["position"] is None and ISO_UTC.match(position["server_time"])


def test_mariadb_binlog_position_moves_with_a_write() -> None:
    import pymysql

    with BinlogMariaDb() as server:
        conn = pymysql.connect(host=server.host, port=server.port, user=server.user, autocommit=True)
        try:
            before = read_source_position(conn, "mysql")
            with conn.cursor() as cur:
                cur.execute("CREATE DATABASE pos")
                cur.execute("CREATE TABLE pos.t (id int PRIMARY KEY)")
                cur.execute("INSERT INTO pos.t VALUES (1), (2)")
            after = read_source_position(conn, "mysql")
        finally:
            conn.close()
    file_before, _, offset_before = before["position"].rpartition(":")
    file_after, _, offset_after = after["position"].rpartition(":")
    assert file_before.startswith("binlog.")
    assert (file_after, int(offset_after)) > (file_before, int(offset_before))

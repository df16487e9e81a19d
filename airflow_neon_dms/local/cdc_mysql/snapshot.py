"""A full load for CDC: each table is read at a consistent snapshot whose binlog position is known.

Changes committed before a table's snapshot position are in the copied rows; changes after it
are not. So the binlog reader can start at the position taken before the first table's load
(``current_position``), and each change is applied to a table exactly when it is later than that
table's snapshot: nothing is lost and nothing doubled, even while tables load in parallel.

MariaDB gives the position of a ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` without any lock
(status variables ``binlog_snapshot_file`` / ``binlog_snapshot_position``). MySQL does not, so
there the snapshot is taken under a brief ``FLUSH TABLES WITH READ LOCK`` as mysqldump
``--single-transaction --master-data`` does (the user needs RELOAD).

``SnapshotMySqlSource`` is a ``MySqlSource`` whose ``copy_into`` reads this way, so the existing
full-load engine (``full_load.load_table``) runs unchanged:

    source = SnapshotMySqlSource(address)
    start = source.binlog_position()          # before any table is loaded
    load_table(source, target, "shop", "orders", "DROP_AND_CREATE")
    source.snapshot_positions[("shop", "orders")]   # apply only changes after this
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg

from airflow_neon_dms.local.cdc_mysql.changes import TableKey
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
from airflow_neon_dms.local.databases import connect_mysql
from airflow_neon_dms.local.mysql_source import MySqlSource
from airflow_neon_dms.local.sources import TableShape


class BinlogOff(Exception):
    """The source has no binary log, so there is no position to capture changes from."""


def _is_mariadb(conn: Any) -> bool:
    return "mariadb" in str(conn.get_server_info()).lower()


def current_position(conn: Any) -> BinlogPosition:
    """The source's current binlog position (``SHOW MASTER STATUS``; MySQL 8.4 renamed it)."""
    import pymysql

    with conn.cursor() as cur:
        try:
            cur.execute("SHOW MASTER STATUS")
        except pymysql.err.ProgrammingError:
            cur.execute("SHOW BINARY LOG STATUS")
        row = cur.fetchone()
    if not row:
        raise BinlogOff(
            "The MySQL source has no binary log (log_bin=OFF): set log-bin and binlog_format=ROW "
            "in its my.cnf and restart it before starting a CDC task."
        )
    return BinlogPosition(str(row[0]), int(row[1]))


def begin_snapshot(conn: Any) -> BinlogPosition:
    """Start a consistent-snapshot transaction on ``conn``; return the binlog position it sees."""
    with conn.cursor() as cur:
        if _is_mariadb(conn):
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            cur.execute("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
            status = {str(name).lower(): str(value) for name, value in cur.fetchall()}
            file, pos = status.get("binlog_snapshot_file", ""), status.get("binlog_snapshot_position", "")
            if not file:
                raise BinlogOff("The MariaDB source reports no binlog snapshot position (log_bin=OFF).")
            return BinlogPosition(file, int(pos))
        cur.execute("FLUSH TABLES WITH READ LOCK")
        try:
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            return current_position(conn)
        finally:
            cur.execute("UNLOCK TABLES")


class SnapshotMySqlSource(MySqlSource):
    """A MySQL source whose table copies each read a consistent snapshot with a known position."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        #: (schema, table) -> the binlog position of the snapshot its last copy read.
        self.snapshot_positions: dict[TableKey, BinlogPosition] = {}

    def binlog_position(self) -> BinlogPosition:
        """The current binlog position: where a reader starts before the first table loads."""
        return current_position(self.conn)

    def copy_into(
        self,
        shape: TableShape,
        copy: psycopg.Copy,
        progress: Callable[[int], None],
        cancelled: Callable[[], bool],
        *,
        binary: bool = False,
    ) -> None:
        if binary:
            raise ValueError("MySQL sources stream rows in text form; binary COPY is for PostgreSQL.")
        conn = connect_mysql(self.address, streaming=True)
        try:
            position = begin_snapshot(conn)
            self.stream_rows(conn, shape, copy, progress, cancelled)
            conn.commit()
        finally:
            conn.close()
        with self._lock:
            self.snapshot_positions[(shape.schema, shape.table)] = position

"""Where the source's change stream is now: PostgreSQL's WAL position, MySQL's binary log position.

The cutover records it when the stop is requested and again once the task has stopped, so the
closing report shows the last position the migration covers (PostgreSQL documentation,
"System Administration Functions": ``pg_current_wal_insert_lsn()``, the end of the WAL including
records not yet written out, so a commit made with synchronous_commit off is not left beyond it;
MySQL/MariaDB ``SHOW MASTER STATUS``, named ``SHOW BINARY LOG STATUS`` from MySQL 8.2 on).
"""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.schema.model import Engine

#: Statements that show the binary log position, newest name first.
MYSQL_STATUS_STATEMENTS = ("SHOW BINARY LOG STATUS", "SHOW MASTER STATUS")


def read_source_position(conn: Any, engine: Engine) -> dict[str, Any]:
    """``{"engine", "position", "server_time"}`` of an open source connection (psycopg or PyMySQL)."""
    if engine == "postgresql":
        row = conn.execute(
            "SELECT pg_current_wal_insert_lsn()::text, to_char(now() AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
        ).fetchone()
        return {"engine": engine, "position": row[0], "server_time": row[1]}
    import pymysql

    status: tuple[Any, ...] | None = None
    with conn.cursor() as cur:
        for statement in MYSQL_STATUS_STATEMENTS:
            try:
                cur.execute(statement)
            except pymysql.err.ProgrammingError:  # the other server's name for it
                continue
            status = cur.fetchone()
            break
        cur.execute("SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')")
        (server_time,) = cur.fetchone()
    position = f"{status[0]}:{status[1]}" if status else None
    return {"engine": engine, "position": position, "server_time": str(server_time)}

"""Dropping the tests' PostgreSQL databases, replication slots included."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import sql


def drop_test_database(conn: psycopg.Connection[Any], name: str) -> None:
    """Drop a test database with its replication slots (a slot, even an idle one, blocks DROP
    DATABASE; a CDC task a test left running may still be reading from it)."""
    deadline = time.monotonic() + 30
    while True:
        conn.execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE database = %s AND active_pid IS NOT NULL",
            [name],
        )
        try:
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = %s",
                [name],
            )
            break
        except psycopg.errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

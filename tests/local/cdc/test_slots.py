"""Slot lifecycle on a real logical-decoding server, and the source errors that name the fix."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.local.cdc.errors import SourceNotReadyError
from airflow_neon_dms.local.cdc.slots import (
    MAX_SLOT_NAME,
    create_slot,
    drop_slot,
    is_valid_slot_name,
    resolve_plugin,
    slot_name_for_task,
    snapshot_transaction,
)
from airflow_neon_dms.local.databases import DatabaseAddress
from tests.local.cdc.support import connect
from tests.logical_postgres import LogicalPg


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("orders-task", "neon_dms_orders_task"),
        ("Neon.Orders 2026", "neon_dms_neon_orders_2026"),
    ],
)
def test_slot_name_for_task(task: str, expected: str) -> None:
    assert slot_name_for_task(task) == expected


def test_long_task_names_get_distinct_valid_slot_names() -> None:
    a = slot_name_for_task("x" * 200 + "a")
    b = slot_name_for_task("x" * 200 + "b")
    assert a != b
    assert len(a) == MAX_SLOT_NAME and is_valid_slot_name(a) and is_valid_slot_name(b)


@pytest.mark.parametrize("setting", [None, "no-preference", "test-decoding", "TEST-DECODING"])
def test_plugin_defaults_to_test_decoding(setting: str | None) -> None:
    assert resolve_plugin(setting, pglogical_installed=False) == "test_decoding"


def test_pglogical_without_the_extension_names_the_setting_and_fix() -> None:
    with pytest.raises(
        SourceNotReadyError, match=r"PluginName is pglogical.*CREATE EXTENSION pglogical.*test-decoding"
    ):
        resolve_plugin("pglogical", pglogical_installed=False)
    with pytest.raises(SourceNotReadyError, match="test_decoding only"):
        resolve_plugin("pglogical", pglogical_installed=True)
    with pytest.raises(SourceNotReadyError, match="is not one of"):
        resolve_plugin("wal2json", pglogical_installed=False)


def slots(conn: psycopg.Connection, database: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT slot_name, plugin FROM pg_replication_slots WHERE database = %s ORDER BY 1", [database]
    ).fetchall()


def test_slot_created_with_snapshot_and_dropped(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    db = make_logical_database()
    with connect(logical_pg, db) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (1)")
        name = slot_name_for_task("orders-task")
        with create_slot(logical_pg.address(db), name) as slot:
            assert slot.plugin == "test_decoding"
            assert slots(conn, db) == [(name, "test_decoding")]
            conn.execute("INSERT INTO t VALUES (2)")  # after the consistent point
            with connect(logical_pg, db) as reader, snapshot_transaction(reader, slot.snapshot_name):
                assert reader.execute("SELECT array_agg(id) FROM t").fetchone() == ([1],)
            changes = conn.execute(
                "SELECT data FROM pg_logical_slot_peek_changes(%s, NULL, NULL)", [name]
            ).fetchall()
            assert [c[0] for c in changes if c[0].startswith("table")] == [
                "table public.t: INSERT: id[integer]:2"
            ]
            with pytest.raises(SourceNotReadyError, match="already exists"):
                create_slot(logical_pg.address(db), name)
        assert drop_slot(conn, name) is True
        assert slots(conn, db) == []
        assert drop_slot(conn, name) is False


@pytest.fixture
def plain_role(logical_pg: LogicalPg) -> Iterator[str]:
    role = "neon_dms_no_replication"
    with connect(logical_pg, "postgres") as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOREPLICATION").format(sql.Identifier(role)))
    yield role
    with connect(logical_pg, "postgres") as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_role_without_replication(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str], plain_role: str
) -> None:
    db = make_logical_database()
    with pytest.raises(
        SourceNotReadyError, match=rf"ALTER ROLE {plain_role} WITH REPLICATION.*rds_replication"
    ):
        create_slot(logical_pg.address(db, user=plain_role), "neon_dms_role_test")
    with connect(logical_pg, db) as conn:
        assert slots(conn, db) == []


def test_slot_limit_reached(logical_pg: LogicalPg, make_logical_database: Callable[[], str]) -> None:
    db = make_logical_database()
    with connect(logical_pg, db) as conn:
        row = conn.execute(
            "SELECT current_setting('max_replication_slots')::int "
            "- (SELECT count(*) FROM pg_replication_slots)"
        ).fetchone()
        assert row is not None
        for n in range(row[0]):
            conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", [f"filler_{n}"])
        with pytest.raises(
            SourceNotReadyError, match=r"max_replication_slots = \d+.*Raise max_replication_slots"
        ):
            create_slot(logical_pg.address(db), "neon_dms_one_too_many")
        assert "neon_dms_one_too_many" not in [s for s, _ in slots(conn, db)]


def test_wal_level_not_logical_on_the_plain_server() -> None:
    dsn = os.environ.get("NEON_DMS_TEST_PG_DSN")
    if not dsn:
        pytest.skip("NEON_DMS_TEST_PG_DSN names no plain PostgreSQL server to check")
    parts = urlsplit(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SHOW wal_level").fetchone()
        if row and row[0] == "logical":
            pytest.skip("the server at NEON_DMS_TEST_PG_DSN already has wal_level=logical")
    address = DatabaseAddress(
        engine="postgres",
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        database=(parts.path or "/postgres").lstrip("/") or "postgres",
    )
    with pytest.raises(SourceNotReadyError, match=r"wal_level = logical.*rds.logical_replication = 1"):
        create_slot(address, "neon_dms_never_created")


def test_wal_senders_exhausted(logical_pg: LogicalPg, make_logical_database: Callable[[], str]) -> None:
    db = make_logical_database()
    held: list[psycopg.Connection] = []
    try:
        with connect(logical_pg, db) as conn:
            row = conn.execute(
                "SELECT current_setting('max_wal_senders')::int "
                "- (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')"
            ).fetchone()
            assert row is not None
            for _ in range(row[0]):  # each replication connection holds a WAL sender
                held.append(psycopg.connect(logical_pg.dsn(db), autocommit=True, replication="database"))
            with pytest.raises(SourceNotReadyError, match=r"max_wal_senders = \d+.*Raise max_wal_senders"):
                create_slot(logical_pg.address(db), "neon_dms_no_sender")
            assert slots(conn, db) == []
    finally:
        for conn in held:
            conn.close()

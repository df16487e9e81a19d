"""The change applier on a real PostgreSQL target: transactions, keyless rows, counters, checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.cdc_mysql.applier import ChangeApplyError, PostgresChangeApplier
from airflow_neon_dms.local.cdc_mysql.changes import DdlChange, RowChange
from airflow_neon_dms.local.cdc_mysql.checkpoint import TargetPositionTable
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
from airflow_neon_dms.local.sources import Column, TableShape
from tests.conftest import PgServer

KEYED = TableShape(
    "shop",
    "orders",
    (Column("id", "integer", False), Column("note", "text", True)),
    ("id",),
    target_schema="public",
)
KEYLESS = TableShape("shop", "log", (Column("kind", "text", True), Column("n", "integer", True)), ())
SHAPES = {("shop", "orders"): KEYED, ("shop", "log"): KEYLESS}


@pytest.fixture
def target(pg_server: PgServer, pg_database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_server.dsn(pg_database)) as conn:
        with conn.transaction():
            conn.execute("CREATE SCHEMA shop")
            conn.execute("CREATE TABLE public.orders (id integer PRIMARY KEY, note text)")
            conn.execute("CREATE TABLE shop.log (kind text, n integer)")
            conn.execute("INSERT INTO shop.log VALUES ('a', 1), ('a', 1), ('b', 2)")
        yield conn


def _at(pos: int) -> BinlogPosition:
    return BinlogPosition("binlog.000001", pos)


def test_a_failing_change_rolls_back_its_whole_transaction(target: psycopg.Connection[Any]) -> None:
    store = TargetPositionTable("task-1")
    store.ensure(target)
    applier = PostgresChangeApplier(target, SHAPES, checkpoint=store.save)
    applier.apply([RowChange("shop", "orders", "insert", None, (1, "one"))], _at(100))
    duplicate = [
        RowChange("shop", "orders", "insert", None, (2, "two")),
        RowChange("shop", "orders", "insert", None, (1, "again")),
    ]
    with pytest.raises(
        ChangeApplyError, match=r"ending at binlog\.000001:200 to shop\.orders failed .*rolled back"
    ):
        applier.apply(duplicate, _at(200))
    assert target.execute("SELECT id, note FROM public.orders ORDER BY id").fetchall() == [(1, "one")]
    assert store.load(target) == _at(100)
    assert applier.statistics()[("shop", "orders")]["Inserts"] == 3  # the failed two were captured
    assert applier.statistics()[("shop", "orders")]["AppliedInserts"] == 1
    applier.apply([RowChange("shop", "orders", "update", (1, "one"), (3, "three"))], _at(300))
    assert target.execute("SELECT id, note FROM public.orders").fetchall() == [(3, "three")]
    assert store.load(target) == _at(300)
    applier.apply([RowChange("shop", "orders", "delete", (3, "three"), None)], _at(250))
    assert store.load(target) == _at(300), "an older position (a cached change) must not move it back"


def test_keyless_rows_change_one_at_a_time_and_truncate_follows_the_setting(
    target: psycopg.Connection[Any],
) -> None:
    applier = PostgresChangeApplier(target, SHAPES)
    applier.apply([RowChange("shop", "log", "update", ("a", 1), ("a", 5))], _at(10))
    applier.apply([RowChange("shop", "log", "delete", ("b", 2), None)], _at(20))
    rows = target.execute("SELECT kind, n FROM shop.log ORDER BY kind, n").fetchall()
    assert rows == [("a", 1), ("a", 5)]
    applier.apply([DdlChange("shop", "log", "truncate", "TRUNCATE TABLE log")], _at(30))
    assert target.execute("SELECT count(*) FROM shop.log").fetchone() == (0,)
    ignoring = PostgresChangeApplier(target, SHAPES, handle_truncate=False)
    target.execute("INSERT INTO shop.log VALUES ('c', 3)")
    target.commit()
    ignoring.apply([DdlChange("shop", "log", "truncate", "TRUNCATE TABLE log")], _at(40))
    assert target.execute("SELECT count(*) FROM shop.log").fetchone() == (1,)
    assert ignoring.statistics()[("shop", "log")]["Ddls"] == 1
    assert ignoring.statistics()[("shop", "log")]["AppliedDdls"] == 0
    assert applier.statistics()[("shop", "log")] == {
        "Inserts": 0,
        "Updates": 1,
        "Deletes": 1,
        "Ddls": 1,
        "AppliedInserts": 0,
        "AppliedUpdates": 1,
        "AppliedDeletes": 1,
        "AppliedDdls": 1,
    }

"""The shared applier with a binlog source's tables, on a real PostgreSQL target: transactions,
keyless rows (whole before image), counters and the saved position."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.cdc.changes import ColumnValue, DdlChange, RowChange, Truncate
from airflow_neon_dms.local.cdc.errors import ApplyError
from airflow_neon_dms.local.cdc_mysql.applier import binlog_applier
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


def _image(shape: TableShape, *values: Any) -> tuple[ColumnValue, ...]:
    return tuple(ColumnValue(c.name, c.pg_type, v) for c, v in zip(shape.columns, values, strict=True))


def _insert(*values: Any) -> RowChange:
    return RowChange("shop", "orders", "INSERT", _image(KEYED, *values))


@pytest.fixture
def target(pg_server: PgServer, pg_database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        with conn.transaction():
            conn.execute("CREATE SCHEMA shop")
            conn.execute("CREATE TABLE public.orders (id integer PRIMARY KEY, note text)")
            conn.execute("CREATE TABLE shop.log (kind text, n integer)")
            conn.execute("INSERT INTO shop.log VALUES ('a', 1), ('a', 1), ('b', 2)")
        yield conn


def _at(pos: int) -> BinlogPosition:
    return BinlogPosition("binlog.000001", pos)


def test_a_failing_change_rolls_back_its_whole_transaction(target: psycopg.Connection[Any]) -> None:
    applier = binlog_applier(target, "task-1", SHAPES)
    applier.ensure_control_table()
    applier.apply([_insert(1, "one")], position=_at(100))
    failed = r"ending at binlog\.000001:200 to shop\.orders failed .*rolled back"
    with pytest.raises(ApplyError, match=failed):
        applier.apply([_insert(2, "two"), _insert(1, "again")], position=_at(200))
    assert target.execute("SELECT id, note FROM public.orders ORDER BY id").fetchall() == [(1, "one")]
    assert applier.applied_position() == str(_at(100))
    assert applier.stats.table(("shop", "orders")).applied_inserts == 1
    update = RowChange("shop", "orders", "UPDATE", _image(KEYED, 3, "three"), _image(KEYED, 1, "one"))
    applier.apply([update], position=_at(300))
    assert target.execute("SELECT id, note FROM public.orders").fetchall() == [(3, "three")]
    assert applier.applied_position() == str(_at(300))
    delete = RowChange("shop", "orders", "DELETE", None, _image(KEYED, 3, "three"))
    applier.apply([delete], position=_at(250))
    # an older position (a cached change) must not move it back
    assert applier.applied_position() == str(_at(300))


def test_keyless_rows_change_one_at_a_time_and_truncate_follows_the_setting(
    target: psycopg.Connection[Any],
) -> None:
    applier = binlog_applier(target, "task", SHAPES)
    applier.apply([RowChange("shop", "log", "UPDATE", _image(KEYLESS, "a", 5), _image(KEYLESS, "a", 1))])
    applier.apply([RowChange("shop", "log", "DELETE", None, _image(KEYLESS, "b", 2))])
    rows = target.execute("SELECT kind, n FROM shop.log ORDER BY kind, n").fetchall()
    assert rows == [("a", 1), ("a", 5)]
    applier.apply([Truncate((("shop", "log"),))])
    assert target.execute("SELECT count(*) FROM shop.log").fetchone() == (0,)
    ignoring = binlog_applier(target, "task", SHAPES, handle_truncate=False)
    target.execute("INSERT INTO shop.log VALUES ('c', 3)")
    ignoring.apply([Truncate((("shop", "log"),)), DdlChange("shop", "log", "ALTER TABLE log ADD x int")])
    assert target.execute("SELECT count(*) FROM shop.log").fetchone() == (1,)
    assert ignoring.stats.table(("shop", "log")).applied_ddls == 0
    assert applier.stats.by_table()[("shop", "log")] == {
        "Inserts": 0,
        "Updates": 0,
        "Deletes": 0,
        "Ddls": 0,
        "AppliedInserts": 0,
        "AppliedUpdates": 1,
        "AppliedDeletes": 1,
        "AppliedDdls": 1,
    }

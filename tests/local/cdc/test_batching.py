"""Several source transactions applied as one target transaction, runs of same-shape changes as
multi-row statements: the target must end exactly as if every change had been applied alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.cdc.apply import ChangeApplier, PendingTransaction
from airflow_neon_dms.local.cdc.batching import BulkShape, Run, Statement
from airflow_neon_dms.local.cdc.changes import ColumnValue, RowChange, RowKind
from airflow_neon_dms.local.cdc.errors import ApplyError
from airflow_neon_dms.local.cdc.identity import TableIdentity
from airflow_neon_dms.local.cdc.lsn import Lsn, format_lsn, parse_lsn
from airflow_neon_dms.local.cdc.slots import create_slot
from airflow_neon_dms.local.cdc.stats import ChangeStatistics
from tests.conftest import PgServer
from tests.local.cdc.support import Pipeline, connect, create_items, rows
from tests.logical_postgres import LogicalPg

ITEMS = ("public", "items")
OTHER = ("public", "other")


@pytest.fixture
def databases(logical_pg: LogicalPg, make_logical_database: Callable[[], str]) -> tuple[str, str]:
    return make_logical_database(), make_logical_database()


@pytest.fixture
def pipelines() -> Iterator[list[Pipeline]]:
    made: list[Pipeline] = []
    yield made
    for pipeline in made:
        pipeline.close()


def _start(pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline], slot: str) -> Pipeline:
    create_slot(pg.address(databases[0]), slot).release()
    pipeline = Pipeline(pg, databases[0], databases[1], slot)
    pipelines.append(pipeline)
    return pipeline


def _other(conns: list[psycopg.Connection[Any]]) -> None:
    for conn in conns:
        conn.execute("CREATE TABLE other (k text PRIMARY KEY, v numeric(8, 2), at timestamptz)")


def _read_all(pipeline: Pipeline) -> int:
    """Poll once (every transaction committed so far is in one read); returns the transactions read."""
    transactions = list(pipeline.reader.read()[0])
    pipeline.engine.poll()
    return len(transactions)


def test_transactions_mixing_tables_keys_and_reinserts_end_equal(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        create_items([src, tgt])
        _other([src, tgt])
        pipeline = _start(logical_pg, databases, pipelines, "neon_dms_batch_mix")
        with src.transaction():  # tables interleaved, one row changed twice, a key moved
            src.execute("INSERT INTO items SELECT g, 'n' || g, 0 FROM generate_series(1, 50) g")
            src.execute("INSERT INTO other VALUES ('a', 1.5, now()), ('b', NULL, NULL)")
            src.execute("INSERT INTO items VALUES (51, 'x', 0)")
            src.execute("UPDATE items SET n = n + 1 WHERE id <= 10")
            src.execute("UPDATE items SET n = n + 1 WHERE id <= 5")  # the same keys again
            src.execute("UPDATE items SET id = id + 1000 WHERE id IN (20, 21)")  # key updates
            src.execute("UPDATE items SET id = 20 WHERE id = 1021")  # a key taking a freed value
            src.execute("UPDATE other SET v = 2.25 WHERE k = 'b'")
        with src.transaction():  # delete then re-insert the same keys, in one transaction
            src.execute("DELETE FROM items WHERE id BETWEEN 30 AND 40")
            src.execute("INSERT INTO items SELECT g, 'again ' || g, 7 FROM generate_series(30, 35) g")
            src.execute("DELETE FROM items WHERE id = 31")
            src.execute("INSERT INTO items VALUES (31, 'third time', 9)")
        with src.transaction():  # the next transaction of the same read touches them again
            src.execute("UPDATE items SET name = name || '!' WHERE id BETWEEN 28 AND 33")
            src.execute("DELETE FROM other WHERE k = 'a'")
            src.execute("INSERT INTO other VALUES ('a', 3, NULL)")
        assert _read_all(pipeline) == 3
        assert rows(tgt, "items") == rows(src, "items")
        assert rows(tgt, "other") == rows(src, "other")
        items = pipeline.stats.table(ITEMS)
        # 51 + 6 + 1 inserts; 10 + 5 + 2 + 1 + 6 updates (six rows renamed in the last one:
        # 28, 29, 30, 32, 33 and 31); 11 + 1 deletes.
        assert (items.inserts, items.updates, items.deletes) == (58, 24, 12)
        assert (items.applied_inserts, items.applied_updates, items.applied_deletes) == (58, 24, 12)
        other = pipeline.stats.table(OTHER)
        assert (other.applied_inserts, other.applied_updates, other.applied_deletes) == (3, 1, 1)
        # One target transaction for the three source transactions: the last one's position.
        assert pipeline.applier.applied_position() == format_lsn(pipeline.reader.confirmed_lsn())


def test_a_refused_transaction_in_a_group_keeps_the_ones_before_and_resume_applies_the_rest_once(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        create_items([src, tgt])
        tgt.execute("INSERT INTO items VALUES (300, 'in the way', 0)")
        first = _start(logical_pg, databases, pipelines, "neon_dms_batch_stop")
        for start in (100, 200, 300, 400):  # the third transaction collides on the target
            with src.transaction():
                src.execute(
                    "INSERT INTO items SELECT g, 'r' || g, 0 FROM generate_series(%s::int, %s::int) g",
                    [start, start + 9],
                )
        with pytest.raises(ApplyError, match=r"public\.items.*duplicate key") as raised:
            first.engine.poll()
        assert isinstance(raised.value.position, Lsn)
        # The two transactions before the refused one are committed, with their position.
        assert rows(tgt, "items") == sorted(
            [f"({i},r{i},0)" for i in range(100, 110)]
            + [f"({i},r{i},0)" for i in range(200, 210)]
            + ['(300,"in the way",0)']
        )
        applied = first.applier.applied_position()
        assert applied is not None and parse_lsn(applied) < raised.value.position
        stats = first.stats.table(ITEMS)
        assert stats.applied_inserts == 20
        assert stats.inserts == 30  # the refused transaction is captured, the one after it is not
        first.close()
        tgt.execute("DELETE FROM items WHERE id = 300")
        resumed = Pipeline(logical_pg, source_db, target_db, "neon_dms_batch_stop", stats=first.stats)
        pipelines.append(resumed)
        resumed.drain(src)  # a doubled insert would fail on the primary key
        assert rows(tgt, "items") == rows(src, "items")
        assert len(rows(tgt, "items")) == 40
        assert (stats.inserts, stats.applied_inserts) == (50, 40)  # 300..309 captured twice, as before


@pytest.fixture
def plain_target(pg_server: PgServer, pg_database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, c char(3), b bit(4), n int)")
        yield conn


def _row(kind: RowKind, **values: Any) -> RowChange:
    image = tuple(ColumnValue(name, "", None if v is None else str(v)) for name, v in values.items())
    if kind == "DELETE":
        return RowChange("public", "t", kind, None, image)
    return RowChange("public", "t", kind, image)


def test_fixed_length_columns_keep_one_row_statements_and_errors_name_the_table(
    plain_target: psycopg.Connection[Any],
) -> None:
    """``character``/``bit`` without a length mean length 1: an UPDATE of such columns is never
    cast in a multi-row statement (it would cut the value silently)."""
    applier = ChangeApplier(
        plain_target,
        "task",
        target_name=lambda s, t: (s, t),
        identity=lambda s, t: TableIdentity(("id",), columns=("id", "c", "b", "n")),
        stats=ChangeStatistics(),
    )
    inserts = [_row("INSERT", id=i, c="abc", b="1010", n=i) for i in range(1, 6)]
    updates = [_row("UPDATE", id=i, c="xyz", b="0101", n=-i) for i in range(1, 6)]
    assert applier.apply_transactions([PendingTransaction(inserts), PendingTransaction(updates)]) == 10
    assert plain_target.execute("SELECT DISTINCT c, b::text FROM t").fetchall() == [("xyz", "0101")]
    with pytest.raises(ApplyError, match=r"public\.t failed .*value too long"):
        applier.apply([_row("UPDATE", id=1, c="toolong", b="0101", n=1)])
    assert plain_target.execute("SELECT c FROM t WHERE id = 1").fetchone() == ("xyz",)


def test_a_run_takes_each_updated_key_once_and_stops_at_its_size() -> None:
    shape = BulkShape(b"UPDATE t SET n = v.c1 FROM (VALUES ", (b"::integer", b"::integer"), b") v")
    assert (
        shape.query(2)
        == b"UPDATE t SET n = v.c1 FROM (VALUES ($1::integer, $2::integer), ($3::integer, $4::integer)) v"
    )
    run = Run(b"UPDATE one", shape)
    first = Statement(b"UPDATE one", ["5", "1"], shape, ["1", "5"], ("1",))
    run.add(first)
    assert not run.takes(first._replace(params=["6", "1"], bulk_params=["1", "6"]))  # key 1 again
    assert run.takes(first._replace(row_key=("2",)))
    assert not run.takes(first._replace(query=b"UPDATE other"))
    assert not run.takes(first._replace(bulk=None))  # a key change goes alone
    run.limit = 1
    assert not run.takes(first._replace(row_key=("3",)))  # full: sent, a new run starts

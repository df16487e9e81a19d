"""The CDC engine between two real databases: full load under writes, stop/resume, truncate, keys."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_neon_dms.local.cdc.errors import ApplyError
from airflow_neon_dms.local.cdc.lsn import Lsn, format_lsn
from airflow_neon_dms.local.cdc.slots import create_slot, drop_slot, snapshot_slot_name
from airflow_neon_dms.local.cdc.stop_position import parse_cdc_stop_position
from airflow_neon_dms.local.cdc.test_decoding import RowChange
from tests.local.cdc.support import (
    Pipeline,
    Writer,
    connect,
    copy_in_snapshot,
    create_items,
    rows,
)
from tests.logical_postgres import LogicalPg

ITEMS = ("public", "items")
WAIT_LIMIT_SECONDS = 120


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


class EngineThread(threading.Thread):
    """``engine.run`` in a thread; ``stop()`` re-raises what it raised."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(daemon=True)
        self.pipeline = pipeline
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.pipeline.engine.run(self.stop_event, poll_interval=0.05)
        except BaseException as err:
            self.error = err

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=WAIT_LIMIT_SECONDS)
        if self.error:
            raise self.error


@pytest.fixture
def databases(logical_pg: LogicalPg, make_logical_database: Callable[[], str]) -> tuple[str, str]:
    return make_logical_database(), make_logical_database()


@pytest.fixture
def pipelines(logical_pg: LogicalPg) -> Iterator[list[Pipeline]]:
    made: list[Pipeline] = []
    yield made
    for pipeline in made:
        pipeline.close()


def start_cdc(
    pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline], slot: str, **kwargs: Any
) -> Pipeline:
    """Create the slot (released at once: no full load) and a pipeline on it."""
    create_slot(pg.address(databases[0]), slot).release()
    pipeline = Pipeline(pg, databases[0], databases[1], slot, **kwargs)
    pipelines.append(pipeline)
    return pipeline


def test_full_load_under_writes_then_cdc_leaves_target_equal(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with (
        connect(logical_pg, source_db) as src,
        connect(logical_pg, target_db) as tgt,
        connect(logical_pg, source_db) as loader,
    ):
        create_items([src, tgt], rows_count=20_000)
        writer = Writer(logical_pg, source_db)
        writer.start()
        try:
            wait_for(lambda: writer.transactions >= 5, "the writer to start")
            slot = create_slot(logical_pg.address(source_db), "neon_dms_full_load")
            pipeline = Pipeline(logical_pg, source_db, target_db, slot.slot_name)
            pipelines.append(pipeline)
            pipeline.engine.cache_changes_for([ITEMS])
            engine = EngineThread(pipeline)
            engine.start()
            copied = copy_in_snapshot(loader, tgt, slot.snapshot_name, "items")
            assert copied > 0
            wait_for(lambda: pipeline.engine.cached_changes() >= 20, "changes cached during the load")
            assert rows(tgt, "items") != rows(src, "items")  # the load alone is behind the source
            pipeline.engine.apply_cached(ITEMS)
            slot.release()
            assert not pipeline.engine.caching(ITEMS)
            seen = writer.transactions
            wait_for(lambda: writer.transactions >= seen + 20, "more writes after the load")
        finally:
            writer.stop()
        engine.stop()
        pipeline.drain(src)
        assert rows(tgt, "items") == rows(src, "items")
        stats = pipeline.stats.table(ITEMS)
        assert stats.error is None
        assert stats.inserts == stats.applied_inserts >= 2 * 25
        assert stats.updates == stats.applied_updates > 0
        assert stats.deletes == stats.applied_deletes > 0
        assert stats.ddls == stats.applied_ddls == 0
        assert pipeline.engine.applied_lsn is not None
        assert pipeline.applier.applied_position() == format_lsn(pipeline.engine.applied_lsn)


def test_stop_and_resume_under_load_loses_and_doubles_nothing(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        create_items([src, tgt])
        first = start_cdc(logical_pg, databases, pipelines, "neon_dms_resume")
        writer = Writer(logical_pg, source_db)
        writer.start()
        try:
            engine = EngineThread(first)
            engine.start()
            wait_for(lambda: first.stats.table(ITEMS).applied_inserts >= 20, "the first run to apply changes")
            engine.stop()  # StopReplicationTask
            first.close()
            seen = writer.transactions
            wait_for(lambda: writer.transactions >= seen + 10, "writes while the task is stopped")
            # A crash after the target commit and before the slot is confirmed: apply what the
            # slot holds now, record it on the target, and do not confirm.
            crashed = Pipeline(logical_pg, source_db, target_db, "neon_dms_resume")
            pipelines.append(crashed)
            transactions = list(crashed.reader.read()[0])
            assert transactions
            for txn in transactions:
                crashed.applier.apply(
                    list(txn.changes), position=Lsn(txn.commit_lsn), commit_time=txn.commit_time
                )
            assert crashed.reader.confirmed_lsn() < transactions[-1].commit_lsn
            crashed.close()
            resumed = Pipeline(logical_pg, source_db, target_db, "neon_dms_resume")  # resume-processing
            pipelines.append(resumed)
            engine = EngineThread(resumed)
            engine.start()
            seen = writer.transactions
            wait_for(lambda: writer.transactions >= seen + 10, "writes after the resume")
        finally:
            writer.stop()
        engine.stop()
        resumed.drain(src)  # a doubled insert would have failed on the primary key
        assert rows(tgt, "items") == rows(src, "items")


def test_truncate_is_applied_and_counted_as_ddl(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for conn in (src, tgt):
            conn.execute("CREATE TABLE a (id serial PRIMARY KEY, v text)")
            conn.execute("CREATE TABLE b (id int PRIMARY KEY)")
        pipeline = start_cdc(logical_pg, databases, pipelines, "neon_dms_truncate")
        src.execute("INSERT INTO a (v) VALUES ('x'), ('y')")
        src.execute("INSERT INTO b VALUES (1)")
        src.execute("TRUNCATE a, b RESTART IDENTITY")
        src.execute("INSERT INTO a (v) VALUES ('after')")
        pipeline.drain(src)
        assert rows(tgt, "a") == rows(src, "a") == ["(1,after)"]
        assert rows(tgt, "b") == []
        for table in ("a", "b"):
            stats = pipeline.stats.table(("public", table))
            assert (stats.ddls, stats.applied_ddls) == (1, 1)


def test_truncate_while_the_table_loads_is_cached(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        create_items([src, tgt], rows_count=100)
        slot = create_slot(logical_pg.address(source_db), "neon_dms_cached_truncate")
        with slot:
            pipeline = Pipeline(logical_pg, source_db, target_db, slot.slot_name)
            pipelines.append(pipeline)
            pipeline.engine.cache_changes_for([ITEMS])
            src.execute("TRUNCATE items")
            src.execute("INSERT INTO items VALUES (7, 'seven', 7)")
            pipeline.drain(src)
            assert pipeline.engine.cached_changes() == 2
            with connect(logical_pg, source_db) as loader:
                # TRUNCATE is not MVCC-safe: the snapshot now sees an empty table. Either way, the
                # cached TRUNCATE and INSERT make the target what the source is.
                copy_in_snapshot(loader, tgt, slot.snapshot_name, "items")
        assert pipeline.engine.apply_cached(ITEMS) == 2
        assert rows(tgt, "items") == rows(src, "items") == ["(7,seven,7)"]


def test_keyless_tables(logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        for conn in (src, tgt):
            conn.execute("CREATE TABLE nokey (a int, b text)")
            conn.execute("CREATE TABLE fullrow (a int, b text, c text)")
            conn.execute("CREATE TABLE nocols ()")
            create_items([conn])
        src.execute("ALTER TABLE fullrow REPLICA IDENTITY FULL")
        pipeline = start_cdc(logical_pg, databases, pipelines, "neon_dms_keyless")
        src.execute("INSERT INTO nokey VALUES (1, 'x')")
        src.execute("UPDATE nokey SET b = 'y'")
        src.execute("INSERT INTO nokey VALUES (2, 'z')")
        src.execute("INSERT INTO fullrow VALUES (1, 'same', NULL), (1, 'same', NULL), (2, 'o''ther', 'c')")
        src.execute("DELETE FROM fullrow WHERE ctid = (SELECT min(ctid) FROM fullrow WHERE a = 1)")
        src.execute("UPDATE fullrow SET c = 'set' WHERE a = 2")
        src.execute("UPDATE fullrow SET b = NULL WHERE a = 1")
        src.execute("INSERT INTO items VALUES (1, 'unaffected', 0)")
        src.execute("INSERT INTO nocols DEFAULT VALUES")
        src.execute("INSERT INTO nocols DEFAULT VALUES")
        pipeline.drain(src)
        assert tgt.execute("SELECT count(*) FROM nocols").fetchone() == (2,)
        nokey = pipeline.stats.table(("public", "nokey"))
        # DMS ignores UPDATE and DELETE of a table without a primary key; the table stays in
        # replication (its later INSERT is applied) and the task log says why.
        assert nokey.error is None
        assert [w for w in pipeline.warnings if "public.nokey" in w and "REPLICA IDENTITY FULL" in w]
        assert rows(tgt, "nokey") == ["(1,x)", "(2,z)"]
        assert (nokey.inserts, nokey.applied_inserts, nokey.updates, nokey.applied_updates) == (2, 2, 1, 0)
        assert rows(tgt, "fullrow") == rows(src, "fullrow") == ["(1,,)", "(2,o'ther,set)"]
        assert pipeline.stats.table(("public", "fullrow")).error is None
        assert rows(tgt, "items") == ["(1,unaffected,0)"]


def test_types_names_toast_and_mapping(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    ddl = (
        'CREATE TABLE {} ("Key col" int PRIMARY KEY, "q""uote" text, arr int[], tags text[], b bytea, '
        "n numeric, f float8, ok boolean, ts timestamptz, j json, jb jsonb, big text, "
        'g int GENERATED ALWAYS AS ("Key col" * 2) STORED)'
    )
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        src.execute('CREATE SCHEMA "Odd.Schema"')
        src.execute(ddl.format('"Odd.Schema"."my table"'))
        tgt.execute("CREATE SCHEMA landed")
        tgt.execute(ddl.format("landed.renamed"))
        renamed = {("Odd.Schema", "my table"): ("landed", "renamed")}
        pipeline = start_cdc(
            logical_pg, databases, pipelines, "neon_dms_types", target_name=lambda s, t: renamed.get((s, t))
        )
        src.execute(
            'INSERT INTO "Odd.Schema"."my table" VALUES (1, %s, %s, %s, %s, %s, %s, true, %s, %s, %s, '
            "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g))",
            [
                'it\'s "quoted" \\ here',
                [1, None, 3],
                ["a b", 'c"d', "e,f", None],
                b"\x00\x01'\xff",
                "12345678901234567890.000001",
                0.1,
                datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
                '{"k": [1, 2]}',
                '{"k": "v"}',
            ],
        )
        src.execute(
            'INSERT INTO "Odd.Schema"."my table" ("Key col", n, f) VALUES (2, \'NaN\', \'-Infinity\')'
        )
        src.execute('UPDATE "Odd.Schema"."my table" SET ok = false WHERE "Key col" = 1')  # big is not sent
        src.execute('UPDATE "Odd.Schema"."my table" SET "Key col" = 3 WHERE "Key col" = 2')
        transactions, _ = pipeline.reader.read()
        sent = [
            c for t in transactions for ch in t.changes if isinstance(ch, RowChange) for c in ch.new or ()
        ]
        assert any(c.name == "big" and c.unchanged_toast for c in sent)  # the target must keep its value
        pipeline.drain(src)
        changes = pipeline.stats.table(("Odd.Schema", "my table"))
        assert (changes.applied_inserts, changes.applied_updates) == (2, 2)
        assert rows(tgt, "renamed", "landed") == rows(src, "my table", "Odd.Schema")
        assert len(rows(tgt, "renamed", "landed")) == 2


def test_apply_error_rolls_back_the_whole_transaction(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        create_items([src, tgt])
        tgt.execute("INSERT INTO items VALUES (2, 'already there', 0)")
        pipeline = start_cdc(logical_pg, databases, pipelines, "neon_dms_apply_error")
        with src.transaction():
            src.execute("INSERT INTO items VALUES (1, 'one', 0)")
            src.execute("INSERT INTO items VALUES (2, 'two', 0)")
        with pytest.raises(ApplyError, match=r"public\.items.*duplicate key"):
            pipeline.drain(src)
        assert rows(tgt, "items") == ['(2,"already there",0)']
        assert pipeline.applier.applied_position() is None
        assert pipeline.stats.table(ITEMS).applied_inserts == 0


def test_commit_time_applies_what_committed_before_it(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        create_items([src, tgt])
        row = src.execute("SELECT date_trunc('second', clock_timestamp()) + interval '2 seconds'").fetchone()
        assert row is not None
        stop_at: datetime = row[0]
        position = parse_cdc_stop_position(
            f"commit_time:{stop_at.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S}"
        )
        pipeline = start_cdc(
            logical_pg, databases, pipelines, "neon_dms_commit_before", stop_position=position
        )
        src.execute("INSERT INTO items VALUES (1, 'before', 0)")
        before = src.execute("SELECT clock_timestamp() < %s", [stop_at]).fetchone()
        wait_for(
            lambda: src.execute("SELECT clock_timestamp() > %s", [stop_at]).fetchone() == (True,),
            "the source clock to pass the stop time",
        )
        src.execute("INSERT INTO items VALUES (2, 'after', 0)")
        pipeline.drain(src)
        assert pipeline.engine.stop_reason == "Stop Reason STOPPED_AT_COMMIT_TIME"
        if before != (True,):
            pytest.skip("the machine was too slow to commit before the stop time")
        assert rows(tgt, "items") == ["(1,before,0)"]
        assert pipeline.engine.poll() is False  # a stopped engine reads nothing more


def test_server_time_stop_position(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, target_db = databases
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
    clock = [now]
    with connect(logical_pg, source_db) as src, connect(logical_pg, target_db) as tgt:
        create_items([src, tgt])
        position = parse_cdc_stop_position("server_time:2026-06-01T12:00:10")
        pipeline = start_cdc(logical_pg, databases, pipelines, "neon_dms_server_time", stop_position=position)
        pipeline.engine.clock = lambda: clock[0]
        src.execute("INSERT INTO items VALUES (1, 'before', 0)")
        pipeline.drain(src)
        assert pipeline.engine.stop_reason is None
        clock[0] = now + timedelta(seconds=10)
        src.execute("INSERT INTO items VALUES (2, 'after', 0)")
        pipeline.drain(src)
        assert pipeline.engine.stop_reason == "Stop Reason STOPPED_AT_SERVER_TIME"
        assert rows(tgt, "items") == ["(1,before,0)"]


def test_deleting_the_task_drops_its_slot(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    source_db, _ = databases
    pipeline = start_cdc(logical_pg, databases, pipelines, "neon_dms_delete_me")
    with connect(logical_pg, source_db) as src:
        src.execute("CREATE TABLE t (id int PRIMARY KEY)")
        pipeline.drain(src)
        assert drop_slot(src, "neon_dms_delete_me") is True
        assert src.execute(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'neon_dms_delete_me'"
        ).fetchone() == (0,)


def test_reload_from_a_later_snapshot_while_the_stream_lags(
    logical_pg: LogicalPg, databases: tuple[str, str], pipelines: list[Pipeline]
) -> None:
    """A table loaded again (ReloadTables, or resume with an unfinished table) from a temporary
    slot's snapshot: the stream's changes up to that snapshot are dropped, later ones applied."""
    source_db, target_db = databases
    with (
        connect(logical_pg, source_db) as src,
        connect(logical_pg, target_db) as tgt,
        connect(logical_pg, source_db) as loader,
    ):
        create_items([src, tgt], rows_count=500)  # the target starts empty: only the reload fills it
        pipeline = start_cdc(logical_pg, databases, pipelines, "neon_dms_reload")
        writer = Writer(logical_pg, source_db)
        writer.start()
        try:
            wait_for(lambda: writer.transactions >= 10, "writes the stream has not read yet")
            pipeline.engine.cache_changes_for([ITEMS])
            address = logical_pg.address(source_db)
            with create_slot(address, snapshot_slot_name("neon_dms_reload"), temporary=True) as snap:
                tgt.execute("TRUNCATE items")
                copy_in_snapshot(loader, tgt, snap.snapshot_name, "items")
                pipeline.engine.apply_cached(ITEMS, loaded_at=snap.consistent_lsn)
            assert pipeline.engine.applied_lsn is None  # the stream is behind the snapshot
            seen = writer.transactions
            wait_for(lambda: writer.transactions >= seen + 10, "writes after the reload")
        finally:
            writer.stop()
        pipeline.drain(src)  # replays changes already in the load: a doubled insert would fail
        assert rows(tgt, "items") == rows(src, "items")
        with connect(logical_pg, source_db) as check:
            assert check.execute(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s",
                [snapshot_slot_name("neon_dms_reload")],
            ).fetchone() == (0,)

"""MySQL/MariaDB CDC end to end: a private MariaDB with the binlog on, a real PostgreSQL target."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.cdc.apply import ChangeApplier
from airflow_neon_dms.local.cdc.changes import Change, RowChange
from airflow_neon_dms.local.cdc_mysql.applier import binlog_applier
from airflow_neon_dms.local.cdc_mysql.binlog_reader import BinlogChangeReader, BinlogReadError
from airflow_neon_dms.local.cdc_mysql.changes import TableKey
from airflow_neon_dms.local.cdc_mysql.full_load_cache import FullLoadChangeCache
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
from airflow_neon_dms.local.cdc_mysql.snapshot import SnapshotMySqlSource, current_position
from airflow_neon_dms.local.databases import DatabaseAddress
from airflow_neon_dms.local.full_load import load_table
from airflow_neon_dms.local.sources import TableShape
from tests.conftest import MySqlServer, PgServer
from tests.local.cdc_mysql.workload import TABLES, Writer, create_source, source_rows, target_rows

READ_TIMEOUT_SECONDS = 120


@pytest.fixture
def target(pg_server: PgServer, pg_database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        yield conn


def _pump(
    reader: BinlogChangeReader, cache: FullLoadChangeCache, stop: Callable[[], bool]
) -> threading.Thread:
    """Run the reader in a thread, handing every transaction to the cache; errors are re-raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for transaction in reader.transactions(stop=stop):
                cache.process(transaction)
        except BaseException as err:  # surfaced by _join
            errors.append(err)
        finally:
            reader.close()

    thread = threading.Thread(target=run, name="binlog-pump", daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _join(thread: threading.Thread) -> None:
    thread.join(timeout=READ_TIMEOUT_SECONDS)
    assert not thread.is_alive(), "the binlog reader did not reach the source's final position"
    errors = thread.errors  # type: ignore[attr-defined]
    if errors:
        raise errors[0]


def _drain(reader: BinlogChangeReader, cache: FullLoadChangeCache, until: BinlogPosition) -> None:
    _join(_pump(reader, cache, lambda: until <= reader.position))


def _after(change: Change) -> tuple[Any, ...]:
    assert isinstance(change, RowChange) and change.new is not None
    return tuple(c.value for c in change.new)


def _assert_identical(server: MySqlServer, db: str, target: psycopg.Connection[Any]) -> None:
    for table in TABLES:
        source = source_rows(server, db, table)
        copied = target_rows(target, db, table)
        assert copied == source, f"{table}: {len(copied - source)} extra, {len(source - copied)} missing"


def test_changes_during_full_load_are_cached_then_applied_once(
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    pg_server: PgServer,
    pg_database: str,
    target: psycopg.Connection[Any],
) -> None:
    db = binlog_database
    create_source(binlog_server, db, orders=25_000, events=2_000)
    source = SnapshotMySqlSource(binlog_address)
    shapes: dict[TableKey, TableShape] = {(db, t): source.table_shape(db, t) for t in TABLES}
    start = source.binlog_position()  # before the first table's snapshot
    applier = binlog_applier(target, "task", shapes)
    cache = FullLoadChangeCache(applier, shapes)
    reader = BinlogChangeReader(binlog_address, shapes, start)
    final: list[BinlogPosition] = []
    pump = _pump(reader, cache, lambda: bool(final) and final[0] <= reader.position)
    writer = Writer(binlog_server, db)
    writer.start()

    during_copy: list[int] = []

    def progress(rows: int) -> None:
        # Between two row batches of the copy: let the writer commit more changes first.
        seen = writer.transactions
        writer.wait_for(seen + 20)
        during_copy.append(writer.transactions - seen)

    cached: dict[str, int] = {}
    try:
        with psycopg.connect(pg_server.dsn(pg_database)) as loader:
            for table in ("orders", "events"):
                rows = load_table(source, loader, db, table, shape=shapes[(db, table)], progress=progress)
                assert rows > 0
                cached[table] = cache.cached_count((db, table))
                cache.table_loaded((db, table), source.snapshot_positions[(db, table)])
        writer.wait_for(writer.transactions + 50)  # changes applied as they arrive
    finally:
        writer.stop()
        source.close()
    conn = binlog_server.connect()
    try:
        final.append(current_position(conn))
    finally:
        conn.close()
    _join(pump)

    assert during_copy and min(during_copy) >= 20, "the writer did not change the source during the copy"
    assert cached["events"] > 0, "changes to a table waiting for its load were not cached"
    _assert_identical(binlog_server, db, target)
    stats = applier.stats.by_table()
    for key in shapes:
        counters = stats[key]
        assert counters["Inserts"] + counters["Updates"] + counters["Deletes"] > 0
        for name in ("Inserts", "Updates", "Deletes"):
            assert counters[f"Applied{name}"] == counters[name]


def _loaded_pipeline(
    binlog_server: MySqlServer,
    address: DatabaseAddress,
    target: psycopg.Connection[Any],
    db: str,
) -> tuple[dict[TableKey, TableShape], dict[TableKey, BinlogPosition], BinlogPosition]:
    """Create and full-load the source (no writer); return shapes, snapshot positions and start."""
    create_source(binlog_server, db, orders=300, events=100)
    source = SnapshotMySqlSource(address)
    try:
        shapes = {(db, t): source.table_shape(db, t) for t in TABLES}
        start = source.binlog_position()
        for key, shape in shapes.items():
            load_table(source, target, *key, shape=shape)
        return shapes, dict(source.snapshot_positions), start
    finally:
        source.close()


def _source_position(server: MySqlServer) -> BinlogPosition:
    conn = server.connect()
    try:
        return current_position(conn)
    finally:
        conn.close()


def _applier(target: psycopg.Connection[Any], shapes: dict[TableKey, TableShape]) -> ChangeApplier:
    applier = binlog_applier(target, "task-resume", shapes)
    applier.ensure_control_table()
    return applier


def test_stop_and_resume_from_the_saved_position_loses_and_doubles_nothing(
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    target: psycopg.Connection[Any],
) -> None:
    db = binlog_database
    shapes, snapshots, start = _loaded_pipeline(binlog_server, binlog_address, target, db)
    writer = Writer(binlog_server, db)
    writer.run(200)

    # First run: stop after 60 source transactions, as StopReplicationTask would.
    applier = _applier(target, shapes)
    cache = FullLoadChangeCache(applier, shapes)
    for key, snapshot in snapshots.items():
        cache.table_loaded(key, snapshot)
    reader = BinlogChangeReader(binlog_address, shapes, start)
    processed = 0
    for transaction in reader.transactions():
        cache.process(transaction)
        processed += 1
        if processed == 60:
            break
    stopped_at = reader.position
    reader.close()
    assert applier.applied_position() == str(stopped_at)

    writer.run(200)  # the source goes on while the task is stopped
    writer.stop()
    final = _source_position(binlog_server)
    assert stopped_at < final

    # resume-processing: a new reader and applier from the position saved on the target.
    applier = _applier(target, shapes)
    saved = applier.applied_position()
    assert saved is not None
    resumed = BinlogPosition.parse(saved)
    cache = FullLoadChangeCache(applier, shapes)
    for key, snapshot in snapshots.items():
        cache.table_loaded(key, snapshot)
    _drain(BinlogChangeReader(binlog_address, shapes, resumed), cache, final)

    _assert_identical(binlog_server, db, target)  # the keyless table shows any doubled insert
    assert applier.applied_position() == str(final)


def test_truncate_is_applied_and_other_ddl_is_counted(
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    target: psycopg.Connection[Any],
) -> None:
    db = binlog_database
    shapes, snapshots, start = _loaded_pipeline(binlog_server, binlog_address, target, db)
    conn = binlog_server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("TRUNCATE TABLE events")
            cur.execute("INSERT INTO events VALUES ('after', 1)")
            cur.execute("ALTER TABLE orders ADD INDEX by_customer (customer)")
    finally:
        conn.close()
    final = _source_position(binlog_server)
    applier = binlog_applier(target, "task", shapes)
    cache = FullLoadChangeCache(applier, shapes)
    for key, snapshot in snapshots.items():
        cache.table_loaded(key, snapshot)
    _drain(BinlogChangeReader(binlog_address, shapes, start), cache, final)

    assert target_rows(target, db, "events") == source_rows(binlog_server, db, "events")
    assert sum(target_rows(target, db, "events").values()) == 1
    stats = applier.stats.by_table()
    assert (stats[(db, "events")]["Ddls"], stats[(db, "events")]["AppliedDdls"]) == (1, 1)
    assert (stats[(db, "orders")]["Ddls"], stats[(db, "orders")]["AppliedDdls"]) == (1, 0)


def test_a_column_added_on_the_source_stops_the_reader_with_the_fix(
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    target: psycopg.Connection[Any],
) -> None:
    db = binlog_database
    shapes, snapshots, start = _loaded_pipeline(binlog_server, binlog_address, target, db)
    conn = binlog_server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE events ADD COLUMN extra INT")
            cur.execute("INSERT INTO events VALUES ('new', 1, 2)")
    finally:
        conn.close()
    final = _source_position(binlog_server)
    cache = FullLoadChangeCache(binlog_applier(target, "task", shapes), shapes)
    for key, snapshot in snapshots.items():
        cache.table_loaded(key, snapshot)
    with pytest.raises(BinlogReadError, match=rf"Table {db}\.events has 3 columns .* Reload the table"):
        _drain(BinlogChangeReader(binlog_address, shapes, start), cache, final)


TYPED = """
CREATE TABLE typed (
    id INT PRIMARY KEY, tiny TINYINT, small SMALLINT UNSIGNED, med MEDIUMINT, i INT UNSIGNED,
    big BIGINT, ubig BIGINT UNSIGNED, dec20 DECIMAL(20,6), f FLOAT, d DOUBLE, flag TINYINT(1),
    b1 BIT(1), b9 BIT(9), c CHAR(3), vc VARCHAR(20), tx MEDIUMTEXT, bin BINARY(4), vb VARBINARY(10),
    bl LONGBLOB, dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME, yr YEAR,
    e ENUM('a','b'), s SET('x','y','z'), j JSON
)
"""
INSERT_TYPED = (
    "INSERT INTO typed VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
TYPED_ROWS = [
    (1, -128, 65535, -8388608, 4294967295, -(2**63), 2**64 - 1, "-12345678901234.123456", 1.5, -2.25e300,
     1, 1, 300, "ab", "ñ", "☕" * 3, b"\x00\x01\x02\x03", b"\xff", b"\x00" * 70_000, "1999-12-31",
     "2024-02-29 23:59:59.999999", "2024-06-01 12:00:00.125", "23:59:58", 2155, "b", "x,z",
     '{"k": [1, "two", null]}'),
    (2, *[None] * 26),
]  # fmt: skip


def test_cdc_values_equal_the_full_load_values_for_every_type(
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    pg_server: PgServer,
    make_pg_database: Callable[[], str],
) -> None:
    db = binlog_database
    conn = binlog_server.connect(db)
    with conn.cursor() as cur:
        cur.execute(TYPED)
    source = SnapshotMySqlSource(binlog_address)
    shapes = {(db, "typed"): source.table_shape(db, "typed")}
    start = source.binlog_position()
    replicated, reloaded = make_pg_database(), make_pg_database()
    with psycopg.connect(pg_server.dsn(replicated), autocommit=True) as target:
        load_table(source, target, db, "typed", shape=shapes[(db, "typed")])
        with conn.cursor() as cur:
            cur.executemany(INSERT_TYPED, TYPED_ROWS)
            cur.execute("UPDATE typed SET vc = 'changed', s = '' WHERE id = 1")
        conn.close()
        cache = FullLoadChangeCache(binlog_applier(target, "task", shapes), shapes)
        cache.table_loaded((db, "typed"), source.snapshot_positions[(db, "typed")])
        _drain(BinlogChangeReader(binlog_address, shapes, start), cache, _source_position(binlog_server))
        by_cdc = target.execute(f'SELECT * FROM "{db}".typed ORDER BY id').fetchall()  # noqa: S608
    with psycopg.connect(pg_server.dsn(reloaded)) as target:
        load_table(source, target, db, "typed", shape=shapes[(db, "typed")])
        by_full_load = target.execute(f'SELECT * FROM "{db}".typed ORDER BY id').fetchall()  # noqa: S608
    source.close()
    assert len(by_cdc) == 2
    assert by_cdc == by_full_load


def test_a_stop_inside_a_transaction_reads_it_whole_next_time(
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    target: psycopg.Connection[Any],
) -> None:
    db = binlog_database
    shapes, _, start = _loaded_pipeline(binlog_server, binlog_address, target, db)
    conn = binlog_server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("INSERT INTO events VALUES ('first', 1)")
            cur.execute("INSERT INTO events VALUES ('second', 2)")
            cur.execute("COMMIT")
    finally:
        conn.close()
    final = _source_position(binlog_server)
    reader = BinlogChangeReader(binlog_address, shapes, start)
    checks = iter([False, True])  # stop right after the transaction's first row event
    assert list(reader.transactions(stop=lambda: next(checks, True))) == []
    assert reader.position == start
    (transaction,) = list(reader.transactions(until=final))
    reader.close()
    assert [_after(c) for c in transaction.changes] == [("first", 1), ("second", 2)]
    assert transaction.end == final


def test_a_transaction_with_savepoints_arrives_as_one_transaction(
    binlog_server: MySqlServer,
    binlog_database: str,
    binlog_address: DatabaseAddress,
    target: psycopg.Connection[Any],
) -> None:
    db = binlog_database
    shapes, _, start = _loaded_pipeline(binlog_server, binlog_address, target, db)
    conn = binlog_server.connect(db)
    try:
        with conn.cursor() as cur:
            for statement in (
                "BEGIN",
                "INSERT INTO events VALUES ('kept', 1)",
                "SAVEPOINT before_undone",
                "INSERT INTO events VALUES ('undone', 2)",
                "ROLLBACK TO SAVEPOINT before_undone",
                "INSERT INTO events VALUES ('kept', 3)",
                "COMMIT",
            ):
                cur.execute(statement)
    finally:
        conn.close()
    final = _source_position(binlog_server)
    reader = BinlogChangeReader(binlog_address, shapes, start)
    transactions = list(reader.transactions(until=final))
    reader.close()
    assert [[_after(c) for c in t.changes] for t in transactions] == [[("kept", 1), ("kept", 3)]]

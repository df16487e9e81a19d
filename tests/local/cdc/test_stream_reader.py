"""The streaming-protocol slot reader against a real PostgreSQL with logical decoding: the slot
moves only past what was confirmed, a rewind or a new reader streams again from there, and a
closed stream leaves the slot free."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.cdc.errors import CdcError
from airflow_neon_dms.local.cdc.slots import create_slot, drop_slot
from airflow_neon_dms.local.cdc.stream_reader import StreamingSlotReader, open_reader
from airflow_neon_dms.local.cdc.test_decoding import RowChange, SourceTransaction
from tests.local.cdc.support import connect
from tests.logical_postgres import LogicalPg

SLOT = "stream_reader_test"
LIMIT_SECONDS = 60


@pytest.fixture
def source(logical_pg: LogicalPg, make_logical_database: Callable[[], str]) -> Iterator[str]:
    database = make_logical_database()
    with connect(logical_pg, database) as conn:
        conn.execute("CREATE TABLE items (id integer PRIMARY KEY, name text)")
    create_slot(logical_pg.address(database), SLOT).release()
    yield database
    with connect(logical_pg, database) as conn:
        drop_slot(conn, SLOT)


@pytest.fixture
def readers(logical_pg: LogicalPg, source: str) -> Iterator[Callable[[], StreamingSlotReader]]:
    made: list[StreamingSlotReader] = []

    def make() -> StreamingSlotReader:
        reader = StreamingSlotReader(
            connect(logical_pg, source),
            SLOT,
            lambda: psycopg.connect(logical_pg.dsn(source), autocommit=True, replication="database"),
        )
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.close()


def _insert(pg: LogicalPg, database: str, *ids: int) -> None:
    with connect(pg, database) as conn:
        for id_ in ids:  # one transaction each
            conn.execute("INSERT INTO items VALUES (%s, %s)", [id_, f"n{id_}"])


def _receive(reader: StreamingSlotReader, count: int) -> list[SourceTransaction]:
    """At least ``count`` transactions, as the engine reads them."""
    got: list[SourceTransaction] = []
    deadline = time.monotonic() + LIMIT_SECONDS
    stop = threading.Event()
    while len(got) < count:
        assert time.monotonic() < deadline, f"received {len(got)} of {count} transactions"
        got.extend(reader.read()[0])
        reader.wait(stop, 0.05)
    return got


def _ids(transactions: list[SourceTransaction]) -> list[int]:
    out = []
    for txn in transactions:
        for change in txn.changes:
            assert isinstance(change, RowChange) and change.new is not None
            out.append(int(change.new[0].value))
    return out


def _slot(pg: LogicalPg, database: str) -> tuple[bool, int]:
    with connect(pg, database) as conn:
        row = conn.execute(
            "SELECT active, confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = %s",
            [SLOT],
        ).fetchone()
    assert row is not None
    return bool(row[0]), int(row[1])


def _wait_for(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + LIMIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_the_slot_moves_only_past_what_was_confirmed(
    logical_pg: LogicalPg, source: str, readers: Callable[[], StreamingSlotReader]
) -> None:
    before = _slot(logical_pg, source)[1]
    reader = readers()
    _insert(logical_pg, source, 1, 2, 3)
    received = _receive(reader, 3)
    assert _ids(received) == [1, 2, 3]
    time.sleep(0.5)  # status updates went out meanwhile: they report nothing past the start
    assert _slot(logical_pg, source)[1] == before
    reader.confirm(received[1].commit_lsn)
    _wait_for(lambda: _slot(logical_pg, source)[1] == received[1].commit_lsn, "the confirmed position")
    reader.close()
    assert _slot(logical_pg, source)[1] == received[1].commit_lsn
    _wait_for(lambda: not _slot(logical_pg, source)[0], "the slot to be free")
    # A new reader streams from the confirmed position: the third transaction comes again.
    again = readers()
    assert _ids(_receive(again, 1)) == [3]


def test_a_rewind_streams_again_what_was_not_confirmed(
    logical_pg: LogicalPg, source: str, readers: Callable[[], StreamingSlotReader]
) -> None:
    reader = readers()
    _insert(logical_pg, source, 1, 2)
    first = _receive(reader, 2)
    reader.confirm(first[0].commit_lsn)
    reader.rewind()  # as after a failed apply
    _insert(logical_pg, source, 3)
    assert _ids(_receive(reader, 2)) == [2, 3]


def test_a_lost_slot_fails_the_read_with_its_name(
    logical_pg: LogicalPg, source: str, readers: Callable[[], StreamingSlotReader]
) -> None:
    reader = readers()
    _insert(logical_pg, source, 1)
    _receive(reader, 1)
    reader.close()
    with connect(logical_pg, source) as conn:
        drop_slot(conn, SLOT)
    with pytest.raises(CdcError, match=SLOT):
        deadline = time.monotonic() + LIMIT_SECONDS
        while time.monotonic() < deadline:
            reader.read()
            reader.wait(threading.Event(), 0.05)
    create_slot(logical_pg.address(source), SLOT).release()  # for the fixture's drop


def test_a_utf8_source_is_streamed(logical_pg: LogicalPg, source: str) -> None:
    with connect(logical_pg, source) as conn:
        reader = open_reader(conn, SLOT, lambda: psycopg.connect(logical_pg.dsn(source)))
        assert isinstance(reader, StreamingSlotReader)

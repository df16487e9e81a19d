"""Support code for the CDC engine tests: a replication pipeline between two real databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc.apply import ChangeApplier
from airflow_neon_dms.local.cdc.engine import CdcEngine
from airflow_neon_dms.local.cdc.identity import read_identity
from airflow_neon_dms.local.cdc.lsn import parse_lsn
from airflow_neon_dms.local.cdc.slot_reader import SlotReader
from airflow_neon_dms.local.cdc.stats import ChangeStatistics
from airflow_neon_dms.local.cdc.stop_position import CdcStopPosition
from tests.logical_postgres import LogicalPg

#: Generous bound for a drain on a shared, slow machine; a hang fails instead of blocking forever.
DRAIN_LIMIT_SECONDS = 180


def connect(pg: LogicalPg, database: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """An autocommit connection whose commits are flushed at once (the server defaults to off),
    so logical decoding sees them without waiting for the WAL writer."""
    return psycopg.connect(pg.dsn(database), autocommit=True, options="-c synchronous_commit=on", **kwargs)


def same_names(schema: str, table: str) -> tuple[str, str] | None:
    """The mapping most tests use: every table lands under its own name."""
    return schema, table


@dataclass
class Pipeline:
    """Source and target databases, the slot's reader, the applier and the engine."""

    pg: LogicalPg
    source_db: str
    target_db: str
    slot_name: str
    task_name: str = "task"
    target_name: Callable[[str, str], tuple[str, str] | None] = same_names
    stop_position: CdcStopPosition | None = None
    stats: ChangeStatistics = field(default_factory=ChangeStatistics)
    connections: list[psycopg.Connection[Any]] = field(default_factory=list)
    #: The applier's task-log warnings (a keyless table's ignored UPDATE/DELETE).
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.source = self._conn(self.source_db)
        self.target = self._conn(self.target_db)
        catalog = self._conn(self.source_db)
        self.reader = SlotReader(self.source, self.slot_name)
        self.applier = ChangeApplier(
            self.target,
            self.task_name,
            target_name=self.target_name,
            identity=lambda s, t: read_identity(catalog, s, t),
            stats=self.stats,
            warn=self.warnings.append,
        )
        self.engine = CdcEngine(self.reader, self.applier, self.stats, stop_position=self.stop_position)
        self.engine.start()

    def _conn(self, database: str) -> psycopg.Connection[Any]:
        conn = connect(self.pg, database)
        self.connections.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.connections:
            conn.close()

    def drain(self, source: psycopg.Connection[Any]) -> None:
        """Apply everything committed on the source so far (flushes the source's WAL first)."""
        for conn in (source, self.target):
            conn.execute("CREATE TABLE IF NOT EXISTS cdc_mark (id bigserial PRIMARY KEY)")
        source.execute("SET synchronous_commit = on")
        row = source.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        mark = parse_lsn(row[0])
        source.execute("INSERT INTO cdc_mark DEFAULT VALUES")  # a commit after everything, flushed
        deadline = time.monotonic() + DRAIN_LIMIT_SECONDS
        while self.engine.reader.confirmed_lsn() <= mark:
            if not self.engine.poll():
                time.sleep(0.05)
            if self.engine.stop_reason:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the engine did not catch up with {mark:X} in {DRAIN_LIMIT_SECONDS}s")


def rows(conn: psycopg.Connection[Any], table: str, schema: str = "public") -> list[tuple[Any, ...]]:
    """Every row of a table as text, sorted: equal lists mean equal tables (duplicates count)."""
    query = sql.SQL("SELECT t::text FROM {}.{} t ORDER BY 1").format(
        sql.Identifier(schema), sql.Identifier(table)
    )
    return [r[0] for r in conn.execute(query).fetchall()]


def copy_in_snapshot(
    source: psycopg.Connection[Any],
    target: psycopg.Connection[Any],
    snapshot: str,
    table: str,
    schema: str = "public",
) -> int:
    """A full load of one table as of the slot's exported snapshot (COPY out, COPY in)."""
    from airflow_neon_dms.local.cdc.slots import snapshot_transaction

    name = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    copied = 0
    with snapshot_transaction(source, snapshot), target.transaction():
        with (
            source.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(name)) as out,
            target.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(name)) as into,
        ):
            for data in out:
                into.write(data)
                copied += 1
    return copied


class Writer(threading.Thread):
    """Inserts, updates and deletes rows of ``public.items`` in small transactions until stopped."""

    def __init__(self, pg: LogicalPg, database: str, *, first_id: int = 1_000_000) -> None:
        super().__init__(daemon=True)
        self.pg = pg
        self.database = database
        self.next_id = first_id
        self.stop_event = threading.Event()
        self.transactions = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connect(self.pg, self.database) as conn:
                while not self.stop_event.is_set():
                    with conn.transaction():
                        i = self.next_id
                        self.next_id += 3
                        conn.execute(
                            "INSERT INTO items VALUES (%s, %s, 0), (%s, %s, 0)",
                            [i, f"w{i}", i + 1, f"w{i + 1}"],
                        )
                        conn.execute("UPDATE items SET n = n + 1, name = name || '''' WHERE id = %s", [i])
                        conn.execute("DELETE FROM items WHERE id = %s", [i + 1])
                        conn.execute("UPDATE items SET n = n + 1 WHERE id = (SELECT min(id) FROM items)")
                        conn.execute(
                            "DELETE FROM items WHERE id = (SELECT max(id) FROM items WHERE id < 1000)"
                        )
                    self.transactions += 1
        except BaseException as err:  # reported by stop()
            self.error = err

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=60)
        if self.error:
            raise self.error


def create_items(conns: Iterable[psycopg.Connection[Any]], rows_count: int = 0) -> None:
    """``public.items`` on each connection; the first gets ``rows_count`` rows."""
    for n, conn in enumerate(conns):
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)")
        if n == 0 and rows_count:
            conn.execute(
                "INSERT INTO items SELECT g, 'row ' || g, 0 FROM generate_series(1, %s) g", [rows_count]
            )

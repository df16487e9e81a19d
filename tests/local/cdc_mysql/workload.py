"""A source schema, a writer that changes it, and a row-by-row source/target comparison."""

from __future__ import annotations

import datetime
import json
import random
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.identifiers import mysql_identifier, mysql_qualified
from tests.conftest import MySqlServer

SCHEMA = """
CREATE TABLE {db}.orders (
    id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2),
    status ENUM('new','paid','shipped'), flags SET('gift','rush'), paid TINYINT(1), note TEXT,
    payload BLOB, placed DATETIME(3), doc JSON, bits BIT(3), big BIGINT UNSIGNED
) ENGINE=InnoDB;
CREATE TABLE {db}.events (kind VARCHAR(10), n INT) ENGINE=InnoDB
"""
TABLES = ("orders", "events")
KINDS = ("click", "view", "buy", "héllo")


def _order(rng: random.Random) -> tuple[Any, ...]:
    return (
        rng.choice(["Zoë", "日本語", "O'Brien", "plain"]) + str(rng.randint(0, 999)),
        Decimal(rng.randint(0, 10**8)) / 100,
        rng.choice(["new", "paid", "shipped", None]),
        rng.choice(["", "gift", "rush", "gift,rush"]),
        rng.choice([0, 1, None]),
        rng.choice([None, "naïve café ☕", "x" * rng.randint(0, 300)]),
        rng.choice([None, bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))]),
        datetime.datetime(2024, 1, 1) + datetime.timedelta(milliseconds=rng.randint(0, 10**10)),
        rng.choice([None, json.dumps({"tier": rng.choice(["gold", "tin"]), "n": rng.randint(0, 9)})]),
        rng.randint(0, 7),
        rng.choice([0, 18446744073709551615, rng.randint(0, 2**63)]),
    )


INSERT_ORDER = (
    "INSERT INTO orders (customer, amount, status, flags, paid, note, payload, placed, doc, bits, big) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def create_source(server: MySqlServer, db: str, orders: int, events: int, seed: int = 1) -> None:
    """Create the tables and fill them with ``orders`` and ``events`` rows."""
    rng = random.Random(seed)
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            for statement in SCHEMA.format(db=mysql_identifier(db)).split(";"):
                cur.execute(statement)
            rows = [_order(rng) for _ in range(orders)]
            for start in range(0, len(rows), 2000):
                cur.executemany(INSERT_ORDER, rows[start : start + 2000])
            cur.executemany(
                "INSERT INTO events VALUES (%s, %s)",
                [(rng.choice(KINDS), rng.randint(0, 5)) for _ in range(events)],
            )
    finally:
        conn.close()


class Writer:
    """Changes the source in transactions of one to four statements; counts what it did."""

    def __init__(self, server: MySqlServer, db: str, seed: int = 2) -> None:
        self.conn = server.connect(db)
        self.rng = random.Random(seed)
        with self.conn.cursor() as cur:
            cur.execute("SELECT id FROM orders")
            self.ids = [int(r[0]) for r in cur.fetchall()]
        self.transactions = 0
        self.statements = 0
        self.moved = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _statement(self, cur: Any) -> None:
        rng = self.rng
        action = rng.random()
        if action < 0.35 or not self.ids:
            cur.execute(INSERT_ORDER, _order(rng))
            self.ids.append(int(cur.lastrowid))
        elif action < 0.6:
            values = _order(rng)
            cur.execute(
                "UPDATE orders SET amount = %s, status = %s, doc = %s, bits = %s, note = %s WHERE id = %s",
                (values[1], values[2], values[8], values[9], values[5], rng.choice(self.ids)),
            )
        elif action < 0.7:  # a key change, to an id AUTO_INCREMENT never gives
            self.moved += 1
            cur.execute("UPDATE orders SET id = %s WHERE id = %s", (-self.moved, self.ids[-1]))
            self.ids[-1] = -self.moved
        elif action < 0.8:
            victim = self.ids.pop(rng.randrange(len(self.ids)))
            cur.execute("DELETE FROM orders WHERE id = %s", (victim,))
        elif action < 0.9:
            cur.execute("INSERT INTO events VALUES (%s, %s)", (rng.choice(KINDS), rng.randint(0, 5)))
        elif action < 0.95:
            cur.execute("UPDATE events SET n = n + 1 WHERE kind = %s LIMIT 1", (rng.choice(KINDS),))
        else:
            cur.execute("DELETE FROM events WHERE kind = %s LIMIT 1", (rng.choice(KINDS),))
        self.statements += 1

    def run(self, transactions: int) -> None:
        """Commit ``transactions`` more source transactions."""
        for _ in range(transactions):
            with self.conn.cursor() as cur:
                cur.execute("BEGIN")
                for _ in range(self.rng.randint(1, 4)):
                    self._statement(cur)
                cur.execute("COMMIT")
            self.transactions += 1

    def start(self) -> None:
        """Write in a thread until ``stop()``."""

        def loop() -> None:
            try:
                while not self._stop.is_set():
                    self.run(1)
            except BaseException as err:  # reported by wait_for
                self.error = err

        self._thread = threading.Thread(target=loop, name="source-writer", daemon=True)
        self._thread.start()

    def wait_for(self, transactions: int, timeout: float = 120) -> None:
        """Wait until the writer thread has committed ``transactions`` in all."""
        deadline = time.monotonic() + timeout
        while self.transactions < transactions:
            assert self.error is None, f"the source writer failed: {self.error}"
            assert time.monotonic() < deadline, "the source writer made no progress"
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.conn.close()


def _normal(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def source_rows(server: MySqlServer, db: str, table: str) -> Counter[tuple[Any, ...]]:
    """The table's rows on the source as a multiset of normalised tuples."""
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {mysql_qualified(db, table)}")  # noqa: S608
            return Counter(tuple(_normal(v) for v in row) for row in cur.fetchall())
    finally:
        conn.close()


def target_rows(target: psycopg.Connection[Any], schema: str, table: str) -> Counter[tuple[Any, ...]]:
    """The table's rows on the PostgreSQL target as a multiset of normalised tuples."""
    rows = target.execute(
        sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    ).fetchall()
    return Counter(tuple(_normal(v) for v in row) for row in rows)

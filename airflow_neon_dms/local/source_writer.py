"""An application writing to the demo's source database while a CDC migration runs.

``SourceWriter`` is a thread that, until stopped, commits small transactions against the shop
source (``sample_data``) at a steady rate: new customers, orders with their items and page views
(each moving a sequence), updated loyalty points and order statuses, edited and deleted page
views (the keyless table, replicated through ``REPLICA IDENTITY FULL``). ``stop_after_full_load``
keeps it writing through the full load and a while after, as a live application would, and then
stops it, so an unattended (quiet) cutover can follow.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from types import TracebackType

import psycopg

log = logging.getLogger(__name__)


class SourceWriter:
    """Commits ``rate`` transactions a second to the source at ``dsn`` on its own thread."""

    def __init__(self, dsn: str, *, rate: float = 20.0, seed: int = 7) -> None:
        if rate <= 0:
            raise ValueError(f"The writer's rate must be positive, not {rate!r} transactions a second.")
        self.dsn = dsn
        self.rate = rate
        self.transactions = 0
        self.changes = 0
        self.error: BaseException | None = None
        self.stopped_at: float | None = None
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="source-writer", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> SourceWriter:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop writing and wait for the last transaction to commit; raise what the writer hit."""
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            raise RuntimeError(f"The source writer failed: {self.error}") from self.error

    def stop_when(self, condition: Callable[[], bool], *, then_seconds: float, poll: float = 1.0) -> None:
        """On another thread: once ``condition()`` holds, keep writing ``then_seconds``, then stop."""

        def watch() -> None:
            while not self._stop.is_set():
                try:
                    if condition():
                        break
                except Exception as err:  # a failed look is retried: the writer must still stop
                    log.debug("writer stop condition not readable yet: %s", err)
                self._stop.wait(poll)
            self._stop.wait(then_seconds)
            self._stop.set()

        threading.Thread(target=watch, name="source-writer-stop", daemon=True).start()

    def __enter__(self) -> SourceWriter:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    # -- writing -----------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                ids = self._ids(conn)
                pause = 1.0 / self.rate
                while not self._stop.is_set():
                    with conn.transaction():
                        self.changes += self._one(conn, ids)
                    self.transactions += 1
                    self._stop.wait(pause)
        except BaseException as err:  # reported by stop()
            self.error = err
        finally:
            self.stopped_at = time.time()

    @staticmethod
    def _ids(conn: psycopg.Connection) -> dict[str, list[int]]:
        return {
            "customers": [int(r[0]) for r in conn.execute("SELECT id FROM customers").fetchall()],
            "products": [int(r[0]) for r in conn.execute("SELECT id FROM products").fetchall()],
        }

    def _one(self, conn: psycopg.Connection, ids: dict[str, list[int]]) -> int:
        """One application transaction; returns how many rows it changed."""
        pick = self._random.choice
        kind = self.transactions % 4
        if kind == 0:
            row = conn.execute(
                "INSERT INTO customers (email, full_name, country, created_at, is_active, loyalty_points) "
                "VALUES (%s, %s, 'DE', now(), true, 0) RETURNING id",
                [f"writer-{self.transactions}-{self._random.getrandbits(32)}@example.com", "Live Writer"],
            ).fetchone()
            assert row is not None
            ids["customers"].append(int(row[0]))
            conn.execute(
                "INSERT INTO page_views (viewed_at, path, customer_id, referrer) "
                "VALUES (now(), '/signup', %s, NULL)",
                [row[0]],
            )
            return 2
        if kind == 1:
            order = conn.execute(
                "INSERT INTO orders (customer_id, status, placed_at, total, notes) "
                "VALUES (%s, 'new', now(), 0, 'placed while migrating') RETURNING id",
                [pick(ids["customers"])],
            ).fetchone()
            assert order is not None
            lines = self._random.randint(1, 3)
            for line in range(1, lines + 1):
                conn.execute(
                    "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price) "
                    "VALUES (%s, %s, %s, %s, 9.99)",
                    [order[0], line, pick(ids["products"]), self._random.randint(1, 5)],
                )
            conn.execute(
                "UPDATE orders SET total = (SELECT sum(quantity * unit_price) FROM order_items "
                "WHERE order_id = %s) WHERE id = %s",
                [order[0], order[0]],
            )
            return lines + 2
        if kind == 2:
            changed = conn.execute(
                "UPDATE customers SET loyalty_points = coalesce(loyalty_points, 0) + 10 WHERE id = %s",
                [pick(ids["customers"])],
            ).rowcount
            changed += conn.execute(
                "UPDATE orders SET status = 'shipped' "
                "WHERE id = (SELECT min(id) FROM orders WHERE status <> 'shipped')"
            ).rowcount
            return changed
        # the keyless table: one edited, one deleted page view (matched on the whole old row)
        changed = conn.execute(
            "UPDATE page_views SET referrer = 'https://example.com/live' "
            "WHERE ctid = (SELECT ctid FROM page_views WHERE referrer IS DISTINCT FROM "
            "'https://example.com/live' LIMIT 1)"
        ).rowcount
        changed += conn.execute(
            "DELETE FROM page_views "
            "WHERE ctid = (SELECT ctid FROM page_views WHERE path <> '/signup' LIMIT 1)"
        ).rowcount
        return changed

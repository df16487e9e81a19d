"""Read whole source transactions from a logical slot, and confirm them once applied.

``pg_logical_slot_peek_changes`` decodes without consuming: until ``confirm`` moves the slot
(``pg_replication_slot_advance``), the same transactions come back on the next read. The caller
confirms a transaction only after the target committed it, so a crash in between replays it, and
the applier's control table (``apply.ChangeApplier``) recognises it as applied.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from airflow_neon_dms.local.cdc.lsn import format_lsn, parse_lsn
from airflow_neon_dms.local.cdc.test_decoding import SourceTransaction, iter_transactions

#: Decoded lines per read; a transaction larger than this is read with a larger limit.
BATCH_ROWS = 10_000


class SlotReader:
    """Peeks and confirms one ``test_decoding`` slot on a source connection (autocommit)."""

    def __init__(
        self, conn: psycopg.Connection[Any], slot_name: str, *, batch_rows: int = BATCH_ROWS
    ) -> None:
        self.conn = conn
        self.slot_name = slot_name
        self.batch_rows = batch_rows
        #: Commit times are printed in the session's time zone; UTC keeps them unambiguous.
        conn.execute("SET TIME ZONE 'UTC'")

    def _peek(self, limit: int) -> list[tuple[str, object, str]]:
        rows = self.conn.execute(
            "SELECT lsn::text, xid::text, data FROM pg_logical_slot_peek_changes(%s, NULL, %s, "
            "'include-xids', '1', 'include-timestamp', '1', 'skip-empty-xacts', '1')",
            [self.slot_name, limit],
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def read(self) -> tuple[Iterator[SourceTransaction], bool]:
        """The next committed transactions after the confirmed position, and whether more wait.

        Returns (transactions, more): ``more`` is True when the read stopped at its row limit.
        The transactions are parsed as they are taken, so the target can apply the first ones
        while the rest are parsed.
        """
        limit = self.batch_rows
        while True:
            rows = self._peek(limit)
            full = len(rows) >= limit
            if not full or any(data.startswith("COMMIT") for _, _, data in rows):
                return iter_transactions(rows), full
            limit *= 2  # one transaction bigger than the limit: read it whole

    def confirmed_lsn(self) -> int:
        row = self.conn.execute(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
            [self.slot_name],
        ).fetchone()
        if row is None or row[0] is None:
            raise LookupError(f"Replication slot {self.slot_name} does not exist on the source")
        return parse_lsn(row[0])

    def confirm(self, lsn: int) -> None:
        """Move the slot past every transaction that committed up to ``lsn`` (never backwards)."""
        if lsn > self.confirmed_lsn():
            self.conn.execute(
                "SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", [self.slot_name, format_lsn(lsn)]
            )

    def wait(self, stop: threading.Event, timeout: float) -> None:
        """Wait before the next read of an idle slot (until ``stop`` is set, at most ``timeout``)."""
        stop.wait(timeout)

    def rewind(self) -> None:
        """Forget what was read and not confirmed (a peek reads it again anyway)."""

    def close(self) -> None:
        """Nothing to end: the reads share the caller's connection."""

    def source_time(self) -> Any:
        """The source server's clock (for ``commit_time`` stop positions)."""
        row = self.conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]

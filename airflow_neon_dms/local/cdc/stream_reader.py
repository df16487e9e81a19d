"""Read a logical slot over the streaming replication protocol, as a replica (and DMS) does.

``SlotReader`` peeks the slot through SQL: every read decodes the WAL again from the slot's
restart point, and moving the slot decodes it once more. Here the source's walsender decodes each
change once and sends it as it commits (PostgreSQL's "Streaming Replication Protocol":
``START_REPLICATION SLOT ... LOGICAL``, then ``XLogData`` and keepalive messages in COPY BOTH
mode, answered by standby status updates). A thread of its own receives and parses the
``test_decoding`` lines while the engine applies what came before.

The slot moves only when the engine confirms a transaction the target committed: the status
update reports that position as flushed, nothing further. A failed apply (``rewind``) or a new
reader starts the stream again from the last confirmed position, so what was received but not
applied comes again; the engine skips what its position row shows as applied.

The protocol runs on psycopg's libpq layer (``psycopg.pq``) on a ``replication=database``
connection; nothing else uses that connection.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import select
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import psycopg
from psycopg import pq

from airflow_neon_dms.local.cdc.errors import CdcError
from airflow_neon_dms.local.cdc.lsn import format_lsn
from airflow_neon_dms.local.cdc.slot_reader import BATCH_ROWS, SlotReader
from airflow_neon_dms.local.cdc.test_decoding import SourceTransaction, iter_transactions

#: Changes received and not yet taken by the engine, past which the stream waits (the source's
#: walsender then waits on the socket, as it would for a slow replica).
MAX_BUFFERED = 100_000
#: Seconds between standby status updates when nothing new was confirmed (the server's
#: wal_receiver_status_interval default; wal_sender_timeout is 60 s).
STATUS_INTERVAL = 10.0
#: Seconds the reader waits on the socket before it looks at what to send.
WAKE_INTERVAL = 0.02
#: A wake that found fewer messages than this waits ``BATCH_WAIT`` seconds before the next.
BATCH_MESSAGES = 64
BATCH_WAIT = 0.001
#: Seconds a new stream keeps trying while the slot is still held by the previous one.
SLOT_BUSY_SECONDS = 15.0
#: SQLSTATE object_in_use: "replication slot ... is active for PID ...".
_OBJECT_IN_USE = "55006"
_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=timezone.utc)
_OPTIONS = "\"include-xids\" '1', \"include-timestamp\" '1', \"skip-empty-xacts\" '1'"


class StreamingSlotReader(SlotReader):
    """``SlotReader``'s interface over the streaming protocol (see the module docstring).

    ``conn`` is an ordinary autocommit connection (slot position, source clock);
    ``connect_replication`` opens a ``replication=database`` connection for the stream.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        slot_name: str,
        connect_replication: Callable[[], psycopg.Connection[Any]],
        *,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        super().__init__(conn, slot_name, batch_rows=batch_rows)
        self.connect_replication = connect_replication
        self._ready: collections.deque[list[tuple[int, object, str]]] = collections.deque()
        self._buffered = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._error: BaseException | None = None
        #: The last position the engine confirmed: what the stream reports as flushed.
        self._flushed = 0
        self._reported = -1

    # --- the engine's side -------------------------------------------------------------------
    def read(self) -> tuple[Iterator[SourceTransaction], bool]:
        """The transactions received since the last read (about ``batch_rows`` changes at most)."""
        self._ensure_started()
        taken: list[list[tuple[int, object, str]]] = []
        with self._cond:
            if self._error is not None and not self._ready:
                error, self._error = self._error, None
                self._thread = None
                raise CdcError(f"The replication stream of slot {self.slot_name} ended: {error}") from error
            rows = 0
            while self._ready and rows < self.batch_rows:
                txn = self._ready.popleft()
                taken.append(txn)
                rows += len(txn)
            self._buffered -= rows
            more = bool(self._ready)
            self._cond.notify_all()
        # parsed here, as the engine takes them: one thread does the Python work
        return iter_transactions(itertools.chain.from_iterable(taken)), more

    def wait(self, stop: threading.Event, timeout: float) -> None:
        """Until a transaction arrives, the stream fails, or ``timeout`` passes."""
        self._ensure_started()
        with self._cond:
            self._cond.wait_for(
                lambda: bool(self._ready) or self._error is not None or stop.is_set(), timeout
            )

    def confirm(self, lsn: int) -> None:
        """The target committed everything up to ``lsn``: report it as flushed (never backwards)."""
        self._flushed = max(self._flushed, lsn)

    def rewind(self) -> None:
        """Drop what was received and not applied; the next read streams again from the last
        confirmed position."""
        self._stop_thread()
        with self._cond:
            self._ready.clear()
            self._buffered = 0
            self._error = None

    def close(self) -> None:
        """Report the last confirmed position and end the stream; returns once the slot is free
        (the source's walsender ends a moment after the stream's connection closes)."""
        streamed = self._thread is not None
        self._stop_thread()
        deadline = time.monotonic() + SLOT_BUSY_SECONDS
        while streamed and not self.conn.closed and time.monotonic() < deadline:
            try:
                row = self.conn.execute(
                    "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", [self.slot_name]
                ).fetchone()
            except psycopg.Error:
                return  # the source is gone: nothing to wait for
            if row is None or row[0] is None:
                return
            time.sleep(0.02)

    # --- the stream's thread -----------------------------------------------------------------
    def _ensure_started(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"cdc-stream-{self.slot_name}", daemon=True
            )
            self._thread.start()

    def _stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            with self._cond:
                self._cond.notify_all()
            thread.join(timeout=30)

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        try:
            conn = self._start_stream()
            rows: list[tuple[int, object, str]] = []
            for row in self._messages(conn.pgconn):
                rows.append(row)
                if row[2].startswith("COMMIT"):
                    with self._cond:
                        self._ready.append(rows)
                        self._buffered += len(rows)
                        self._cond.notify_all()
                    rows = []
        except BaseException as err:  # handed to the engine's next read
            if not self._stopping.is_set():
                with self._cond:
                    self._error = err
                    self._cond.notify_all()
        finally:
            if conn is not None:
                # the last confirmed position, unless the server already ended the stream (a
                # dropped slot or database, a shutdown)
                with contextlib.suppress(psycopg.Error):
                    self._report(conn.pgconn, force=True)
                conn.close()

    def _start_stream(self) -> psycopg.Connection[Any]:
        start = format_lsn(self._flushed) if self._flushed else "0/0"
        command = f'START_REPLICATION SLOT "{self.slot_name}" LOGICAL {start} ({_OPTIONS})'.encode()
        deadline = time.monotonic() + SLOT_BUSY_SECONDS
        while True:
            conn = self.connect_replication()
            pgconn = conn.pgconn
            pgconn.send_query(command)
            result = pgconn.get_result()
            if result is not None and result.status == pq.ExecStatus.COPY_BOTH:
                return conn
            state = result.error_field(pq.DiagnosticField.SQLSTATE) if result is not None else None
            message = (result.error_message if result is not None else pgconn.error_message).decode(
                errors="replace"
            )
            conn.close()
            if state == _OBJECT_IN_USE.encode() and time.monotonic() < deadline:
                time.sleep(0.1)  # the previous stream's walsender is still exiting
                continue
            raise CdcError(message.strip() or "START_REPLICATION failed")

    def _messages(self, pgconn: pq.abc.PGconn) -> Iterator[tuple[int, object, str]]:
        """(data start LSN, None, text) of every XLogData message, answering the server meanwhile.

        Each wake takes every complete message libpq holds or the socket has ready; when a wake
        found only a few, the next waits ``BATCH_WAIT`` more so that it finds more (the walsender
        writes each change as it decodes it: waking for every few would cost more than reading).
        """
        last_status = 0.0
        get = pgconn.get_copy_data
        while not self._stopping.is_set():
            now = time.monotonic()
            if self._flushed != self._reported or now - last_status >= STATUS_INTERVAL:
                self._report(pgconn)
                last_status = now
            if self._buffered >= MAX_BUFFERED:
                with self._cond:
                    self._cond.wait(WAKE_INTERVAL)
                continue
            taken = 0
            while True:
                size, data = get(1)
                if size == 0:
                    pgconn.consume_input()  # what the socket has, without waiting
                    size, data = get(1)
                if size <= 0:
                    break
                taken += 1
                kind = data[0]
                if kind == 0x77:  # 'w': XLogData
                    yield int.from_bytes(data[1:9], "big"), None, str(data[25:], "utf-8")
                elif kind == 0x6B and data[17]:  # 'k': keepalive that asks for a reply now
                    self._report(pgconn, force=True)
                    last_status = time.monotonic()
            if size < 0:
                result = pgconn.get_result()
                detail = result.error_message.decode(errors="replace") if result is not None else ""
                raise CdcError(detail.strip() or pgconn.error_message.decode(errors="replace").strip())
            if taken and taken < BATCH_MESSAGES:
                time.sleep(BATCH_WAIT)
            else:
                select.select([pgconn.socket], [], [], WAKE_INTERVAL)

    def _report(self, pgconn: pq.abc.PGconn, *, force: bool = False) -> None:
        """A standby status update: written, flushed and applied all at the confirmed position."""
        if not force and self._flushed == self._reported:
            return
        position = self._flushed
        clock = int((datetime.now(timezone.utc) - _EPOCH_2000).total_seconds() * 1_000_000)
        message = b"r" + b"".join(position.to_bytes(8, "big") for _ in range(3))
        message += clock.to_bytes(8, "big", signed=True) + b"\x00"
        if pgconn.put_copy_data(message) == 1:
            pgconn.flush()
            self._reported = position


def open_reader(
    conn: psycopg.Connection[Any],
    slot_name: str,
    connect_replication: Callable[[], psycopg.Connection[Any]],
) -> SlotReader:
    """The streaming reader on a UTF8 source (its messages are decoded as UTF-8); elsewhere the
    SQL interface, whose text PostgreSQL converts to the client's encoding."""
    row = conn.execute("SELECT current_setting('server_encoding')").fetchone()
    if row is not None and row[0] == "UTF8":
        return StreamingSlotReader(conn, slot_name, connect_replication)
    return SlotReader(conn, slot_name)

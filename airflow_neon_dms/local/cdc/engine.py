"""The CDC loop of one replication task: read the slot, apply or cache, confirm, stop.

Typical use (``cdc_capture.PostgresCapture`` does this for a task; see docs/emulator.md):

    slot = create_slot(source, slot_name_for_task(task_id), plugin_setting=plugin_name)
    engine = CdcEngine(SlotReader(source_conn, slot.slot_name), applier, stats)
    engine.start()
    engine.cache_changes_for(selected_tables)        # every table is still to be loaded
    # full load of each table inside snapshot_transaction(conn, slot.snapshot_name), then:
    engine.apply_cached(table)                       # before marking it "Table completed"
    slot.release()                                   # once every table is loaded
    engine.run(stop_event)                           # until StopReplicationTask or a stop position

Changes of a table still in full load (or not yet started) are cached in memory, in commit order,
and applied when ``apply_cached`` says the table is loaded: the load read the snapshot at the
slot's consistent point, the cache holds exactly what committed after it.

A table loaded later from another snapshot (a reload while the task runs, or a table left
unfinished when a stopped task resumes) takes a temporary slot's exported snapshot and passes its
consistent point as ``loaded_at``: the changes the stream delivers for that table up to that point
are already in the load and are dropped, cached or not; later ones are applied.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone

from airflow_neon_dms.local.cdc.apply import ChangeApplier, PendingTransaction
from airflow_neon_dms.local.cdc.changes import layout_of
from airflow_neon_dms.local.cdc.errors import ApplyError
from airflow_neon_dms.local.cdc.lsn import Lsn, parse_lsn
from airflow_neon_dms.local.cdc.slot_reader import SlotReader
from airflow_neon_dms.local.cdc.stats import ChangeStatistics, Table, counter_name, tables_of
from airflow_neon_dms.local.cdc.stop_position import CdcStopPosition
from airflow_neon_dms.local.cdc.test_decoding import Change, RowChange, SourceTransaction, Truncate

#: The captured counter of each row kind (``stats.counter_name``).
_CAPTURED = {"INSERT": "inserts", "UPDATE": "updates", "DELETE": "deletes"}

#: Seconds between two reads of the slot when nothing was waiting.
POLL_INTERVAL = 0.2


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CdcEngine:
    """Replicates one slot's changes to the target through a ChangeApplier."""

    def __init__(
        self,
        reader: SlotReader,
        applier: ChangeApplier,
        stats: ChangeStatistics,
        *,
        stop_position: CdcStopPosition | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.reader = reader
        self.applier = applier
        self.stats = stats
        self.stop_position = stop_position
        self.clock = clock
        #: Set when a CdcStopPosition stopped the engine: the task's StopReason.
        self.stop_reason: str | None = None
        self._lock = threading.RLock()
        #: Per loading table: (commit LSN, change) in commit order.
        self._cache: dict[Table, list[tuple[int, Change]]] = {}
        #: Per table loaded from a later snapshot: changes committed up to this LSN are in the load.
        self._loaded_at: dict[Table, int] = {}
        self._applied: int | None = None
        #: The commit time of the last source transaction read (for CDCLatencySource).
        self.last_commit_time: datetime | None = None
        # Read without the lock by a metrics sampler while a poll runs (each is one attribute):
        #: Commit time of the newest transaction read, until a read finds nothing new (None:
        #: caught up).
        self.captured_time: datetime | None = None
        #: Commit time of the oldest transaction read and not yet committed on the target.
        self.applying_since: datetime | None = None
        #: Changes read and not yet committed on the target (besides the cache).
        self.applying_count = 0
        #: Whether the last poll read any transaction: while changes keep coming, the next read
        #: follows at once, as a streaming replica would; the poll interval is for an idle slot.
        self.read_any = False
        #: The commit time of the oldest change waiting in the cache (for CDCLatencyTarget).
        self.oldest_cached_time: datetime | None = None

    def start(self) -> None:
        """Prepare the target's control table and read where a previous run stopped."""
        with self._lock:
            self.applier.ensure_control_table()
            saved = self.applier.applied_position()
            self._applied = parse_lsn(saved) if saved else None

    @property
    def applied_lsn(self) -> int | None:
        """The commit LSN of the last source transaction applied to the target."""
        return self._applied

    # --- caching during the full load --------------------------------------------------------
    def cache_changes_for(self, tables: Iterable[Table]) -> None:
        """From now on, hold the changes of these source tables until ``apply_cached``."""
        with self._lock:
            for table in tables:
                self._cache.setdefault(table, [])

    def caching(self, table: Table) -> bool:
        with self._lock:
            return table in self._cache

    def cached_changes(self) -> int:
        # No lock: a metrics sampler asks while a poll runs; list() copies the values at once.
        return sum(len(v) for v in list(self._cache.values()))

    def apply_cached(self, table: Table, *, loaded_at: int | None = None) -> int:
        """The table is loaded: apply its cached changes (one target transaction) and stop caching.

        ``loaded_at`` is the consistent point of the snapshot the load read, when it is not the
        task slot's own (whose changes all come after the load). Raises ApplyError (and keeps
        caching) when the target refuses the changes.
        """
        with self._lock:
            cached = self._cache.get(table, [])
            if loaded_at is not None:
                cached = [(lsn, c) for lsn, c in cached if lsn > loaded_at]
                if self._applied is None or self._applied < loaded_at:
                    self._loaded_at[table] = loaded_at  # the stream has not reached it yet
            applied = self.applier.apply([c for _, c in cached]) if cached else 0
            self._cache.pop(table, None)
            if not any(self._cache.values()):
                self.oldest_cached_time = None
            return applied

    # --- streaming -------------------------------------------------------------------------
    def _wanted(self, table: Table, commit_lsn: int) -> bool:
        """Whether the task applies this table's change: mapped, not in error, not in a load."""
        if self.applier.target_of(table) is None or self.stats.failed(table):
            return False
        loaded_at = self._loaded_at.get(table)
        return loaded_at is None or commit_lsn > loaded_at

    def _split(self, txn: SourceTransaction) -> tuple[list[Change], Counter[tuple[Table, str]]]:
        """Cache the changes of loading tables; return the rest and the captured counts."""
        live: list[Change] = []
        captured: Counter[tuple[Table, str]] = Counter()
        wanted: dict[Table, bool] = {}  # per table, for this transaction
        cache = self._cache
        # The common case: row changes of a few layouts, each table wanted and not loading.
        layouts = Counter(map(layout_of, txn.changes))
        if None not in layouts:
            shaped = {layout.source_table for layout in layouts}
            if not cache.keys() & shaped and all(self._wanted(t, txn.commit_lsn) for t in shaped):
                for layout, count in layouts.items():
                    captured[(layout.source_table, _CAPTURED[layout.kind])] += count
                return list(txn.changes), captured
        for change in txn.changes:
            if type(change) is RowChange:  # the common case, without a list of tables
                table = (change.schema, change.table)
                keep = wanted.get(table)
                if keep is None:
                    keep = wanted[table] = self._wanted(table, txn.commit_lsn)
                if not keep:
                    continue
                captured[(table, _CAPTURED[change.kind])] += 1
                if table in cache:
                    cache[table].append((txn.commit_lsn, change))
                    if self.oldest_cached_time is None:
                        self.oldest_cached_time = txn.commit_time
                else:
                    live.append(change)
                continue
            tables = [t for t in tables_of(change) if self._wanted(t, txn.commit_lsn)]
            for table in tables:
                captured[(table, counter_name(change))] += 1
            if isinstance(change, Truncate):
                for table in tables:
                    if table in cache:
                        cache[table].append((txn.commit_lsn, Truncate((table,), *_flags(change))))
                rest = tuple(t for t in tables if t not in cache)
                if rest:
                    live.append(Truncate(rest, *_flags(change)))
            elif tables:
                if tables[0] in cache:
                    cache[tables[0]].append((txn.commit_lsn, change))
                    if self.oldest_cached_time is None:
                        self.oldest_cached_time = txn.commit_time
                else:
                    live.append(change)
        return live, captured

    def _stop(self) -> None:
        assert self.stop_position is not None
        self.stop_reason = self.stop_position.stop_reason

    def poll(self) -> bool:
        """Read what the slot holds, apply it in commit order; True when more is waiting.

        The source transactions of one read are applied together, whole, in one target
        transaction that also records the last one's commit LSN (``apply_transactions``); the
        slot is confirmed after the target commits. A stop position ends the group before the
        first transaction past it.
        """
        with self._lock:
            if self.stop_reason:
                return False
            position = self.stop_position
            if position and position.server_time_reached(self.clock()):
                self._stop()
                return False
            source_now = self.reader.source_time() if position and position.kind == "commit_time" else None
            transactions, more = self.reader.read()
            last: int | None = None
            last_time: datetime | None = None
            counts: list[tuple[int, Counter[tuple[Table, str]]]] = []

            def group() -> Iterator[PendingTransaction]:
                """The read's transactions to apply, made as the applier takes them."""
                nonlocal last, last_time
                for txn in transactions:
                    if self._applied is not None and txn.commit_lsn <= self._applied:
                        # Applied before a crash, not yet confirmed: skip it.
                        last, last_time = txn.commit_lsn, txn.commit_time
                        continue
                    if position and position.after_commit_time(txn.commit_time):
                        self._stop()
                        return
                    live, captured = self._split(txn)
                    self.stats.add(captured, applied=False)
                    counts.append((txn.commit_lsn, captured))
                    last, last_time = txn.commit_lsn, txn.commit_time
                    self.captured_time = txn.commit_time
                    if live:
                        self.applying_since = self.applying_since or txn.commit_time
                        self.applying_count += len(live)
                        yield PendingTransaction(live, Lsn(txn.commit_lsn), txn.commit_time)

            try:
                self.applier.apply_transactions(group())
            except ApplyError as err:
                self.applying_since, self.applying_count = None, 0
                # Transactions after the refused one were not applied and are read again on
                # resume: they are not captured yet (the refused one is, as before).
                failed = int(err.position) if isinstance(err.position, Lsn) else -1
                for lsn, captured in counts:
                    if failed >= 0 and lsn > failed:
                        self.stats.add({k: -n for k, n in captured.items()}, applied=False)
                self.reader.rewind()  # what was read and not applied is read again
                raise
            except BaseException:
                self.applying_since, self.applying_count = None, 0
                self.reader.rewind()
                raise
            self.applying_since, self.applying_count = None, 0
            if last is None and not more:
                # A read that found nothing new: caught up. After a read that found changes,
                # more may have committed since: the source latency runs on until a read is empty.
                self.captured_time = None
            self.read_any = last is not None
            if last is not None:
                self._applied = max(last, self._applied or 0)
                self.last_commit_time = last_time or self.last_commit_time
                self.reader.confirm(last)
                self._loaded_at = {t: lsn for t, lsn in self._loaded_at.items() if lsn > last}
            if position and source_now is not None and not more and not self.stop_reason:
                if source_now > position.at:
                    self._stop()  # the source is past the time and everything before it is applied
            return more and not self.stop_reason

    def run(self, stop_event: threading.Event, *, poll_interval: float = POLL_INTERVAL) -> str | None:
        """Poll until ``stop_event`` is set or a stop position is reached; returns the StopReason."""
        while not stop_event.is_set() and not self.stop_reason:
            if not self.poll() and not self.read_any:
                self.reader.wait(stop_event, poll_interval)
        return self.stop_reason


def _flags(change: Truncate) -> tuple[bool, bool]:
    return change.restart_seqs, change.cascade

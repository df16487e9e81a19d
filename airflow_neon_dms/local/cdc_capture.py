"""The change-capture half of a running replication task, for PostgreSQL and MySQL/MariaDB sources.

A ``full-load-and-cdc`` task captures from before its first table is read, so every change is
either in a table's copy or applied after it (DMS user guide, "Creating tasks for ongoing
replication"): PostgreSQL through a logical slot whose exported snapshot the full load reads,
MySQL/MariaDB through the binlog from a position taken before the load, each table read at a
consistent snapshot with a known binlog position. Changes of a table not loaded yet are cached and
applied once its load finishes; then the stream applies changes in commit order until the task
is stopped or reaches its ``CdcStopPosition``.

The task runner (``task_runner.TaskJob``) drives a ``Capture``:

    capture = open_capture(...)
    capture.prepare(fresh=True)              # slot / binlog position; CaptureNotReady: task fails
    stream thread: capture.stream(stop_event)  # updates task.cdc_progress after every read
    per table:     source = capture.load_source(key); load_table(source, ...)
                   capture.table_loaded(key, source)
    capture.full_load_done()

While a stream runs, ``task_metrics.CdcMetricsSampler`` takes a reading every metrics period from
its own thread (``_sample``: what is read and waits at that moment) and publishes it as
CloudWatch's CDC metrics; ``task.cdc_progress`` (``models.CdcProgress``) keeps the last reading.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, Protocol

import psycopg

from airflow_neon_dms.local.cdc.apply import ChangeApplier
from airflow_neon_dms.local.cdc.engine import CdcEngine
from airflow_neon_dms.local.cdc.errors import CdcError
from airflow_neon_dms.local.cdc.identity import read_identity
from airflow_neon_dms.local.cdc.lsn import format_lsn
from airflow_neon_dms.local.cdc.slots import (
    CreatedSlot,
    create_slot,
    drop_slot,
    slot_name_for_task,
    snapshot_slot_name,
    snapshot_transaction,
)
from airflow_neon_dms.local.cdc.start_position import StartPositionError, check_start_request, position_slot
from airflow_neon_dms.local.cdc.stats import ChangeStatistics, Table
from airflow_neon_dms.local.cdc.stop_position import CdcStopPosition, parse_cdc_stop_position
from airflow_neon_dms.local.cdc.stream_reader import open_reader
from airflow_neon_dms.local.databases import DatabaseAddress, connect_postgres
from airflow_neon_dms.local.models import CdcProgress, ReplicationTask
from airflow_neon_dms.local.postgres_source import PostgresSource
from airflow_neon_dms.local.sources import SourceReader, TableShape
from airflow_neon_dms.local.task_metrics import CdcMetricsSampler, CdcReading
from airflow_neon_dms.local.task_settings import TaskSettings

log = logging.getLogger(__name__)

#: Seconds between two reads of an idle PostgreSQL slot.
POLL_INTERVAL = 0.05

TargetName = Callable[[str, str], "tuple[str, str] | None"]
Warn = Callable[[str], None]


class CaptureNotReady(Exception):
    """The source cannot serve change capture; the message names the setting and the fix."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment else 0.0


class Capture(Protocol):
    """What the task runner needs from a source's change capture."""

    stats: ChangeStatistics
    stop_reason: str | None

    def prepare(self, *, fresh: bool) -> None: ...

    def load_source(self, key: Table, *, reload: bool = False) -> SourceReader: ...

    def table_loaded(self, key: Table, source: SourceReader) -> None: ...

    def full_load_done(self) -> None: ...

    def stream(self, stop: threading.Event) -> None: ...

    def checkpoint(self) -> str: ...

    def close(self) -> None: ...


class _CaptureBase:
    """What both engines share: the task, its settings, counters, progress and stop position."""

    def __init__(
        self,
        task: ReplicationTask,
        source: DatabaseAddress,
        target: DatabaseAddress,
        settings: TaskSettings,
        tables: list[Table],
        target_name: TargetName,
        warn: Warn,
    ) -> None:
        self.task = task
        self.source = source
        self.target_address = target
        self.settings = settings
        self.tables = tables
        self.target_name = target_name
        self.warn = warn
        self.stop_position: CdcStopPosition | None = (
            parse_cdc_stop_position(task.cdc_stop_position) if task.cdc_stop_position else None
        )
        self.stop_reason: str | None = None
        if task.change_counts is None:
            task.change_counts = ChangeStatistics()
        self.stats: ChangeStatistics = task.change_counts
        task.cdc_progress = CdcProgress()
        self.progress = task.cdc_progress
        self._connections: list[psycopg.Connection[Any]] = []

    def _connect(self, address: DatabaseAddress) -> psycopg.Connection[Any]:
        conn = connect_postgres(address, autocommit=True)
        self._connections.append(conn)
        return conn

    def _applied_total(self) -> int:
        return sum(
            t.applied_inserts + t.applied_updates + t.applied_deletes + t.applied_ddls for _, t in self.stats
        )

    def _sample(self) -> CdcReading:
        """This moment's (CDCLatencySource, CDCLatencyTarget, CDCIncomingChanges): see
        ``_reading``; each capture says what it has read and what waits."""
        raise NotImplementedError

    def _reading(
        self, captured: datetime | None, oldest_waiting: datetime | None, waiting: int
    ) -> CdcReading:
        """AWS's definitions (DMS user guide, "Replication task metrics"): CDCLatencySource is the
        gap between the last event captured from the source and now (``captured``: the commit
        time of the newest change read and not caught up with; 0 once caught up);
        CDCLatencyTarget the gap between the first event waiting to commit on the target and now
        (``oldest_waiting``: the commit time of the oldest change read, or cached during a full
        load, and not yet committed on the target; 0 when nothing waits), never below the source
        latency; CDCIncomingChanges the changes waiting. Also kept in the task's CdcProgress."""
        now = _utc_now()
        source = _seconds_since(captured, now)
        target = max(source, _seconds_since(oldest_waiting, now))
        self.progress.source_latency_seconds = source
        self.progress.target_latency_seconds = target
        self.progress.incoming_changes = waiting
        self.progress.applied_changes = self._applied_total()
        self.progress.updated_at = time.time()
        return source, target, waiting

    def close(self) -> None:
        for conn in self._connections:
            conn.close()
        self._connections.clear()


class _SnapshotPostgresSource(PostgresSource):
    """A PostgreSQL source whose table copies read an exported snapshot (a slot's)."""

    def __init__(self, address: DatabaseAddress, snapshot_name: str, slot: CreatedSlot | None = None) -> None:
        super().__init__(address)
        self.snapshot_name = snapshot_name
        #: A temporary slot taken for this load alone (a reload); released with the source.
        self.slot = slot

    def copy_into(
        self,
        shape: TableShape,
        copy: psycopg.Copy,
        progress: Callable[[int], None],
        cancelled: Callable[[], bool],
        *,
        binary: bool = False,
    ) -> None:
        with snapshot_transaction(self.conn, self.snapshot_name):
            super().copy_into(shape, copy, progress, cancelled, binary=binary)

    def rows(self, shape: TableShape, columns: list[str]) -> Iterator[tuple[Any, ...]]:
        """The table as of the snapshot too: validation compares the load with what it read."""
        with snapshot_transaction(self.conn, self.snapshot_name):
            yield from super().rows(shape, columns)

    def close(self) -> None:
        if self.slot is not None:
            self.slot.release()
        super().close()


class PostgresCapture(_CaptureBase):
    """Capture from a PostgreSQL source through the task's logical replication slot."""

    engine: CdcEngine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The slot the source endpoint names (PostgreSQLSettings.SlotName): the user's, never
        #: created or dropped by the task (cdc/start_position.py).
        self.user_slot = self.source.slot_name
        self.slot_name = self.user_slot or self.task.slot_name or slot_name_for_task(self.task.identifier)
        self._slot: CreatedSlot | None = None
        #: Numbers the temporary snapshot slots: tables reloaded in parallel each need their own.
        self._snapshot_numbers = itertools.count()

    def prepare(self, *, fresh: bool) -> None:
        task = self.task
        target = self._connect(self.target_address)
        applier = ChangeApplier(
            target,
            task.arn,
            target_name=self.target_name,
            identity=self._identity(),
            stats=self.stats,
            control_schema=self.settings.control_schema,
            handle_truncate=self.settings.handle_truncate,
            warn=self.warn,
        )
        applier.ensure_control_table()
        try:
            start = check_start_request(
                migration_type=task.migration_type,
                start_position=task.cdc_start_position if fresh else "",
                start_time=task.cdc_start_time if fresh else "",
                slot_setting=self.user_slot if fresh else "",
            )
            if start is not None:  # the user's slot, moved to the native start point
                position_slot(self._connect(self.source), self.user_slot, start)
        except StartPositionError as err:
            raise CaptureNotReady(str(err)) from None
        if fresh and start is not None:
            applier.forget_position()
            self._start_engine(applier, fresh=True)
            return
        if fresh:
            applier.forget_position()
            if task.slot_name:
                self.drop_slot()  # reload-target: a fresh stream from a fresh slot
            try:
                self._slot = create_slot(self.source, self.slot_name)
            except CdcError as err:
                raise CaptureNotReady(str(err)) from None
            task.slot_name = self.slot_name
            if task.migration_type == "cdc":
                self._slot.release()  # CDC only: changes from now on, no snapshot to read
            try:
                self._start_engine(applier, fresh=True)
            except BaseException:
                self.close()
                self.drop_slot()  # a task that cannot start leaves no slot behind
                task.slot_name = ""
                raise
            return
        else:
            catalog = self._connect(self.source)
            exists = catalog.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [self.slot_name]
            ).fetchone()
            if exists is None:
                raise CaptureNotReady(
                    f"The replication slot {self.slot_name} of this task no longer exists on the "
                    "PostgreSQL source, so changes since the task stopped are lost. Restart the task "
                    "with StartReplicationTaskType reload-target."
                )
        self._start_engine(applier, fresh=False)

    def _start_engine(self, applier: ChangeApplier, *, fresh: bool) -> None:
        reader = open_reader(
            self._connect(self.source),
            self.slot_name,
            lambda: connect_postgres(
                self.source, autocommit=True, replication="database", options="-c timezone=UTC"
            ),
        )
        self.engine = CdcEngine(reader, applier, self.stats, stop_position=self.stop_position)
        self.engine.start()
        if fresh and self.task.migration_type != "cdc":
            self.engine.cache_changes_for(self.tables)

    def _identity(self) -> Callable[[str, str], Any]:
        catalog = self._connect(self.source)
        lock = threading.Lock()

        def identity(schema: str, table: str) -> Any:
            with lock:
                return read_identity(catalog, schema, table)

        return identity

    def load_source(self, key: Table, *, reload: bool = False) -> SourceReader:
        if not reload and self._slot is not None:
            return _SnapshotPostgresSource(self.source, self._slot.snapshot_name)
        # A table loaded while the stream runs: cache its changes, read a temporary slot's snapshot.
        self.engine.cache_changes_for([key])
        temporary = create_slot(
            self.source, snapshot_slot_name(self.slot_name, next(self._snapshot_numbers)), temporary=True
        )
        return _SnapshotPostgresSource(self.source, temporary.snapshot_name, temporary)

    def table_loaded(self, key: Table, source: SourceReader) -> None:
        slot = source.slot if isinstance(source, _SnapshotPostgresSource) else None
        self.engine.apply_cached(key, loaded_at=slot.consistent_lsn if slot else None)

    def full_load_done(self) -> None:
        if self._slot is not None:
            self._slot.release()

    def stream(self, stop: threading.Event) -> None:
        engine = self.engine
        with CdcMetricsSampler(self.task, self._sample):
            while not stop.is_set() and not engine.stop_reason:
                more = engine.poll()
                self.task.recovery_checkpoint = self.checkpoint()
                if not more and not engine.read_any:  # changes keep coming: read again at once
                    engine.reader.wait(stop, POLL_INTERVAL)
        self.stop_reason = engine.stop_reason

    def _sample(self) -> CdcReading:
        engine = self.engine
        waiting = [t for t in (engine.applying_since, engine.oldest_cached_time) if t is not None]
        return self._reading(
            engine.captured_time, min(waiting, default=None), engine.applying_count + engine.cached_changes()
        )

    def checkpoint(self) -> str:
        applied = self.engine.applied_lsn
        return format_lsn(applied) if applied is not None else ""

    def drop_slot(self) -> None:
        drop_task_slot(self.source, self.slot_name)

    def close(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.reader.close()  # the stream ends: the slot is free again
        if self._slot is not None:
            self._slot.release()
        super().close()


def drop_task_slot(source: DatabaseAddress, slot_name: str) -> bool:
    """Drop a task's slot on its PostgreSQL source (DeleteReplicationTask, reload-target)."""
    with connect_postgres(source, autocommit=True) as conn:
        dropped = drop_slot(conn, slot_name)
    if dropped:
        log.info("Replication slot %s dropped", slot_name)
    return dropped


class BinlogCapture(_CaptureBase):
    """Capture from a MySQL/MariaDB source through its binary log."""

    #: Commit time of the newest transaction read (None once the stream is idle: caught up).
    _captured: datetime | None = None
    #: (commit time, changes) of the transaction being applied, read by the metrics sampler.
    _applying: tuple[datetime, int] | None = None

    def prepare(self, *, fresh: bool) -> None:
        from airflow_neon_dms.local.cdc_mysql.applier import binlog_applier
        from airflow_neon_dms.local.cdc_mysql.full_load_cache import FullLoadChangeCache
        from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
        from airflow_neon_dms.local.cdc_mysql.readiness import SourceNotReadyForCdc, require_cdc_ready
        from airflow_neon_dms.local.cdc_mysql.snapshot import BinlogOff, SnapshotMySqlSource

        task = self.task
        if task.cdc_start_time:
            raise CaptureNotReady(
                "CdcStartTime is not supported by the local DMS for MySQL sources (the binary log "
                "has no time index). Give CdcStartPosition as <binlog file>:<offset>, or neither."
            )
        try:
            for finding in require_cdc_ready(self.source, task.source_arn):
                self.warn(finding.message)
        except SourceNotReadyForCdc as err:
            raise CaptureNotReady(str(err)) from None
        source = SnapshotMySqlSource(self.source)
        try:
            self.shapes = {key: self._shape(source, key) for key in self.tables}
            start = source.binlog_position()
        except BinlogOff as err:
            raise CaptureNotReady(str(err)) from None
        finally:
            source.close()
        self.applier = binlog_applier(
            self._connect(self.target_address),
            task.arn,
            self.shapes,
            stats=self.stats,
            control_schema=self.settings.control_schema,
            handle_truncate=self.settings.handle_truncate,
            warn=self.warn,
        )
        self.applier.ensure_control_table()
        self.cache = FullLoadChangeCache(self.applier, self.shapes)
        if fresh:
            self.applier.forget_position()
            if task.cdc_start_position:
                try:
                    start = BinlogPosition.parse(task.cdc_start_position)
                except ValueError as err:
                    raise CaptureNotReady(f"CdcStartPosition: {err}") from None
            task.binlog_start = str(start)
        else:
            saved = self.applier.applied_position() or task.binlog_start
            start = BinlogPosition.parse(saved) if saved else start
        self.start = start
        if not fresh or task.migration_type == "cdc":
            for key in self.shapes:
                self.cache.table_loaded(key, start)

    def _shape(self, source: SourceReader, key: Table) -> TableShape:
        shape = source.table_shape(*key)
        target = self.target_name(*key) or key
        return dataclasses.replace(shape, target_schema=target[0], target_table=target[1])

    def load_source(self, key: Table, *, reload: bool = False) -> SourceReader:
        from airflow_neon_dms.local.cdc_mysql.snapshot import SnapshotMySqlSource

        if reload or self.cache.loaded(key):
            self.cache.table_reloading(key)  # its changes wait for the new snapshot's copy
        return SnapshotMySqlSource(self.source)

    def table_loaded(self, key: Table, source: SourceReader) -> None:
        positions = getattr(source, "snapshot_positions", {})
        self.cache.table_loaded(key, positions[key])

    def full_load_done(self) -> None:
        pass

    def stream(self, stop: threading.Event) -> None:
        from airflow_neon_dms.local.cdc_mysql.binlog_reader import HEARTBEAT_SECONDS, BinlogChangeReader

        reader = BinlogChangeReader(self.source, self.shapes, self.start)
        position = self.stop_position
        last_yield = time.monotonic()

        def stopping() -> bool:
            now = _utc_now()
            idle = time.monotonic() - last_yield > HEARTBEAT_SECONDS
            if idle:
                self._captured = None  # caught up
            if position and position.server_time_reached(now):
                self.stop_reason = position.stop_reason
            elif position and position.kind == "commit_time" and idle and now > position.at:
                self.stop_reason = position.stop_reason  # the source is past the time, all applied
            return stop.is_set() or self.stop_reason is not None

        try:
            with CdcMetricsSampler(self.task, self._sample):
                for txn in reader.transactions(stop=stopping):
                    if position and position.after_commit_time(txn.committed_at):
                        self.stop_reason = position.stop_reason
                        break
                    self._captured = txn.committed_at
                    self._applying = (txn.committed_at, len(txn.changes))
                    try:
                        self.cache.process(txn)
                    finally:
                        self._applying = None
                    last_yield = time.monotonic()
                    self.task.recovery_checkpoint = str(txn.end)
        finally:
            reader.close()

    def _sample(self) -> CdcReading:
        applying = self._applying
        since, count = applying if applying is not None else (None, 0)
        return self._reading(self._captured, since, count + self._cached())

    def _cached(self) -> int:
        return sum(self.cache.cached_count(key) for key in self.shapes)

    def checkpoint(self) -> str:
        return self.applier.applied_position() or ""


def open_capture(
    task: ReplicationTask,
    source: DatabaseAddress,
    target: DatabaseAddress,
    settings: TaskSettings,
    tables: list[Table],
    target_name: TargetName,
    warn: Warn,
) -> Capture:
    """The capture for the source's engine."""
    kind = PostgresCapture if source.is_postgres else BinlogCapture
    return kind(task, source, target, settings, tables, target_name, warn)

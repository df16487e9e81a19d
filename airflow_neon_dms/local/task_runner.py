"""Runs a replication task on its own thread: a real full load, change capture, table statistics,
validation.

StartReplicationTask only marks the task started and hands it here; every later state change
(per-table states, statistics, stopped or failed) is made by this thread under the service lock.
``cdc`` and ``full-load-and-cdc`` tasks capture changes through ``cdc_capture`` (a second thread
streams them while the full load runs); their live numbers for CloudWatch are in
``task.cdc_progress`` (``models.CdcProgress``), their per-table counters in ``task.change_counts``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg

from airflow_neon_dms.local.cdc_capture import Capture, CaptureNotReady, open_capture
from airflow_neon_dms.local.databases import DatabaseAddress, DatabaseUnreachable, connect_postgres, mask
from airflow_neon_dms.local.full_load import ensure_schemas, load_table
from airflow_neon_dms.local.models import ReplicationTask, TableStats
from airflow_neon_dms.local.sources import Cancelled, SourceReader, TableShape, open_source
from airflow_neon_dms.local.table_mappings import TableMappings
from airflow_neon_dms.local.task_logs import table_lines
from airflow_neon_dms.local.task_metrics import FullLoadThroughput
from airflow_neon_dms.local.task_settings import TaskSettings
from airflow_neon_dms.local.validation import validate_table

log = logging.getLogger(__name__)

NO_TABLES_MESSAGE = (
    "No tables were found at task initialization. Either the selected table(s) or schemas(s) no "
    "longer exist or no match was found for the table selection pattern(s)."
)


@dataclass
class TaskJob:
    """Everything a task's thread needs: the task, where to connect, and how to load."""

    task: ReplicationTask
    lock: threading.RLock
    source: DatabaseAddress
    target: DatabaseAddress
    mappings: TableMappings
    settings: TaskSettings
    #: The change capture of a cdc / full-load-and-cdc task while it runs.
    capture: Capture | None = None
    _selected: frozenset[tuple[str, str]] = frozenset()

    def _secrets(self) -> tuple[str, str]:
        return self.source.password, self.target.password

    def _fail(self, message: str) -> None:
        message = mask(message, *self._secrets())
        self.task.note("TASK_MANAGER", "E", message)
        with self.lock:
            task = self.task
            task.status = "failed"
            task.stop_reason = "Stop Reason FATAL_ERROR"
            task.last_failure = f"Last Error {message} Stop Reason FATAL_ERROR Error Level FATAL"
            task.stop_date = time.time()
        log.error("Replication task %s failed: %s", self.task.identifier, message)

    def run(self, start_type: str) -> None:
        """The body of the task thread."""
        task = self.task
        try:
            self._run(start_type)
        except Exception as err:  # never let a thread die silently: the task fails visibly
            log.exception("Replication task %s stopped by an unexpected error", task.identifier)
            self._fail(f"{type(err).__name__}: {err}")

    def _run(self, start_type: str) -> None:
        task = self.task
        if task.running_at is not None:  # ``starting``: AWS prepares the task before it runs
            task.stop_event.wait(max(0.0, task.running_at - time.time()))
            task.running_at = None
        if self._stopped_before_running():
            return
        if not self.target.is_postgres:
            self._fail(
                f"The local DMS emulator loads into PostgreSQL targets only, not {self.target.engine}."
            )
            return
        if not (self.source.is_postgres or self.source.is_mysql):
            self._fail(
                f"The local DMS emulator reads PostgreSQL and MySQL/MariaDB sources only, not "
                f"{self.source.engine}."
            )
            return
        try:
            source = open_source(self.source)
        except DatabaseUnreachable as err:
            self._fail(f"Cannot connect to the source endpoint: {err}")
            return
        try:
            try:
                connect_postgres(self.target).close()
            except DatabaseUnreachable as err:
                self._fail(f"Cannot connect to the target endpoint: {err}")
                return
            with self.lock:
                # The one step from starting to running, under the lock every stop takes: a stop
                # accepted before it ends the task here, before any table is listed or loaded.
                if self._stopped_before_running():
                    return
                task.status = "running"
                now = time.time()
                task.start_date = now
                if start_type != "resume-processing" or task.fresh_start is None:
                    task.fresh_start = now
            log.info("Replication task %s is running (%s)", task.identifier, start_type)
            if task.migration_type != "full-load":
                self._replicate(source, start_type)
                return
            if not self._full_load(source, start_type):
                return
            self._finish()
        finally:
            source.close()

    def _stopped_before_running(self) -> bool:
        """End the task ``stopped`` if a stop was accepted while it was starting; True if so."""
        task = self.task
        with self.lock:
            if not task.stop_event.is_set():
                return False
            task.status = "stopped"
            task.stop_reason = "Stop Reason NORMAL"  # botocore: StopReason of a user stop
            task.stop_date = time.time()
        log.info("Replication task %s stopped before it ran", task.identifier)
        return True

    # --- change capture ------------------------------------------------------------------------
    def _target_name(self, schema: str, table: str) -> tuple[str, str] | None:
        if (schema, table) not in self._selected:
            return None
        return self.mappings.target_name(schema, table)

    def _warn(self, message: str) -> None:
        message = mask(message, *self._secrets())
        self.task.note("TARGET_APPLY", "W", message)
        log.warning("Replication task %s: %s", self.task.identifier, message)

    def _replicate(self, source: SourceReader, start_type: str) -> None:
        """cdc / full-load-and-cdc: capture from the start, load (if any), then apply until stopped."""
        task = self.task
        fresh = start_type != "resume-processing"
        tables = self.mappings.select(source.list_tables())
        if not tables:
            self._fail(NO_TABLES_MESSAGE)
            return
        self._selected = frozenset(tables)
        if fresh:
            task.change_counts = None  # counters start again with a fresh stream
        capture = open_capture(
            task, self.source, self.target, self.settings, tables, self._target_name, self._warn
        )
        try:
            capture.prepare(fresh=fresh)
        except (CaptureNotReady, DatabaseUnreachable, psycopg.Error) as err:
            capture.close()
            self._fail(str(err))
            return
        self.capture = capture
        errors: list[BaseException] = []
        stream = threading.Thread(
            target=self._stream, args=(capture, errors), name=f"cdc-{task.identifier}", daemon=True
        )
        stream.start()
        try:
            if task.migration_type == "full-load-and-cdc" and (fresh or self._unfinished(tables)):
                if not self._full_load(source, start_type):
                    return  # failed already (the finally ends the stream)
                capture.full_load_done()
            elif task.migration_type == "cdc":
                self._cdc_tables(tables, fresh)
            stream.join()
        finally:
            task.stop_event.set()
            stream.join()
            capture.close()
        if errors:
            self._fail(str(errors[0]))
            return
        reason = capture.stop_reason or "Stop Reason NORMAL"
        with self.lock:
            task.status = "stopped"
            task.stop_reason = reason
            task.stop_date = time.time()
        log.info("Replication task %s stopped (%s)", task.identifier, reason)

    def _stream(self, capture: Capture, errors: list[BaseException]) -> None:
        try:
            capture.stream(self.task.stop_event)
        except Exception as err:  # the task fails with it, after the full load stops
            errors.append(err)
        finally:
            self.task.stop_event.set()  # a stop position or an error also ends the full load

    def _unfinished(self, tables: list[tuple[str, str]]) -> bool:
        done = self.task.tables
        return any(key not in done or done[key].state != "Table completed" for key in tables)

    def _cdc_tables(self, tables: list[tuple[str, str]], fresh: bool) -> None:
        """A CDC-only task lists its tables from the start; they need no load (chosen: the state
        is "Table completed", as a table whose load is done and whose changes are applied)."""
        with self.lock:
            if fresh:
                self.task.tables = {}
            for key in tables:
                self.task.tables.setdefault(key, TableStats(*key, state="Table completed"))

    def _full_load(self, source: SourceReader, start_type: str) -> bool:
        task = self.task
        tables = self.mappings.select(source.list_tables())
        if not tables:
            self._fail(NO_TABLES_MESSAGE)
            return False
        with self.lock:
            if start_type == "resume-processing" and task.tables:
                todo = [t for t in tables if task.tables.get(t, TableStats(*t)).state != "Table completed"]
            else:
                task.tables = {}
                todo = tables
            for key in tables:
                if key in todo:
                    task.tables[key] = TableStats(*key)
            task.full_load_start = time.time()
            task.full_load_finish = None
        log.info("Replication task %s: full load of %d table(s)", task.identifier, len(todo))
        try:
            with connect_postgres(self.target) as target:
                ensure_schemas(target, {self.mappings.target_name(*key)[0] for key in todo})
        except (DatabaseUnreachable, psycopg.Error) as err:
            self._fail(f"Cannot prepare the target schemas: {err}")
            return False
        with FullLoadThroughput(task, self.lock), ThreadPoolExecutor(self.settings.max_subtasks) as pool:
            list(pool.map(self.load_one, todo))
        with self.lock:
            task.full_load_finish = time.time()
        return True

    def load_one(self, key: tuple[str, str], *, reload: bool = False) -> None:
        """Load (or reload) one table into the target and record its statistics."""
        task = self.task
        stats = task.tables[key]
        if task.stop_event.is_set():
            return
        with self.lock:
            stats.state = "Table is being reloaded" if reload else "Full load"
            stats.full_load_rows = 0
            stats.start_time = stats.last_update = time.time()
            stats.end_time = None
            if self.settings.validation:
                stats.validation_state = "Pending records"
        table_id = list(task.tables).index(key) + 1
        task.note(*table_lines("loading", *key, table_id))

        def progress(rows: int) -> None:
            with self.lock:
                stats.full_load_rows += rows
                stats.last_update = time.time()

        try:
            source = self._load_source(key, reload)
            try:
                with connect_postgres(self.target) as target:
                    shape = self._shape(source, key)
                    rows = load_table(
                        source,
                        target,
                        *key,
                        # A reload applies the task's TargetTablePrepMode too (AWS DMS user guide,
                        # "Reloading tables during a task"): with DO_NOTHING the rows already
                        # there stay, and the caller must truncate first.
                        prep_mode=self.settings.prep_mode,
                        shape=shape,
                        progress=progress,
                        cancelled=task.stop_event.is_set,
                        # the last stop check and the commit are one step under the lock every
                        # stop takes: once a stop is accepted, no table commits
                        commit_guard=self.lock,
                    )
                    if self.capture is not None:
                        if self.settings.validation:
                            # Chosen: a task with CDC validates its load against the snapshot the
                            # load read, before the changes cached meanwhile move the target on.
                            self._validate(source, target, key)
                        self.capture.table_loaded(key, source)  # cached changes, before "completed"
                    with self.lock:
                        stats.state = "Table completed"
                        stats.full_load_rows = rows
                        stats.end_time = stats.last_update = time.time()
                        stats.reloaded = stats.reloaded or reload
                    log.info("Table %s.%s loaded: %d rows", key[0], key[1], rows)
                    task.note(*table_lines("loaded", *key, table_id, rows))
                    if self.settings.validation and self.capture is None:
                        self._validate(source, target, key)
            finally:
                source.close()
        except Cancelled:
            with self.lock:
                stats.state = "Table cancelled"
                stats.full_load_rows = 0  # the table's transaction was rolled back
                stats.last_update = time.time()
        except Exception as err:
            message = mask(str(err).strip() or type(err).__name__, *self._secrets())
            with self.lock:
                stats.state = "Table error"
                stats.full_load_rows = 0
                stats.last_update = time.time()
                if self.settings.validation:
                    stats.validation_state = "Table error"
                    stats.validation_details = message
            log.error("Table %s.%s failed to load: %s", key[0], key[1], message)
            task.note(*table_lines("failed", *key, table_id, message))

    def _load_source(self, key: tuple[str, str], reload: bool) -> SourceReader:
        """The reader of one table's load: inside the capture's snapshot for a CDC task."""
        if self.capture is not None:
            return self.capture.load_source(key, reload=reload)
        return open_source(self.source)

    def _shape(self, source: SourceReader, key: tuple[str, str]) -> TableShape:
        """The source table's shape, aimed at the target name the transformation rules give."""
        target_schema, target_table = self.mappings.target_name(*key)
        shape = source.table_shape(*key)
        return dataclasses.replace(shape, target_schema=target_schema, target_table=target_table)

    def _validate(self, source: SourceReader, target: psycopg.Connection[Any], key: tuple[str, str]) -> None:
        stats = self.task.tables[key]
        try:
            shape = self._shape(source, key)
            result = validate_table(source, target, shape)
        except Exception as err:
            message = mask(str(err).strip(), *self._secrets())
            with self.lock:
                stats.validation_state = "Error"
                stats.validation_details = message
            return
        with self.lock:
            stats.validation_state = result.state
            stats.validation_failed = result.failed_records
            stats.validation_details = result.details
            stats.last_update = time.time()
        log.info("Table %s.%s validation: %s", key[0], key[1], result.state)

    def revalidate(self, keys: Iterable[tuple[str, str]]) -> None:
        """validate-only reload: compare the tables again."""
        for key in keys:
            try:
                source = open_source(self.source)
            except DatabaseUnreachable as err:
                with self.lock:
                    self.task.tables[key].validation_state = "Error"
                    self.task.tables[key].validation_details = str(err)
                continue
            try:
                with connect_postgres(self.target) as target:
                    self._validate(source, target, key)
            except DatabaseUnreachable as err:
                with self.lock:
                    self.task.tables[key].validation_state = "Error"
                    self.task.tables[key].validation_details = str(err)
            finally:
                source.close()

    def reload(self, keys: list[tuple[str, str]]) -> None:
        """data-reload: load the tables again while the task keeps running."""
        for key in keys:
            self.load_one(key, reload=True)

    def _finish(self) -> None:
        task = self.task
        if task.migration_type == "full-load" and not task.stop_event.is_set():
            with self.lock:
                task.status = "stopped"
                task.stop_reason = "Stop Reason FULL_LOAD_ONLY_FINISHED"
                task.stop_date = time.time()
            log.info("Replication task %s finished its full load", task.identifier)
            return
        with self.lock:
            task.status = "stopped"
            task.stop_reason = "Stop Reason NORMAL"  # botocore: StopReason of a user stop
            task.stop_date = time.time()
        log.info("Replication task %s stopped", task.identifier)

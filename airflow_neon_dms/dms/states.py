"""AWS DMS states as data: task status, stop reasons, table and validation states, connection tests.

Pure rules with no Airflow import. Sources: the botocore DMS service model (2016-01-01) and the
DMS user guide's task status and table state pages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from airflow_neon_dms.dms.table_names import TableRef

log = logging.getLogger(__name__)


class TaskStatus(str, Enum):
    """ReplicationTask.Status values."""

    CREATING = "creating"
    READY = "ready"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    MODIFYING = "modifying"
    MOVING = "moving"
    TESTING = "testing"
    FAILED = "failed"
    FAILED_MOVE = "failed-move"
    DELETING = "deleting"


#: A task in one of these states is doing something; a start request would be refused or duplicate it.
TASK_ACTIVE: frozenset[str] = frozenset({TaskStatus.STARTING, TaskStatus.RUNNING, TaskStatus.STOPPING})
#: States from which StartReplicationTask is accepted.
TASK_STARTABLE: frozenset[str] = frozenset({TaskStatus.READY, TaskStatus.STOPPED, TaskStatus.FAILED})
#: States a task passes through on its way to being startable.
TASK_SETTLING: frozenset[str] = frozenset(
    {TaskStatus.CREATING, TaskStatus.MODIFYING, TaskStatus.MOVING, TaskStatus.TESTING}
)
TASK_FAILED: frozenset[str] = frozenset({TaskStatus.FAILED, TaskStatus.FAILED_MOVE})
KNOWN_TASK_STATUSES: frozenset[str] = frozenset(s.value for s in TaskStatus)


class MigrationType(str, Enum):
    """ReplicationTask.MigrationType values."""

    FULL_LOAD = "full-load"
    CDC = "cdc"
    FULL_LOAD_AND_CDC = "full-load-and-cdc"


class StartType(str, Enum):
    """StartReplicationTaskType values."""

    START_REPLICATION = "start-replication"
    RESUME_PROCESSING = "resume-processing"
    RELOAD_TARGET = "reload-target"


STOP_REASON_PREFIX = "Stop Reason "
#: Stop reasons of a task that finished what it was asked to do.
STOP_REASONS_SUCCESS: frozenset[str] = frozenset(
    {
        "FULL_LOAD_ONLY_FINISHED",
        "STOPPED_AFTER_FULL_LOAD",
        "STOPPED_AFTER_CACHED_EVENTS",
        "STOPPED_AFTER_DDL_APPLY",
        "STOPPED_AT_SERVER_TIME",
        "STOPPED_AT_COMMIT_TIME",
    }
)
#: Stop reasons of a task that did not finish: an error, a resource limit, or a stop by request.
STOP_REASONS_FAILURE: frozenset[str] = frozenset(
    {
        "FATAL_ERROR",
        "RECOVERABLE_ERROR",
        "STOPPED_DUE_TO_LOW_MEMORY",
        "STOPPED_DUE_TO_LOW_DISK",
        "EXPRESS_LICENSE_LIMITS_REACHED",
        "NORMAL",
    }
)


def stop_reason_code(stop_reason: str | None) -> str:
    """``"Stop Reason FULL_LOAD_ONLY_FINISHED"`` -> ``"FULL_LOAD_ONLY_FINISHED"``."""
    value = (stop_reason or "").strip()
    if value.startswith(STOP_REASON_PREFIX):
        value = value[len(STOP_REASON_PREFIX) :]
    return value.strip().upper()


class Outcome(str, Enum):
    """What a wait should do with the state it just read."""

    SUCCESS = "success"
    FAILED = "failed"
    WAITING = "waiting"


@dataclass(frozen=True)
class TaskOutcome:
    """The verdict on one DescribeReplicationTasks entry."""

    outcome: Outcome
    message: str


def _full_load_percent(task: Mapping[str, Any]) -> int:
    stats = task.get("ReplicationTaskStats") or {}
    try:
        return int(stats.get("FullLoadProgressPercent") or 0)
    except (TypeError, ValueError):
        return 0


def _tables_errored(task: Mapping[str, Any]) -> int:
    stats = task.get("ReplicationTaskStats") or {}
    try:
        return int(stats.get("TablesErrored") or 0)
    except (TypeError, ValueError):
        return 0


def _failure_text(task: Mapping[str, Any]) -> str:
    parts = [str(task.get("StopReason") or "").strip(), str(task.get("LastFailureMessage") or "").strip()]
    return " ".join(f"{p}." if not p.endswith(".") else p for p in parts if p) or "no reason given."


def classify_task(task: Mapping[str, Any], *, wait_for_cdc_stop: bool = False) -> TaskOutcome:
    """Decide whether a replication task has finished, failed, or is still on its way.

    A full-load task succeeds only when ``stopped`` with a non-error stop reason. A task with CDC
    succeeds when its full load is complete and it is ``running`` (unless ``wait_for_cdc_stop``),
    because such a task never stops by itself. ``failed`` and error stop reasons fail. An unknown
    status keeps the wait going, with a warning.
    """
    name = task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn") or "?"
    status = str(task.get("Status") or "").lower()
    migration_type = str(task.get("MigrationType") or MigrationType.FULL_LOAD.value)
    percent = _full_load_percent(task)

    if status in TASK_FAILED:
        return TaskOutcome(Outcome.FAILED, f"Replication task {name} is {status}: {_failure_text(task)}")
    if status == TaskStatus.STOPPED:
        code = stop_reason_code(task.get("StopReason"))
        if code in STOP_REASONS_SUCCESS and _tables_errored(task) == 0:
            return TaskOutcome(Outcome.SUCCESS, f"Replication task {name} finished ({code}).")
        if code in STOP_REASONS_SUCCESS:
            return TaskOutcome(
                Outcome.FAILED,
                f"Replication task {name} stopped ({code}) with {_tables_errored(task)} table(s) in "
                "error. Check the table statistics and the task's CloudWatch log.",
            )
        if code in STOP_REASONS_FAILURE:
            return TaskOutcome(
                Outcome.FAILED, f"Replication task {name} stopped before finishing: {_failure_text(task)}"
            )
        if percent >= 100 and _tables_errored(task) == 0:
            log.warning("Replication task %s stopped with unknown stop reason %r", name, code)
            return TaskOutcome(Outcome.SUCCESS, f"Replication task {name} stopped ({code or 'no reason'}).")
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication task {name} stopped at {percent}% of the full load: {_failure_text(task)}",
        )
    if status == TaskStatus.RUNNING and migration_type != MigrationType.FULL_LOAD and not wait_for_cdc_stop:
        if migration_type == MigrationType.CDC or percent >= 100:
            return TaskOutcome(
                Outcome.SUCCESS,
                f"Replication task {name} is running and its full load is complete; CDC goes on.",
            )
    if status not in KNOWN_TASK_STATUSES:
        log.warning("Replication task %s has unknown status %r; waiting on", name, status)
    return TaskOutcome(
        Outcome.WAITING, f"Replication task {name} is {status or 'unknown'} ({percent}% loaded)."
    )


def classify_startable(task: Mapping[str, Any]) -> TaskOutcome:
    """Decide whether a task can be handed to StartReplicationTask (or needs no start).

    Success: startable (ready, stopped, failed) or already active (a start elsewhere got there
    first; the start step then leaves it alone). Failure: a task being deleted, or one that can
    neither start nor settle (failed-move). Waiting: creating, modifying, moving, testing, and an
    unknown status (with a warning).
    """
    name = task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn") or "?"
    status = str(task.get("Status") or "").lower()
    if status in TASK_STARTABLE or status in TASK_ACTIVE:
        return TaskOutcome(Outcome.SUCCESS, f"Replication task {name} is {status}.")
    if status in (TaskStatus.DELETING, TaskStatus.FAILED_MOVE):
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication task {name} is {status} and cannot be started: {_failure_text(task)}",
        )
    if status not in TASK_SETTLING:
        log.warning("Replication task %s has unknown status %r; waiting on", name, status)
    return TaskOutcome(
        Outcome.WAITING, f"Replication task {name} is {status or 'unknown'}, not yet startable."
    )


class ConnectionStatus(str, Enum):
    """Connection.Status values from DescribeConnections (TestConnection results)."""

    SUCCESSFUL = "successful"
    TESTING = "testing"
    FAILED = "failed"
    DELETING = "deleting"


def classify_connection(connection: Mapping[str, Any] | None) -> Outcome:
    """Verdict on a DescribeConnections entry; an unknown or missing status keeps waiting."""
    status = str((connection or {}).get("Status") or "").lower()
    if status == ConnectionStatus.SUCCESSFUL:
        return Outcome.SUCCESS
    if status in (ConnectionStatus.FAILED, ConnectionStatus.DELETING):
        return Outcome.FAILED
    if status and status != ConnectionStatus.TESTING:
        log.warning("Connection test has unknown status %r; waiting on", status)
    return Outcome.WAITING


class TableState(str, Enum):
    """TableStatistics.TableState values."""

    NOT_EXIST = "Table does not exist"
    BEFORE_LOAD = "Before load"
    FULL_LOAD = "Full load"
    COMPLETED = "Table completed"
    CANCELLED = "Table cancelled"
    ERROR = "Table error"
    RELOADING = "Table is being reloaded"


TABLE_PENDING: frozenset[str] = frozenset(
    {TableState.BEFORE_LOAD, TableState.FULL_LOAD, TableState.RELOADING}
)
TABLE_FAILED: frozenset[str] = frozenset({TableState.ERROR, TableState.CANCELLED, TableState.NOT_EXIST})


class ValidationState(str, Enum):
    """TableStatistics.ValidationState values."""

    NOT_ENABLED = "Not enabled"
    PENDING_RECORDS = "Pending records"
    MISMATCHED = "Mismatched records"
    SUSPENDED = "Suspended records"
    NO_PRIMARY_KEY = "No primary key"
    TABLE_ERROR = "Table error"
    VALIDATED = "Validated"
    ERROR = "Error"
    PENDING_VALIDATION = "Pending validation"
    PREPARING = "Preparing table"
    PENDING_REVALIDATION = "Pending revalidation"


VALIDATION_PENDING: frozenset[str] = frozenset(
    {
        ValidationState.PENDING_RECORDS,
        ValidationState.PENDING_VALIDATION,
        ValidationState.PREPARING,
        ValidationState.PENDING_REVALIDATION,
    }
)
VALIDATION_FAILED: frozenset[str] = frozenset(
    {
        ValidationState.MISMATCHED,
        ValidationState.SUSPENDED,
        ValidationState.TABLE_ERROR,
        ValidationState.ERROR,
    }
)
#: States that are neither a pass nor a failure: reported to the user, never silently passed.
VALIDATION_UNCHECKED: frozenset[str] = frozenset(
    {ValidationState.NO_PRIMARY_KEY, ValidationState.NOT_ENABLED}
)
KNOWN_TABLE_STATES: frozenset[str] = frozenset(s.value for s in TableState)
KNOWN_VALIDATION_STATES: frozenset[str] = frozenset(s.value for s in ValidationState)


@dataclass(frozen=True)
class TableOutcome:
    """The verdict on one DescribeTableStatistics row: settled, failed for good, or still going.

    ``unknown`` marks a state this module does not model: a wait stops on it (fails closed)
    rather than waiting for a state that may never come.
    """

    table: TableRef
    outcome: Outcome
    reason: str = ""
    unknown: bool = False

    def describe(self) -> str:
        return f"{self.table} ({self.reason})" if self.reason else str(self.table)


def classify_table(stats: Mapping[str, Any], reloaded_since: float | None = None) -> TableOutcome:
    """Decide one table's state; every TableState and ValidationState value botocore lists is modelled.

    Terminal failures: TableState ``Table error``, ``Table cancelled``, ``Table does not exist``, and
    ValidationState ``Mismatched records``, ``Suspended records``, ``Table error``, ``Error``.
    Settled: ``Table completed`` with ``Validated``, ``No primary key`` or ``Not enabled``. Waiting:
    ``Before load``, ``Full load``, ``Table is being reloaded`` and the pending validation states.
    A state outside the model fails closed. With ``reloaded_since`` (epoch seconds of a
    ReloadTables request), a row that shows no activity since the request still describes the
    load before it, so the table is still waiting.
    """
    table = TableRef.from_statistics(stats)
    table_state = str(stats.get("TableState") or "")
    validation_state = str(stats.get("ValidationState") or "")
    unknown = [
        f"{kind} {value!r}"
        for kind, value, known in (
            ("TableState", table_state, KNOWN_TABLE_STATES),
            ("ValidationState", validation_state, KNOWN_VALIDATION_STATES),
        )
        if value and value not in known
    ]
    if unknown:
        return TableOutcome(table, Outcome.FAILED, f"unmodelled {' and '.join(unknown)}", unknown=True)
    if table_state in TABLE_PENDING:
        return TableOutcome(table, Outcome.WAITING, table_state)
    if reloaded_since is not None and not _active_since(stats, table_state, reloaded_since):
        return TableOutcome(table, Outcome.WAITING, f"{table_state or 'no state'} from before the reload")
    if table_state in TABLE_FAILED:
        return TableOutcome(table, Outcome.FAILED, table_state)
    if validation_state in VALIDATION_FAILED:
        return TableOutcome(table, Outcome.FAILED, validation_state)
    if validation_state in VALIDATION_PENDING:
        return TableOutcome(table, Outcome.WAITING, validation_state)
    return TableOutcome(table, Outcome.SUCCESS, validation_state or table_state)


def table_is_pending(stats: Mapping[str, Any]) -> bool:
    """True while DMS is still loading or validating this table."""
    return classify_table(stats).outcome == Outcome.WAITING


def table_failure_reason(stats: Mapping[str, Any]) -> str | None:
    """The reason a table counts as failed (its state, or an unmodelled state), or None."""
    verdict = classify_table(stats)
    return verdict.reason if verdict.outcome == Outcome.FAILED else None


def task_summary(task: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready facts about a task run that the next step or a report needs."""
    stats = task.get("ReplicationTaskStats") or {}
    return {
        "replication_task_arn": task.get("ReplicationTaskArn"),
        "replication_task_identifier": task.get("ReplicationTaskIdentifier"),
        "status": task.get("Status"),
        "stop_reason": task.get("StopReason"),
        "migration_type": task.get("MigrationType"),
        "full_load_progress_percent": stats.get("FullLoadProgressPercent"),
        "tables_loaded": stats.get("TablesLoaded"),
        "tables_errored": stats.get("TablesErrored"),
    }


@dataclass(frozen=True)
class TableProgress:
    """Where a set of tables stands: still going, failed for good, or in a state not modelled."""

    pending: list[TableRef]
    failed: list[TableOutcome]
    unknown: list[TableOutcome]

    @property
    def settled(self) -> bool:
        """True when no table is still going (each one succeeded or failed for good)."""
        return not self.pending


def table_progress(
    rows: Sequence[Mapping[str, Any]],
    expected: Sequence[TableRef] | None = None,
    reloaded_since: float | None = None,
) -> TableProgress:
    """:func:`classify_table` over ``rows``; an ``expected`` table with no statistics is pending."""
    verdicts = [classify_table(row, reloaded_since) for row in rows]
    pending = [v.table for v in verdicts if v.outcome == Outcome.WAITING]
    if expected:
        seen = {v.table for v in verdicts}
        pending += [t for t in expected if t not in seen]
    failed = [v for v in verdicts if v.outcome == Outcome.FAILED]
    return TableProgress(pending, failed, [v for v in failed if v.unknown])


def pending_tables(
    rows: Sequence[Mapping[str, Any]],
    expected: Sequence[TableRef] | None = None,
    reloaded_since: float | None = None,
) -> list[TableRef]:
    """Tables still loading or validating, and expected tables with no statistics yet."""
    return table_progress(rows, expected, reloaded_since).pending


def unmodelled_state_message(subject: str, unknown: Sequence[TableOutcome]) -> str:
    """Why a wait stopped on states it does not know (fail closed), naming each table."""
    return (
        f"{subject}: {', '.join(v.describe() for v in unknown)}. This provider does not model "
        "that state, so it stops rather than wait for a state that may never come. Check the "
        "table in the DMS console (Table statistics) and its CloudWatch log."
    )


def _timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _active_since(stats: Mapping[str, Any], table_state: str, since: float) -> bool:
    """True when the statistics show this table's activity since ``since``.

    A completed table counts once its FullLoadEndTime is at or after the request. A failed one
    counts when its load started, ended or was last updated since (a reload that fails need not
    set FullLoadEndTime, so the earlier one may still show). A row without those timestamps
    counts: it cannot be told apart, and waiting on it could be endless.
    """
    fields: tuple[str, ...] = ("FullLoadEndTime",)
    if table_state in TABLE_FAILED:
        fields = ("FullLoadStartTime", "FullLoadEndTime", "LastUpdateTime")
    times = [t for t in (_timestamp(stats.get(f)) for f in fields) if t is not None]
    return not times or max(times) >= since

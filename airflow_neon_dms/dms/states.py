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

_ALL_TYPES = frozenset({"full-load", "cdc", "full-load-and-cdc"})
_WITH_FULL_LOAD = frozenset({"full-load", "full-load-and-cdc"})
_WITH_CDC = frozenset({"cdc", "full-load-and-cdc"})


@dataclass(frozen=True)
class StopReason:
    """One documented StopReason value: what it means, and for which migration types it is success.

    ``success_for`` holds the MigrationType values for which a stop with this reason means the task
    did everything asked of it and the target holds consistent data; for any other type the stop is
    a failure, and ``fix`` says what to do.
    """

    meaning: str
    success_for: frozenset[str] = frozenset()
    fix: str = ""


_RESUME = "Start the task again with start_type='resume-processing' once the cause is fixed."
#: Every StopReason the botocore DMS model (2016-01-01, ReplicationTask.StopReason) lists, without
#: the "Stop Reason " prefix. Meanings are botocore's words where it gives some; the user guide's
#: task settings page ("Full-load task settings": StopTaskCachedChangesApplied and
#: StopTaskCachedChangesNotApplied; "Stopping a task at a specified time": CdcStopPosition)
#: says when the user-defined stop points occur. A reason missing here fails closed.
STOP_REASONS: Mapping[str, StopReason] = {
    "NORMAL": StopReason("the task completed successfully", _ALL_TYPES),
    "RECOVERABLE_ERROR": StopReason(
        "the task stopped for an error DMS considers recoverable",
        fix=f"Check the task's CloudWatch log for the error. {_RESUME}",
    ),
    "FATAL_ERROR": StopReason(
        "the task stopped for a fatal error",
        fix="Check the task's CloudWatch log and the endpoints' connection tests.",
    ),
    "FULL_LOAD_ONLY_FINISHED": StopReason(
        "the task completed the full load phase (cached changes applied when "
        "StopTaskCachedChangesApplied is true)",
        _WITH_FULL_LOAD,
        fix="A CDC-only task has no full load phase; check the task's migration type.",
    ),
    # Full load done, changes made during the load NOT applied: a full-load task has none to apply,
    # but a full-load-and-cdc task's tables then miss them until the task resumes.
    "STOPPED_AFTER_FULL_LOAD": StopReason(
        "full load completed, with cached changes not applied (StopTaskCachedChangesNotApplied)",
        frozenset({"full-load"}),
        fix=(
            "The Neon tables miss the changes made during the load. Resume the task "
            "(start_type='resume-processing') to apply them, or unset "
            "FullLoadSettings.StopTaskCachedChangesNotApplied."
        ),
    ),
    "STOPPED_AFTER_CACHED_EVENTS": StopReason(
        "full load completed, with cached changes applied (StopTaskCachedChangesApplied)",
        _WITH_FULL_LOAD,
        fix="A CDC-only task has no full load phase; check the task's migration type.",
    ),
    "EXPRESS_LICENSE_LIMITS_REACHED": StopReason(
        "the task reached the limits of the source's express license",
        fix="Check the source database's edition and the task's CloudWatch log.",
    ),
    "STOPPED_AFTER_DDL_APPLY": StopReason(
        "user-defined stop after a DDL change was applied", _WITH_CDC, fix="Only a task with CDC applies DDL."
    ),
    "STOPPED_DUE_TO_LOW_MEMORY": StopReason(
        "the replication instance ran low on memory",
        fix=f"Use a larger replication instance class or fewer parallel loads. {_RESUME}",
    ),
    "STOPPED_DUE_TO_LOW_DISK": StopReason(
        "the replication instance ran low on disk",
        fix=f"Give the replication instance more storage. {_RESUME}",
    ),
    "STOPPED_AT_SERVER_TIME": StopReason(
        "user-defined stop at a server time (CdcStopPosition server_time)",
        _WITH_CDC,
        fix="Only a task with CDC has a CdcStopPosition.",
    ),
    "STOPPED_AT_COMMIT_TIME": StopReason(
        "user-defined stop at a commit time (CdcStopPosition commit_time)",
        _WITH_CDC,
        fix="Only a task with CDC has a CdcStopPosition.",
    ),
    # botocore lists these two without a description: DMS stopped the task itself (an instance
    # reconfiguration, a task recycle), so this run did not finish.
    "RECONFIGURATION_RESTART": StopReason("DMS stopped the task to apply a reconfiguration", fix=_RESUME),
    "RECYCLE_TASK": StopReason("DMS stopped the task to recycle it", fix=_RESUME),
}


def stop_reason_verdict(code: str, migration_type: str) -> tuple[bool, str]:
    """``(success, explanation)`` for a stopped task of ``migration_type`` with StopReason ``code``.

    An empty or undocumented reason is never a success (fail closed).
    """
    reason = STOP_REASONS.get(code)
    if reason is None:
        return False, (
            f"stop reason {code or '(none)'!r} is not one the DMS API documents, so this run is not "
            "counted as a success. Check the task in the DMS console and its CloudWatch log"
        )
    if migration_type in reason.success_for:
        return True, reason.meaning
    return False, f"{reason.meaning}; for a {migration_type} task that is not a finished run. {reason.fix}"


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


def _task_stat(task: Mapping[str, Any], name: str) -> int:
    """One count of the task's ReplicationTaskStats (0 when missing or not a number)."""
    stats = task.get("ReplicationTaskStats") or {}
    try:
        return int(stats.get(name) or 0)
    except (TypeError, ValueError):
        return 0


def _failure_text(task: Mapping[str, Any]) -> str:
    parts = [str(task.get("StopReason") or "").strip(), str(task.get("LastFailureMessage") or "").strip()]
    return " ".join(f"{p}." if not p.endswith(".") else p for p in parts if p) or "no reason given."


def _as_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def last_run_started(task: Mapping[str, Any]) -> datetime | None:
    """When the task's latest run began, from ReplicationTaskStats (None if it never ran).

    botocore: StartDate is "the date the replication task was started either with a fresh start or
    a resume", FreshStartDate "either with a fresh start or a target reload".
    ReplicationTaskStartDate is only when the task is *scheduled* to start, so it is not used.
    """
    stats = task.get("ReplicationTaskStats") or {}
    dates = [d for d in (_as_utc(stats.get("StartDate")), _as_utc(stats.get("FreshStartDate"))) if d]
    return max(dates) if dates else None


def has_run(task: Mapping[str, Any]) -> bool:
    """True when the task ran before (stopped, failed, or with a run start in its statistics)."""
    status = str(task.get("Status") or "").lower()
    return status in (TaskStatus.STOPPED, *TASK_FAILED) or last_run_started(task) is not None


def start_type_for(task: Mapping[str, Any], requested: StartType | str) -> StartType:
    """The StartReplicationTaskType to send for ``requested`` on this task.

    botocore (StartReplicationTaskType): start-replication is the only valid action for a task's
    first run (anything else "will result in data errors"), and only for it. On a task that ran
    before, start-replication becomes reload-target for a full-load task (load everything again)
    and resume-processing for a task with CDC ("to replicate the changes from the last stop
    position"; reloading would throw away the target and the captured position).
    """
    kind = StartType(requested)
    if not has_run(task):
        return StartType.START_REPLICATION
    if kind != StartType.START_REPLICATION:
        return kind
    if str(task.get("MigrationType") or MigrationType.FULL_LOAD.value) == MigrationType.FULL_LOAD:
        return StartType.RELOAD_TARGET
    return StartType.RESUME_PROCESSING


def run_began_since(task: Mapping[str, Any], since: datetime) -> bool:
    """True when the task's latest run began at or after ``since`` (aware or naive UTC)."""
    started = last_run_started(task)
    threshold = _as_utc(since)
    return started is not None and threshold is not None and started >= threshold


def classify_task(
    task: Mapping[str, Any], *, wait_for_cdc_stop: bool = False, started_after: datetime | None = None
) -> TaskOutcome:
    """Decide whether a replication task has finished, failed, or is still on its way.

    A stopped task succeeds only with a stop reason that means success for its migration type
    (:data:`STOP_REASONS`) and no table in error; an undocumented reason fails. A task with CDC
    succeeds when its full load is complete and it is ``running`` (unless ``wait_for_cdc_stop``),
    because such a task never stops by itself. ``failed`` fails. With ``started_after``, a ``ready``
    task, or a ``stopped`` or ``failed`` one whose latest run began before it, is an earlier run's
    leftover: the wait goes on until this run shows. An unknown status keeps the wait going.
    """
    name = task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn") or "?"
    status = str(task.get("Status") or "").lower()
    migration_type = str(task.get("MigrationType") or MigrationType.FULL_LOAD.value)
    percent = _task_stat(task, "FullLoadProgressPercent")

    if started_after is not None and _from_earlier_run(task, status, started_after):
        return TaskOutcome(
            Outcome.WAITING,
            f"Replication task {name} is {status} from an earlier run (last started "
            f"{last_run_started(task) or 'never'}); waiting for the run started at {started_after}.",
        )
    if status in TASK_FAILED:
        return TaskOutcome(Outcome.FAILED, f"Replication task {name} is {status}: {_failure_text(task)}")
    if status == TaskStatus.STOPPED:
        return _classify_stop(task, name, migration_type)
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


def _from_earlier_run(task: Mapping[str, Any], status: str, since: datetime) -> bool:
    """A ``ready`` task not started yet, or a stop/failure whose run began before ``since``.

    A stop or failure with no recorded run start (a task that failed while starting) cannot be
    told apart, so it is judged as it is rather than waited on until the deadline.
    """
    if status == TaskStatus.READY:
        return True
    if status not in (TaskStatus.STOPPED, *TASK_FAILED):
        return False
    return last_run_started(task) is not None and not run_began_since(task, since)


def _classify_stop(task: Mapping[str, Any], name: str, migration_type: str) -> TaskOutcome:
    code = stop_reason_code(task.get("StopReason"))
    success, meaning = stop_reason_verdict(code, migration_type)
    if not success:
        detail = f" {task['LastFailureMessage']}." if task.get("LastFailureMessage") else ""
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication task {name} stopped before finishing (Stop Reason {code or 'none'}: "
            f"{meaning}).{detail}",
        )
    stats = task.get("ReplicationTaskStats") or {}
    percent = _task_stat(task, "FullLoadProgressPercent")
    if migration_type in _WITH_FULL_LOAD and "FullLoadProgressPercent" in stats and percent < 100:
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication task {name} stopped ({code}) at {percent}% of the full load, so the load did "
            f"not complete (a stop by request?). {_RESUME}",
        )
    errored = _task_stat(task, "TablesErrored")
    if errored:
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication task {name} stopped ({code}) with {errored} table(s) in error. Check the "
            "table statistics and the task's CloudWatch log.",
        )
    return TaskOutcome(Outcome.SUCCESS, f"Replication task {name} finished ({code}: {meaning}).")


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

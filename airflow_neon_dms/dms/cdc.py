"""Change data capture verdicts: full load done on a task that keeps running, and the cutover stop (pure).

Sources (botocore DMS model 2016-01-01): ReplicationTaskStats has FullLoadProgressPercent,
TablesLoaded, TablesLoading, TablesQueued, TablesErrored, FullLoadFinishDate and StopDate;
TableStatistics.TableState ``Table completed`` ends a table's load. A ``full-load-and-cdc`` task
loads each table, applies the changes cached during that table's load, and goes on replicating
while ``running`` (user guide, "Creating tasks for ongoing replication"); it never stops by
itself unless a CdcStopPosition or StopTaskCachedChangesApplied says so. ModifyReplicationTask
needs a stopped task (API reference), so a running task's stop point cannot be moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow_neon_dms.dms.states import (
    KNOWN_TASK_STATUSES,
    TABLE_FAILED,
    TASK_FAILED,
    Outcome,
    TableState,
    TaskOutcome,
    TaskStatus,
    stop_reason_code,
)
from airflow_neon_dms.dms.table_names import TableRef

#: Stop reasons that mean the task stopped for an error or a resource limit, not because it was asked to.
STOP_REASONS_ERROR: frozenset[str] = frozenset(
    {
        "FATAL_ERROR",
        "RECOVERABLE_ERROR",
        "STOPPED_DUE_TO_LOW_MEMORY",
        "STOPPED_DUE_TO_LOW_DISK",
        "EXPRESS_LICENSE_LIMITS_REACHED",
    }
)
#: Task statuses in which a task no longer replicates changes, so its lag can never settle.
NOT_REPLICATING: frozenset[str] = frozenset({*TASK_FAILED, TaskStatus.STOPPED, TaskStatus.DELETING})


def _name(task: Mapping[str, Any]) -> str:
    return str(task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn") or "?")


def _stat(task: Mapping[str, Any], key: str) -> int:
    try:
        return int((task.get("ReplicationTaskStats") or {}).get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _reason(task: Mapping[str, Any]) -> str:
    parts = [str(task.get("StopReason") or "").strip(), str(task.get("LastFailureMessage") or "").strip()]
    return " ".join(p for p in parts if p) or "no reason given"


def full_load_done(
    task: Mapping[str, Any],
    table_rows: Sequence[Mapping[str, Any]],
    expected: Sequence[TableRef] | None = None,
) -> TaskOutcome:
    """Has a CDC task loaded every table and applied the cached changes, while it keeps running?

    Success: the task is ``running`` with FullLoadProgressPercent 100, no table loading, queued
    or errored, and every table (every one of ``expected``, when given) ``Table completed``.
    Failure: the task failed or stopped, is a full-load-only task, or a table is in error,
    cancelled or missing on the source. Anything else keeps waiting.
    """
    name = _name(task)
    status = str(task.get("Status") or "").lower()
    if str(task.get("MigrationType") or "") == "full-load":
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication task {name} is a full-load task: it stops after the load and never replicates "
            "changes. Wait for it with NeonDmsTaskCompletedSensor, or create it with "
            "migration_type='full-load-and-cdc'.",
        )
    if status in TASK_FAILED or status in (TaskStatus.STOPPED, TaskStatus.DELETING):
        return TaskOutcome(Outcome.FAILED, f"Replication task {name} is {status}: {_reason(task)}.")
    failed = [
        f"{TableRef.from_statistics(r)} ({r.get('TableState')})"
        for r in table_rows
        if str(r.get("TableState") or "") in TABLE_FAILED
    ]
    if failed or _stat(task, "TablesErrored"):
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication task {name}: {len(failed) or _stat(task, 'TablesErrored')} table(s) failed to load"
            f"{': ' + ', '.join(failed[:10]) if failed else ''}. Reload them (NeonDmsReloadTablesOperator) "
            "after fixing the cause in the task's CloudWatch log.",
        )
    if status != TaskStatus.RUNNING:
        return TaskOutcome(Outcome.WAITING, f"Replication task {name} is {status or 'unknown'}.")
    percent = _stat(task, "FullLoadProgressPercent")
    busy = _stat(task, "TablesLoading") + _stat(task, "TablesQueued")
    if percent < 100 or busy:
        return TaskOutcome(
            Outcome.WAITING,
            f"Replication task {name}: full load {percent}%, {busy} table(s) loading or queued.",
        )
    if not table_rows:
        return TaskOutcome(Outcome.WAITING, f"Replication task {name} lists no table statistics yet.")
    seen = {TableRef.from_statistics(r) for r in table_rows}
    absent = [str(t) for t in expected or () if t not in seen]
    loading = [
        str(TableRef.from_statistics(r)) for r in table_rows if r.get("TableState") != TableState.COMPLETED
    ]
    if absent or loading:
        waiting = absent + loading
        return TaskOutcome(
            Outcome.WAITING,
            f"Replication task {name}: {len(waiting)} table(s) not yet completed, e.g. "
            f"{', '.join(waiting[:5])}.",
        )
    return TaskOutcome(
        Outcome.SUCCESS,
        f"Replication task {name} loaded all {len(table_rows)} table(s) and applied the cached changes; "
        "CDC goes on.",
    )


def cutover_stop(task: Mapping[str, Any]) -> TaskOutcome:
    """Has a task we asked to stop (StopReplicationTask at cutover) stopped cleanly?

    ``stopped`` with any stop reason except an error or resource one is success (a requested stop
    may report NORMAL, STOPPED_AT_SERVER_TIME, STOPPED_AT_COMMIT_TIME or none); ``failed``,
    an error stop reason, or tables in error fail. ``running``/``stopping`` wait; an unknown status
    waits too.
    """
    name = _name(task)
    status = str(task.get("Status") or "").lower()
    if status in TASK_FAILED:
        return TaskOutcome(Outcome.FAILED, f"Replication task {name} is {status}: {_reason(task)}.")
    if status == TaskStatus.STOPPED:
        code = stop_reason_code(task.get("StopReason"))
        if code in STOP_REASONS_ERROR:
            return TaskOutcome(
                Outcome.FAILED, f"Replication task {name} stopped for an error: {_reason(task)}."
            )
        if _stat(task, "TablesErrored"):
            return TaskOutcome(
                Outcome.FAILED,
                f"Replication task {name} stopped with {_stat(task, 'TablesErrored')} table(s) in error.",
            )
        return TaskOutcome(Outcome.SUCCESS, f"Replication task {name} stopped ({code or 'no stop reason'}).")
    if status == TaskStatus.DELETING:
        return TaskOutcome(Outcome.FAILED, f"Replication task {name} is being deleted.")
    if status not in KNOWN_TASK_STATUSES:
        return TaskOutcome(Outcome.WAITING, f"Replication task {name} has unknown status {status!r}.")
    return TaskOutcome(Outcome.WAITING, f"Replication task {name} is {status}, not yet stopped.")


def not_replicating(task: Mapping[str, Any] | None) -> str | None:
    """Why a lag or quiescence wait on this task can never end (gone, failed, stopped), or None."""
    if task is None:
        return "The replication task no longer exists."
    status = str(task.get("Status") or "").lower()
    if status in NOT_REPLICATING:
        return (
            f"Replication task {_name(task)} is {status} ({_reason(task)}), so it replicates no changes. "
            "Resume it (NeonDmsStartTaskOperator, resume-processing) before waiting for its lag."
        )
    return None


def stop_facts(task: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready facts of a stopped task for the closing report."""
    stats = task.get("ReplicationTaskStats") or {}
    stopped = stats.get("StopDate")
    return {
        "status": task.get("Status"),
        "stop_reason": task.get("StopReason"),
        "stopped_at": stopped.isoformat() if isinstance(stopped, datetime) else stopped,
        "recovery_checkpoint": task.get("RecoveryCheckpoint"),
        "cdc_stop_position": task.get("CdcStopPosition"),
    }

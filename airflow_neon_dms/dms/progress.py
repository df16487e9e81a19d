"""Progress lines for the task log while a DMS wait polls: pure formatting, no I/O, no Airflow.

A full load is summarised from ``ReplicationTaskStats`` (DescribeReplicationTasks:
FullLoadProgressPercent, TablesLoaded, TablesLoading, TablesQueued, TablesErrored) and the rows
from DescribeTableStatistics (``FullLoadRows`` per table); a reload is shown per table
(``TableState`` and ``FullLoadRows``). Field names follow botocore's DMS service model
(``data/dms/2016-01-01/service-2.json``: ReplicationTaskStats, TableStatistics).

A wait keeps one :class:`ProgressLog` and logs only the lines it returns, so the task log gets a
line when something changed since the last poll, not on every poll.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_neon_dms.dms.states import TABLE_FAILED, TableState
from airflow_neon_dms.dms.table_names import TableRef

#: Table states counted as loaded, loading and queued when a task has no ReplicationTaskStats
#: yet; the failed states (TABLE_FAILED) count as errored.
_LOADED = frozenset({TableState.COMPLETED})
_LOADING = frozenset({TableState.FULL_LOAD, TableState.RELOADING})
_QUEUED = frozenset({TableState.BEFORE_LOAD})

#: Key of the whole-task line in the mapping :func:`task_progress_lines` returns.
TASK_LINE = "task"


@dataclass(frozen=True)
class CdcLatency:
    """Replication lag in seconds, as CloudWatch publishes it (AWS/DMS CDCLatencySource and
    CDCLatencyTarget). The waits pass it once the provider reads those metrics."""

    source_seconds: float | None = None
    target_seconds: float | None = None

    def describe(self) -> str:
        parts = [
            f"{side} {seconds:.0f} s"
            for side, seconds in (("source", self.source_seconds), ("target", self.target_seconds))
            if seconds is not None
        ]
        return f"CDC latency {', '.join(parts)}" if parts else ""


@dataclass(frozen=True)
class TaskProgress:
    """Where a task's run stands: table counts, rows copied, percent, and CDC lag when known."""

    status: str
    percent: int | None
    loaded: int
    loading: int
    queued: int
    errored: int
    rows: int | None
    cdc_latency: CdcLatency | None = None

    def line(self, subject: str) -> str:
        """``<subject> running: full load 40%: 2 of 5 table(s) loaded, 1 loading, 2 queued, ...``."""
        total = self.loaded + self.loading + self.queued + self.errored
        percent = f" {self.percent}%" if self.percent is not None else ""
        text = (
            f"{subject} {self.status}: full load{percent}: {self.loaded} of {total} table(s) loaded, "
            f"{self.loading} loading, {self.queued} queued, {self.errored} errored"
        )
        if self.rows is not None:
            text += f"; {self.rows:,} row(s) copied"
        lag = self.cdc_latency.describe() if self.cdc_latency else ""
        return f"{text}; {lag}" if lag else text


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _rows(tables: Sequence[Mapping[str, Any]]) -> int:
    return sum(_count(row.get("FullLoadRows")) for row in tables)


def task_progress(
    task: Mapping[str, Any],
    tables: Sequence[Mapping[str, Any]] | None = None,
    cdc_latency: CdcLatency | None = None,
) -> TaskProgress:
    """The progress of one task from DescribeReplicationTasks and (optionally) its table statistics.

    The counts come from ``ReplicationTaskStats``; when the task has none yet they are counted
    from the tables' states. Rows are the sum of ``FullLoadRows`` and unknown without statistics.
    """
    stats = task.get("ReplicationTaskStats") or {}
    status = str(task.get("Status") or "unknown")
    percent = stats.get("FullLoadProgressPercent")
    rows = _rows(tables) if tables is not None else None
    if stats:
        return TaskProgress(
            status=status,
            percent=_count(percent) if percent is not None else None,
            loaded=_count(stats.get("TablesLoaded")),
            loading=_count(stats.get("TablesLoading")),
            queued=_count(stats.get("TablesQueued")),
            errored=_count(stats.get("TablesErrored")),
            rows=rows,
            cdc_latency=cdc_latency,
        )
    states = [str(row.get("TableState") or "") for row in tables or ()]
    return TaskProgress(
        status=status,
        percent=None,
        loaded=sum(s in _LOADED for s in states),
        loading=sum(s in _LOADING for s in states),
        queued=sum(s in _QUEUED for s in states),
        errored=sum(s in TABLE_FAILED for s in states),
        rows=rows,
        cdc_latency=cdc_latency,
    )


def task_progress_lines(
    task: Mapping[str, Any],
    tables: Sequence[Mapping[str, Any]] | None = None,
    cdc_latency: CdcLatency | None = None,
) -> dict[str, str]:
    """``{TASK_LINE: line}`` for a task's run, named by its identifier (or ARN)."""
    subject = str(task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn") or "task")
    return {TASK_LINE: task_progress(task, tables, cdc_latency).line(f"Replication task {subject}")}


def table_line(row: Mapping[str, Any]) -> str:
    """``public.orders: Table is being reloaded, 1,200 row(s)`` (validation state when enabled)."""
    ref = TableRef.from_statistics(row)
    text = f"{ref}: {row.get('TableState') or 'no state yet'}, {_count(row.get('FullLoadRows')):,} row(s)"
    errors = _count(row.get("FullLoadErrorRows"))
    if errors:
        text += f", {errors:,} error row(s)"
    validation = row.get("ValidationState")
    if validation and validation != "Not enabled":
        text += f", validation {validation}"
    return text


def table_progress_lines(
    tables: Sequence[Mapping[str, Any]], expected: Sequence[TableRef] | None = None
) -> dict[str, str]:
    """One line per table (keyed by ``schema.table``); an expected table without statistics says so."""
    lines = {str(TableRef.from_statistics(row)): table_line(row) for row in tables}
    for ref in expected or ():
        lines.setdefault(str(ref), f"{ref}: no statistics yet")
    return lines


class ProgressLog:
    """Remembers the lines logged so far, so a wait logs only what changed since the last poll."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def changes(self, lines: Mapping[str, str]) -> list[str]:
        """The lines of ``lines`` that differ from the last ones under the same key, in order."""
        changed = [line for key, line in lines.items() if self._last.get(key) != line]
        self._last.update(lines)
        return changed

"""Replication task log lines, where DMS writes them, and when (pure functions, no state).

Every task keeps its log (``task_log_operations``); it is also written to CloudWatch Logs when the
task's settings have ``Logging.EnableLogging``.

Where (AWS DMS User Guide, "Logging task settings"): DMS fills ``Logging.CloudWatchLogGroup`` with
``dms-tasks-<replication instance identifier>`` and ``Logging.CloudWatchLogStream`` with
``dms-task-<task resource id>`` (the last part of the task ARN). Line format: DMS's engine writes
``<UTC time> [<COMPONENT padded to 16>]<severity>:  <text>``, e.g.
``2025-01-01T00:00:00 [TASK_MANAGER    ]I:  Task 'orders' running full load only in fresh start
mode``; severities I, W, E (and D, T for debug and trace).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

_MIGRATION_WORDS = {
    "full-load": "full load only",
    "full-load-and-cdc": "full load and CDC",
    "cdc": "CDC only",
}


def log_line(when: float, component: str, severity: str, text: str) -> str:
    """One task log line in DMS's format."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
    return f"{stamp} [{component:<16}]{severity}:  {text}"


def start_line(task_id: str, migration_type: str, start_type: str) -> str:
    """The TASK_MANAGER line a task writes when it starts (resume-processing runs in resume mode)."""
    mode = "resume" if start_type == "resume-processing" else "fresh start"
    kind = _MIGRATION_WORDS.get(migration_type, migration_type)
    return f"Task '{task_id}' running {kind} in {mode} mode"


def table_lines(
    event: str, schema: str, table: str, table_id: int, detail: object = ""
) -> tuple[str, str, str]:
    """(component, severity, text) of a table's ``loading``/``loaded``/``failed`` log line."""
    name = f"'{schema}'.'{table}' (Id = {table_id})"
    if event == "loading":
        return "TASK_MANAGER", "I", f"Start loading table {name}"
    if event == "loaded":
        return "TARGET_LOAD", "I", f"Load finished for table {name}. {detail} rows received."
    return "TARGET_LOAD", "E", f"Failed to load table {name}: {detail}"


def log_location(task_arn: str, instance_id: str) -> tuple[str, str]:
    """(CloudWatch log group, log stream) of a task on the named replication instance."""
    return f"dms-tasks-{instance_id}", f"dms-task-{task_arn.rsplit(':', 1)[-1]}"


def logging_enabled(settings_text: str) -> bool:
    """Whether ReplicationTaskSettings turn on CloudWatch logging (``Logging.EnableLogging``)."""
    try:
        logging = json.loads(settings_text or "{}").get("Logging") or {}
    except (ValueError, AttributeError):
        return False
    return isinstance(logging, dict) and logging.get("EnableLogging") is True


@dataclass
class TaskLog:
    """The log lines of one task, as (epoch seconds, line)."""

    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(text.encode("utf-8")) + 1 for _, text in self.lines)

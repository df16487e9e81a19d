"""Pure rules for reloading selected tables: the temporary task's name, mappings and settings."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.dms.task_settings import TargetTablePrepMode

#: A running task's tables are reloaded with ReloadTables, which DMS accepts only while the task is
#: ``running`` (botocore: "otherwise the service will throw an InvalidResourceStateFault") and
#: only for full-load and full-load-and-cdc tasks (DMS user guide, "Reloading tables during a task").
RELOADABLE_MIGRATION_TYPES = frozenset({"full-load", "full-load-and-cdc"})

#: DMS limits a replication task identifier to 255 characters.
MAX_TASK_IDENTIFIER = 255


def temporary_task_identifier(task_identifier: str, tables: Sequence[TableRef]) -> str:
    """A stable name for the reload task of these tables, so a retry finds the same task."""
    digest = hashlib.sha256(",".join(sorted(map(str, tables))).encode()).hexdigest()[:10]
    suffix = f"-reload-{digest}"
    return task_identifier[: MAX_TASK_IDENTIFIER - len(suffix)].rstrip("-") + suffix


def temporary_task_mappings(original_mappings: str | Mapping[str, Any], tables: Sequence[TableRef]) -> str:
    """Select exactly ``tables`` and keep the original task's transformation rules."""
    original = (
        json.loads(original_mappings) if isinstance(original_mappings, str) else dict(original_mappings)
    )
    transformations = []
    for rule in original.get("rules", []):
        if isinstance(rule, Mapping) and rule.get("rule-type") == "transformation":
            kept = {k: v for k, v in rule.items() if k not in ("rule-id", "rule-name")}
            transformations.append(kept)
    selection = TableMappings.for_tables(tables)
    return TableMappings(selection.rules, transformations=transformations).to_json()


def temporary_task_settings(original_settings: str | Mapping[str, Any] | None) -> str:
    """The original settings with TRUNCATE_BEFORE_LOAD, so reloaded rows never duplicate."""
    if isinstance(original_settings, str):
        settings: dict[str, Any] = json.loads(original_settings or "{}")
    else:
        settings = copy.deepcopy(dict(original_settings or {}))
    settings.setdefault("FullLoadSettings", {})["TargetTablePrepMode"] = (
        TargetTablePrepMode.TRUNCATE_BEFORE_LOAD.value
    )
    logging_settings = settings.get("Logging")
    if isinstance(logging_settings, dict):
        # DMS names these after the task itself; carrying them over would be refused.
        logging_settings.pop("CloudWatchLogGroup", None)
        logging_settings.pop("CloudWatchLogStream", None)
    return json.dumps(settings, sort_keys=True)


def reload_refusal(task: Mapping[str, Any]) -> str | None:
    """Why DMS would refuse ReloadTables for this task (checked before any table is emptied), or None."""
    name = task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn") or "?"
    status = str(task.get("Status") or "")
    migration_type = str(task.get("MigrationType") or "")
    if migration_type and migration_type not in RELOADABLE_MIGRATION_TYPES:
        return (
            f"Replication task {name} is a {migration_type} task: DMS reloads tables only of "
            "full-load and full-load-and-cdc tasks. Stop the task (a stopped task's tables are "
            "reloaded with a temporary full-load task), then resume it."
        )
    if status != "running":
        return (
            f"Replication task {name} is {status or 'in an unknown state'}: DMS accepts ReloadTables "
            "only while a task is running. Retry once it is running, or once it has stopped."
        )
    return None

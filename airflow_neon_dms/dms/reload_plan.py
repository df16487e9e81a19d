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

"""The parts of ReplicationTaskSettings JSON the emulator honours, validated like DMS does."""

from __future__ import annotations

import json
from dataclasses import dataclass

from airflow_neon_dms.local.faults import InvalidParameterValueException
from airflow_neon_dms.local.full_load import PREP_MODES

DEFAULT_SETTINGS = {
    "TargetMetadata": {"SupportLobs": True, "LimitedSizeLobMode": True, "LobMaxSize": 32},
    "FullLoadSettings": {
        "TargetTablePrepMode": "DROP_AND_CREATE",
        "MaxFullLoadSubTasks": 8,
        "CommitRate": 10000,
    },
    "ValidationSettings": {"EnableValidation": False},
    "Logging": {"EnableLogging": False},
}


@dataclass(frozen=True)
class TaskSettings:
    """TargetTablePrepMode, parallel tables and validation switch of one task."""

    prep_mode: str = "DROP_AND_CREATE"
    max_subtasks: int = 8
    validation: bool = False


def parse_task_settings(text: str | None) -> tuple[TaskSettings, str]:
    """Return the settings and the JSON text to store (the defaults when none were given)."""
    if not text or not text.strip():
        return TaskSettings(), json.dumps(DEFAULT_SETTINGS)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidParameterValueException(
            f"Invalid task settings JSON: {err.msg} at line {err.lineno} column {err.colno}."
        ) from err
    if not isinstance(document, dict):
        raise InvalidParameterValueException("ReplicationTaskSettings must be a JSON object.")
    full_load = document.get("FullLoadSettings") or {}
    validation = document.get("ValidationSettings") or {}
    if not isinstance(full_load, dict) or not isinstance(validation, dict):
        raise InvalidParameterValueException(
            "FullLoadSettings and ValidationSettings must be JSON objects in ReplicationTaskSettings."
        )
    prep_mode = full_load.get("TargetTablePrepMode", "DROP_AND_CREATE")
    if prep_mode not in PREP_MODES:
        raise InvalidParameterValueException(
            f"Invalid value {prep_mode!r} for FullLoadSettings.TargetTablePrepMode; use one of "
            f"{', '.join(PREP_MODES)}."
        )
    subtasks = full_load.get("MaxFullLoadSubTasks", 8)
    if not isinstance(subtasks, int) or not 1 <= subtasks <= 49:
        raise InvalidParameterValueException(
            f"Invalid value {subtasks!r} for FullLoadSettings.MaxFullLoadSubTasks; use 1 to 49."
        )
    enabled = validation.get("EnableValidation", False)
    if not isinstance(enabled, bool):
        raise InvalidParameterValueException("ValidationSettings.EnableValidation must be true or false.")
    return TaskSettings(prep_mode, subtasks, enabled), text

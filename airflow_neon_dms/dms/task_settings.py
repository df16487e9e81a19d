"""Typed builder for DMS replication task settings (pure, no Airflow import).

Defaults follow Neon's DMS guide: keep the target schema you created (TRUNCATE_BEFORE_LOAD or
DO_NOTHING, never DROP_AND_CREATE), validate every row, and log to CloudWatch, with TARGET_LOAD at
LOGGER_SEVERITY_DEBUG. LOGGER_SEVERITY_DETAILED_DEBUG (the guide's choice) may write row data to
CloudWatch, so it is an explicit opt-in (``target_load_severity=DETAILED_DEBUG``). Everything can be
overridden, raw JSON included.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_neon_dms.exceptions import NeonConfigError


class TargetTablePrepMode(str, Enum):
    """FullLoadSettings.TargetTablePrepMode values this provider allows for Neon."""

    TRUNCATE_BEFORE_LOAD = "TRUNCATE_BEFORE_LOAD"
    DO_NOTHING = "DO_NOTHING"
    DROP_AND_CREATE = "DROP_AND_CREATE"


DEBUG = "LOGGER_SEVERITY_DEBUG"
#: Logs more than DEBUG, row data included: opt in only where CloudWatch may hold the data.
DETAILED_DEBUG = "LOGGER_SEVERITY_DETAILED_DEBUG"
#: Logging component severities, from the DMS user guide ("Logging task settings").
LOGGER_SEVERITIES: tuple[str, ...] = (
    "LOGGER_SEVERITY_DEFAULT",
    "LOGGER_SEVERITY_ERROR",
    "LOGGER_SEVERITY_WARNING",
    "LOGGER_SEVERITY_INFO",
    DEBUG,
    DETAILED_DEBUG,
)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``override`` merged in; nested dicts merge, lists and values replace."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class TaskSettings:
    """Replication task settings; ``overrides`` is merged last and wins.

    ``target_load_severity`` is LOGGER_SEVERITY_DEBUG by default; pass DETAILED_DEBUG to opt in to
    the most verbose TARGET_LOAD log, which may write row data to CloudWatch.
    """

    target_table_prep_mode: TargetTablePrepMode | str = TargetTablePrepMode.TRUNCATE_BEFORE_LOAD
    enable_validation: bool = True
    enable_logging: bool = True
    target_load_severity: str = DEBUG
    allow_drop_and_create: bool = False
    #: ControlTablesSettings.ControlSchema: the target schema for DMS's control tables (DMS user
    #: guide, "Control table task settings"; None: the target's default schema).
    control_schema: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            mode = TargetTablePrepMode(self.target_table_prep_mode)
        except ValueError:
            raise NeonConfigError(
                f"TargetTablePrepMode {self.target_table_prep_mode!r} is not a DMS prep mode; use "
                "TRUNCATE_BEFORE_LOAD or DO_NOTHING."
            ) from None
        if self.target_load_severity not in LOGGER_SEVERITIES:
            raise NeonConfigError(
                f"TARGET_LOAD severity {self.target_load_severity!r} is not a DMS logger severity; use "
                f"one of {', '.join(LOGGER_SEVERITIES)}."
            )
        if mode == TargetTablePrepMode.DROP_AND_CREATE and not self.allow_drop_and_create:
            raise NeonConfigError(
                "TargetTablePrepMode DROP_AND_CREATE drops the Neon tables you created and lets DMS "
                "recreate them without indexes, defaults or exact types. Use TRUNCATE_BEFORE_LOAD "
                "or DO_NOTHING, or pass allow_drop_and_create=True if you mean it."
            )

    def to_dict(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "FullLoadSettings": {
                "TargetTablePrepMode": TargetTablePrepMode(self.target_table_prep_mode).value
            },
            "ValidationSettings": {"EnableValidation": self.enable_validation},
            "Logging": {"EnableLogging": self.enable_logging},
        }
        if self.control_schema:
            base["ControlTablesSettings"] = {"ControlSchema": self.control_schema}
        if self.enable_logging:
            base["Logging"]["LogComponents"] = [
                {"Id": "TARGET_LOAD", "Severity": self.target_load_severity},
            ]
        return deep_merge(base, self.overrides)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def parse_task_settings(value: TaskSettings | Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Return task settings as a dict from a builder, a dict, a JSON string, or None (defaults)."""
    if value is None:
        return TaskSettings().to_dict()
    if isinstance(value, TaskSettings):
        return value.to_dict()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise NeonConfigError(
                f"Task settings are not valid JSON: {err}. Pass a dict, valid JSON or TaskSettings()."
            ) from None
    if not isinstance(value, Mapping):
        raise NeonConfigError("Task settings must be a JSON object, a dict or TaskSettings().")
    return dict(value)


def prep_mode(settings: Mapping[str, Any]) -> str:
    """TargetTablePrepMode of a settings dict (DMS's default is DROP_AND_CREATE)."""
    full_load = settings.get("FullLoadSettings") or {}
    return str(full_load.get("TargetTablePrepMode") or TargetTablePrepMode.DROP_AND_CREATE.value)


def validation_enabled(settings: Mapping[str, Any]) -> bool:
    return bool((settings.get("ValidationSettings") or {}).get("EnableValidation"))

"""The parts of ReplicationTaskSettings JSON the emulator honours, validated like DMS does."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from airflow_neon_dms.local.faults import InvalidParameterValueException
from airflow_neon_dms.local.full_load import PREP_MODES

#: Log components of a task (AWS DMS user guide, "Logging task settings"), each at its default.
LOG_COMPONENTS = (
    "TRANSFORMATION", "SOURCE_UNLOAD", "IO", "TARGET_LOAD", "PERFORMANCE", "SOURCE_CAPTURE",
    "SORTER", "REST_SERVER", "VALIDATOR_EXT", "TARGET_APPLY", "TASK_MANAGER", "TABLES_MANAGER",
    "METADATA_MANAGER", "FILE_FACTORY", "COMMON", "ADDONS", "DATA_STRUCTURE", "COMMUNICATION",
    "FILE_TRANSFER",
)  # fmt: skip

#: The full settings document DMS stores for a task created without settings: the AWS DMS user
#: guide's "Task settings example" (docs.aws.amazon.com/dms/latest/userguide/
#: CHAP_Tasks.CustomizingTasks.TaskSettings.html) with each value at the default its section
#: documents (TargetTablePrepMode DROP_AND_CREATE, validation and CloudWatch logging off).
DEFAULT_SETTINGS: dict[str, Any] = {
    "TargetMetadata": {
        "TargetSchema": "",
        "SupportLobs": True,
        "FullLobMode": False,
        "LobChunkSize": 64,
        "LimitedSizeLobMode": True,
        "LobMaxSize": 32,
        "InlineLobMaxSize": 0,
        "LoadMaxFileSize": 0,
        "ParallelLoadThreads": 0,
        "ParallelLoadBufferSize": 0,
        "BatchApplyEnabled": False,
        "TaskRecoveryTableEnabled": False,
        "ParallelLoadQueuesPerThread": 0,
        "ParallelApplyThreads": 0,
        "ParallelApplyBufferSize": 0,
        "ParallelApplyQueuesPerThread": 0,
    },
    "FullLoadSettings": {
        "TargetTablePrepMode": "DROP_AND_CREATE",
        "CreatePkAfterFullLoad": False,
        "StopTaskCachedChangesApplied": False,
        "StopTaskCachedChangesNotApplied": False,
        "MaxFullLoadSubTasks": 8,
        "TransactionConsistencyTimeout": 600,
        "CommitRate": 10000,
    },
    "Logging": {
        "EnableLogging": False,
        "LogComponents": [{"Id": c, "Severity": "LOGGER_SEVERITY_DEFAULT"} for c in LOG_COMPONENTS],
        "CloudWatchLogGroup": None,
        "CloudWatchLogStream": None,
    },
    "ControlTablesSettings": {
        "ControlSchema": "",
        "HistoryTimeslotInMinutes": 5,
        "HistoryTableEnabled": False,
        "SuspendedTablesTableEnabled": False,
        "StatusTableEnabled": False,
        "FullLoadExceptionTableEnabled": False,
    },
    "StreamBufferSettings": {
        "StreamBufferCount": 3,
        "StreamBufferSizeInMB": 8,
        "CtrlStreamBufferSizeInMB": 5,
    },
    "ChangeProcessingDdlHandlingPolicy": {
        "HandleSourceTableDropped": True,
        "HandleSourceTableTruncated": True,
        "HandleSourceTableAltered": True,
    },
    "ErrorBehavior": {
        "DataErrorPolicy": "LOG_ERROR",
        "DataTruncationErrorPolicy": "LOG_ERROR",
        "DataErrorEscalationPolicy": "SUSPEND_TABLE",
        "DataErrorEscalationCount": 0,
        "TableErrorPolicy": "SUSPEND_TABLE",
        "TableErrorEscalationPolicy": "STOP_TASK",
        "TableErrorEscalationCount": 0,
        "RecoverableErrorCount": -1,
        "RecoverableErrorInterval": 5,
        "RecoverableErrorThrottling": True,
        "RecoverableErrorThrottlingMax": 1800,
        "RecoverableErrorStopRetryAfterThrottlingMax": True,
        "ApplyErrorDeletePolicy": "IGNORE_RECORD",
        "ApplyErrorInsertPolicy": "LOG_ERROR",
        "ApplyErrorUpdatePolicy": "LOG_ERROR",
        "ApplyErrorEscalationPolicy": "LOG_ERROR",
        "ApplyErrorEscalationCount": 0,
        "ApplyErrorFailOnTruncationDdl": False,
        "FullLoadIgnoreConflicts": True,
        "FailOnTransactionConsistencyBreached": False,
        "FailOnNoTablesCaptured": True,
    },
    "ChangeProcessingTuning": {
        "BatchApplyPreserveTransaction": True,
        "BatchApplyTimeoutMin": 1,
        "BatchApplyTimeoutMax": 30,
        "BatchApplyMemoryLimit": 500,
        "BatchSplitSize": 0,
        "MinTransactionSize": 1000,
        "CommitTimeout": 1,
        "MemoryLimitTotal": 1024,
        "MemoryKeepTime": 60,
        "StatementCacheSize": 50,
    },
    "ValidationSettings": {
        "EnableValidation": False,
        "ValidationMode": "ROW_LEVEL",
        "ThreadCount": 5,
        "PartitionSize": 10000,
        "FailureMaxCount": 10000,
        "RecordFailureDelayInMinutes": 5,
        "RecordSuspendDelayInMinutes": 30,
        "MaxKeyColumnSize": 8096,
        "TableFailureMaxCount": 1000,
        "ValidationOnly": False,
        "HandleCollationDiff": False,
        "RecordFailureDelayLimitInMinutes": 0,
        "SkipLobColumns": False,
        "ValidationPartialLobSize": 0,
        "ValidationQueryCdcDelaySeconds": 0,
    },
    "PostProcessingRules": None,
    "CharacterSetSettings": None,
    "LoopbackPreventionSettings": None,
    "BeforeImageSettings": None,
    "FailTaskWhenCleanTaskResourceFailed": False,
}


def merge_settings(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` deep-merged over ``base`` (new objects; neither argument changes).

    Objects merge member by member; ``Logging.LogComponents`` merges by ``Id`` (a given component
    changes its severity, the others stay); any other value replaces the base's.
    """
    out = copy.deepcopy(base)
    for key, value in given.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_settings(old, value)
        elif key == "LogComponents" and isinstance(old, list) and isinstance(value, list):
            by_id = {c.get("Id"): dict(c) for c in old if isinstance(c, dict)}
            for component in value:
                if isinstance(component, dict):
                    by_id[component.get("Id")] = {**by_id.get(component.get("Id"), {}), **component}
            out[key] = list(by_id.values())
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class TaskSettings:
    """TargetTablePrepMode, parallel tables, validation switch and the CDC settings of one task."""

    prep_mode: str = "DROP_AND_CREATE"
    max_subtasks: int = 8
    validation: bool = False
    #: ControlTablesSettings.ControlSchema: where the control table goes ("" = target default).
    control_schema: str = ""
    #: ChangeProcessingDdlHandlingPolicy.HandleSourceTableTruncated (DMS default true).
    handle_truncate: bool = True


def parse_task_settings(text: str | None, base: str | None = None) -> tuple[TaskSettings, str]:
    """Return the settings and the JSON text to store: the given JSON deep-merged into ``base``
    (the task's current document) or into DMS's default document, as DMS returns it."""
    document = _parse(text) if text and text.strip() else {}
    merged = merge_settings(_parse(base) if base else DEFAULT_SETTINGS, document)
    return _honoured(merged), json.dumps(merged)


def _parse(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidParameterValueException(
            f"Invalid task settings JSON: {err.msg} at line {err.lineno} column {err.colno}."
        ) from err
    if not isinstance(document, dict):
        raise InvalidParameterValueException("ReplicationTaskSettings must be a JSON object.")
    return document


def _honoured(document: dict[str, Any]) -> TaskSettings:
    """The values the emulator acts on, validated like DMS does."""
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
    control = document.get("ControlTablesSettings") or {}
    ddl_policy = document.get("ChangeProcessingDdlHandlingPolicy") or {}
    control_schema = control.get("ControlSchema", "") if isinstance(control, dict) else ""
    truncate = ddl_policy.get("HandleSourceTableTruncated", True) if isinstance(ddl_policy, dict) else True
    if not isinstance(control_schema, str):
        raise InvalidParameterValueException("ControlTablesSettings.ControlSchema must be a string.")
    if not isinstance(truncate, bool):
        raise InvalidParameterValueException(
            "ChangeProcessingDdlHandlingPolicy.HandleSourceTableTruncated must be true or false."
        )
    return TaskSettings(prep_mode, subtasks, enabled, control_schema, truncate)

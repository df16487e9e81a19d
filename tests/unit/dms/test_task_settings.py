"""Task settings builder."""

from __future__ import annotations

import json

import pytest

from airflow_neon_dms.dms.task_settings import (
    TaskSettings,
    parse_task_settings,
    prep_mode,
    validation_enabled,
)
from airflow_neon_dms.exceptions import NeonConfigError


def test_defaults_follow_the_neon_guide() -> None:
    settings = TaskSettings().to_dict()
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "TRUNCATE_BEFORE_LOAD"
    assert settings["ValidationSettings"]["EnableValidation"] is True
    assert settings["Logging"]["EnableLogging"] is True
    # DEBUG, not the guide's DETAILED_DEBUG, which may write row data to CloudWatch.
    target_load = {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_DEBUG"}
    assert settings["Logging"]["LogComponents"] == [target_load]


def test_detailed_debug_is_an_explicit_opt_in() -> None:
    from airflow_neon_dms.dms.task_settings import DETAILED_DEBUG

    settings = TaskSettings(target_load_severity=DETAILED_DEBUG).to_dict()
    assert settings["Logging"]["LogComponents"] == [
        {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_DETAILED_DEBUG"}
    ]


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(NeonConfigError, match="'LOUD' is not a DMS logger severity"):
        TaskSettings(target_load_severity="LOUD")


def test_do_nothing_and_overrides() -> None:
    settings = TaskSettings(
        target_table_prep_mode="DO_NOTHING",
        enable_validation=False,
        overrides={"FullLoadSettings": {"MaxFullLoadSubTasks": 4}, "ValidationSettings": {"ThreadCount": 8}},
    ).to_dict()
    assert settings["FullLoadSettings"] == {"TargetTablePrepMode": "DO_NOTHING", "MaxFullLoadSubTasks": 4}
    assert settings["ValidationSettings"] == {"EnableValidation": False, "ThreadCount": 8}


def test_logging_off_has_no_components() -> None:
    assert TaskSettings(enable_logging=False).to_dict()["Logging"] == {"EnableLogging": False}


def test_drop_and_create_needs_consent() -> None:
    with pytest.raises(NeonConfigError, match="DROP_AND_CREATE"):
        TaskSettings(target_table_prep_mode="DROP_AND_CREATE")
    TaskSettings(target_table_prep_mode="DROP_AND_CREATE", allow_drop_and_create=True)


def test_unknown_prep_mode_is_named() -> None:
    with pytest.raises(NeonConfigError, match="'TRUNCATE'"):
        TaskSettings(target_table_prep_mode="TRUNCATE")


def test_parse_accepts_builder_dict_json_and_none() -> None:
    raw = {"FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"}}
    assert parse_task_settings(json.dumps(raw)) == raw
    assert parse_task_settings(raw) == raw
    assert parse_task_settings(None) == TaskSettings().to_dict()
    with pytest.raises(NeonConfigError, match="not valid JSON"):
        parse_task_settings("{")


def test_prep_mode_and_validation_readers() -> None:
    assert prep_mode({}) == "DROP_AND_CREATE"  # DMS's own default
    assert prep_mode(TaskSettings().to_dict()) == "TRUNCATE_BEFORE_LOAD"
    assert validation_enabled(TaskSettings().to_dict())


def test_control_schema_goes_to_control_tables_settings() -> None:
    assert "ControlTablesSettings" not in TaskSettings().to_dict()
    settings = TaskSettings(control_schema="awsdms_control").to_dict()
    assert settings["ControlTablesSettings"] == {"ControlSchema": "awsdms_control"}

"""The temporary reload task's name, mappings and settings."""

from __future__ import annotations

import json

from airflow_neon_dms.dms.reload_plan import (
    temporary_task_identifier,
    temporary_task_mappings,
    temporary_task_settings,
)
from airflow_neon_dms.dms.table_names import TableRef

TABLES = [TableRef("public", "b"), TableRef("public", "a")]


def test_identifier_is_stable_and_order_independent() -> None:
    first = temporary_task_identifier("orders", TABLES)
    assert first == temporary_task_identifier("orders", list(reversed(TABLES)))
    assert first.startswith("orders-reload-")
    assert first != temporary_task_identifier("orders", TABLES[:1])
    assert len(temporary_task_identifier("x" * 300, TABLES)) == 255


def test_mappings_select_only_the_tables_and_keep_transformations() -> None:
    original = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "all",
                "rule-action": "include",
                "object-locator": {"schema-name": "public", "table-name": "%"},
            },
            {
                "rule-type": "transformation",
                "rule-id": "2",
                "rule-name": "lower",
                "rule-action": "convert-lowercase",
                "rule-target": "table",
                "object-locator": {"schema-name": "%", "table-name": "%"},
            },
        ]
    }
    rules = json.loads(temporary_task_mappings(json.dumps(original), TABLES))["rules"]
    selections = [r for r in rules if r["rule-type"] == "selection"]
    assert [r["object-locator"]["table-name"] for r in selections] == ["b", "a"]
    assert all(r["rule-action"] == "explicit" for r in selections)
    transformations = [r for r in rules if r["rule-type"] == "transformation"]
    assert transformations[0]["rule-action"] == "convert-lowercase"
    assert len({r["rule-id"] for r in rules}) == len(rules)


def test_settings_truncate_so_rows_never_duplicate() -> None:
    original = {
        "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING", "MaxFullLoadSubTasks": 8},
        "Logging": {
            "EnableLogging": True,
            "CloudWatchLogGroup": "dms-tasks-ri",
            "CloudWatchLogStream": "dms-task-X",
        },
    }
    settings = json.loads(temporary_task_settings(json.dumps(original)))
    assert settings["FullLoadSettings"] == {
        "TargetTablePrepMode": "TRUNCATE_BEFORE_LOAD",
        "MaxFullLoadSubTasks": 8,
    }
    assert settings["Logging"] == {"EnableLogging": True}
    assert (
        json.loads(temporary_task_settings(None))["FullLoadSettings"]["TargetTablePrepMode"]
        == "TRUNCATE_BEFORE_LOAD"
    )

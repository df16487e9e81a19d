"""The temporary reload task's name, mappings and settings."""

from __future__ import annotations

import json

import pytest

from airflow_neon_dms.dms.reload_plan import (
    TAG_DAG_RUN,
    TAG_RELOAD_OF,
    is_temporary_identifier_of,
    is_temporary_task_of,
    reload_refusal,
    temporary_task_identifier,
    temporary_task_mappings,
    temporary_task_settings,
    temporary_task_tags,
)
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.reload_truncate import ForeignKey, blocking_foreign_keys, foreign_key_message

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


@pytest.mark.parametrize(
    ("status", "migration_type", "refused"),
    [
        ("running", "full-load", None),
        ("running", "full-load-and-cdc", None),
        ("running", "cdc", "is a cdc task"),
        ("starting", "full-load-and-cdc", "is starting: DMS accepts ReloadTables only while"),
        ("stopping", "full-load-and-cdc", "is stopping"),
    ],
)
def test_reload_refusal(status: str, migration_type: str, refused: str | None) -> None:
    reason = reload_refusal(
        {"ReplicationTaskIdentifier": "x", "Status": status, "MigrationType": migration_type}
    )
    assert reason == refused if refused is None else refused in (reason or "")


def test_only_keys_from_outside_the_reloaded_set_block_the_truncate() -> None:
    parent, child, other = TableRef("public", "parent"), TableRef("public", "child"), TableRef("s", "o")
    keys = [
        ForeignKey("child_fk", child, parent),
        ForeignKey("self_fk", parent, parent),
        ForeignKey("other_fk", other, child),
    ]
    assert blocking_foreign_keys(keys, [parent]) == [keys[0]]
    assert blocking_foreign_keys(keys, [parent, child]) == [keys[2]]
    assert blocking_foreign_keys(keys, [parent, child, other]) == []
    message = foreign_key_message([keys[0]])
    assert "constraint child_fk on public.child references public.parent" in message
    assert "reload public.child in the same call" in message and "Nothing was truncated" in message


def test_mappings_keep_the_filters_and_table_settings_of_the_reloaded_tables() -> None:
    filtered = {
        "rule-type": "selection",
        "rule-id": "1",
        "rule-name": "recent-orders",
        "rule-action": "include",
        "object-locator": {"schema-name": "public", "table-name": "order_%"},
        "filters": [
            {
                "filter-type": "source",
                "column-name": "id",
                "filter-conditions": [{"filter-operator": "gte", "value": "100"}],
            }
        ],
    }
    everything = {
        "rule-type": "selection",
        "rule-id": "2",
        "rule-name": "all",
        "rule-action": "include",
        "object-locator": {"schema-name": "public", "table-name": "%"},
    }
    parallel = {
        "rule-type": "table-settings",
        "rule-id": "3",
        "rule-name": "parallel",
        "object-locator": {"schema-name": "public", "table-name": "order_lines"},
        "parallel-load": {"type": "partitions-auto"},
    }
    unrelated = {**parallel, "rule-id": "4", "object-locator": {"schema-name": "public", "table-name": "x"}}
    original = {"rules": [filtered, parallel, unrelated]}
    rules = json.loads(temporary_task_mappings(original, [TableRef("public", "order_lines")]))["rules"]
    [selection] = [r for r in rules if r["rule-type"] == "selection"]
    assert selection["filters"] == filtered["filters"]
    assert selection["rule-action"] == "include"
    # narrowed to this table: '_' is a one-character wildcard in DMS patterns, so it is bracketed
    assert selection["object-locator"] == {"schema-name": "public", "table-name": "order[_]lines"}
    [settings] = [r for r in rules if r["rule-type"] == "table-settings"]
    assert settings["parallel-load"] == {"type": "partitions-auto"}
    assert sorted(int(r["rule-id"]) for r in rules) == [1, 2]

    # a table that an unfiltered rule also selects keeps both rules: DMS takes every row then too
    both = json.loads(
        temporary_task_mappings({"rules": [filtered, everything]}, [TableRef("public", "order_a")])
    )
    assert [bool(r.get("filters")) for r in both["rules"]] == [True, False]


def test_temporary_task_names_and_tags_find_only_its_own_leftovers() -> None:
    arn = "arn:aws:dms:us-east-1:123456789012:task:ABC"
    temp_id = temporary_task_identifier("orders", TABLES)
    assert is_temporary_identifier_of(temp_id, "orders")
    assert is_temporary_identifier_of(temporary_task_identifier("x" * 300, TABLES), "x" * 300)
    assert not is_temporary_identifier_of("orders-reload-notadigest", "orders")
    assert not is_temporary_identifier_of(temporary_task_identifier("orders2", TABLES), "orders")
    tags = temporary_task_tags(arn, "migrate/manual__2026-01-01T00:00:00+00:00 (ü)")
    assert tags[TAG_RELOAD_OF] == arn
    assert tags[TAG_DAG_RUN] == "migrate/manual__2026-01-01T00:00:00+00:00 _ü_"
    assert is_temporary_task_of(tags, arn)
    assert not is_temporary_task_of(tags, arn + "X")
    assert not is_temporary_task_of({TAG_RELOAD_OF: arn}, arn)  # not made by this provider

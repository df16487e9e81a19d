"""Table mapping builder and the MySQL wildcard schema check."""

from __future__ import annotations

import json

import pytest

from airflow_neon_dms.dms.mappings import (
    SelectionRule,
    TableMappings,
    WildcardSchemaWarning,
    selected_system_schemas,
    table_mappings_json,
)
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.exceptions import NeonConfigError


def test_include_with_exclude_builds_dms_rules() -> None:
    rules = TableMappings.include("public", exclude=["audit_%"]).to_dict()["rules"]
    assert rules == [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "include-1",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        },
        {
            "rule-type": "selection",
            "rule-id": "2",
            "rule-name": "exclude-2",
            "object-locator": {"schema-name": "public", "table-name": "audit_%"},
            "rule-action": "exclude",
        },
    ]


def test_transformations_get_following_rule_ids() -> None:
    mappings = TableMappings(
        [SelectionRule("shop")],
        transformations=[{"rule-type": "transformation", "rule-action": "rename", "rule-target": "schema"}],
    ).to_dict()
    assert [r["rule-id"] for r in mappings["rules"]] == ["1", "2"]


def test_for_tables_selects_exactly_those_tables() -> None:
    rules = TableMappings.for_tables([TableRef("public", "orders")]).to_dict()["rules"]
    assert rules[0]["rule-action"] == "explicit"
    assert rules[0]["object-locator"] == {"schema-name": "public", "table-name": "orders"}


def test_only_exclude_rules_select_nothing() -> None:
    with pytest.raises(NeonConfigError, match="select no table"):
        TableMappings([SelectionRule("public", action="exclude")])


def test_bad_action_is_named() -> None:
    with pytest.raises(NeonConfigError, match="action 'copy'"):
        SelectionRule("public", action="copy")


def test_mysql_percent_schema_is_an_error_naming_the_system_databases() -> None:
    with pytest.raises(NeonConfigError, match="information_schema, mysql, performance_schema, sys"):
        table_mappings_json(TableMappings.include("%"), source_engine="mysql")


def test_mysql_percent_schema_can_be_a_warning() -> None:
    with pytest.warns(WildcardSchemaWarning, match="system database"):
        text = table_mappings_json(
            TableMappings.include("%"), source_engine="mariadb", wildcard_schema="warn"
        )
    assert json.loads(text)["rules"][0]["object-locator"]["schema-name"] == "%"


def test_partial_wildcard_matches_only_the_system_databases_it_covers() -> None:
    mappings = TableMappings([SelectionRule("m%"), SelectionRule("shop")]).to_dict()
    assert selected_system_schemas(mappings) == ["mysql"]


def test_excluded_system_databases_are_fine() -> None:
    rules = [SelectionRule("%")] + [
        SelectionRule(s, "%", "exclude") for s in ("mysql", "information_schema", "performance_schema", "sys")
    ]
    table_mappings_json(TableMappings(rules), source_engine="mysql")


def test_percent_schema_is_fine_for_postgres() -> None:
    table_mappings_json(TableMappings.include("%"), source_engine="postgres")


def test_raw_json_is_accepted_and_checked() -> None:
    raw = json.dumps(
        {
            "rules": [
                {
                    "rule-type": "selection",
                    "rule-id": "1",
                    "rule-name": "all",
                    "object-locator": {"schema-name": "%", "table-name": "%"},
                    "rule-action": "include",
                }
            ]
        }
    )
    assert json.loads(table_mappings_json(raw, source_engine="postgres")) == json.loads(raw)
    with pytest.raises(NeonConfigError):
        table_mappings_json(raw, source_engine="mysql")


@pytest.mark.parametrize("bad", ["{not json", {"rules": []}, {"tables": ["a"]}])
def test_bad_raw_mappings_are_rejected(bad: object) -> None:
    with pytest.raises(NeonConfigError, match="Table mappings"):
        table_mappings_json(bad)  # type: ignore[arg-type]

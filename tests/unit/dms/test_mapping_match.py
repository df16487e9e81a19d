"""select_tables: DMS selection-rule semantics."""

from __future__ import annotations

import json

import pytest

from airflow_neon_dms.dms.mapping_match import select_tables
from airflow_neon_dms.exceptions import NeonConfigError

TABLES = [
    ("public", "orders"),
    ("public", "order_items"),
    ("public", "orderXitems"),
    ("public", "customers"),
    ("sales", "orders"),
    ("sales", "tmp_orders"),
    ("mysql", "user"),
    ("Public", "orders"),
]


def rule(schema: str, table: str, action: str = "include", rule_id: str = "1") -> dict[str, object]:
    return {
        "rule-type": "selection",
        "rule-id": rule_id,
        "rule-name": rule_id,
        "object-locator": {"schema-name": schema, "table-name": table},
        "rule-action": action,
    }


def test_percent_matches_any_run_and_is_case_sensitive() -> None:
    mapping = {"rules": [rule("public", "order%")]}
    assert select_tables(mapping, TABLES) == [
        ("public", "orderXitems"),
        ("public", "order_items"),
        ("public", "orders"),
    ]


def test_underscore_is_one_character_and_bracket_underscore_is_literal() -> None:
    assert select_tables({"rules": [rule("public", "order_items")]}, TABLES) == [
        ("public", "orderXitems"),
        ("public", "order_items"),
    ]
    assert select_tables({"rules": [rule("public", "order[_]items")]}, TABLES) == [("public", "order_items")]
    assert select_tables({"rules": [rule("[ps]%", "orders")]}, TABLES) == [
        ("public", "orders"),
        ("sales", "orders"),
    ]
    assert select_tables({"rules": [rule("[a-r]%", "%")]}, TABLES) == [
        ("mysql", "user"),
        ("public", "customers"),
        ("public", "orderXitems"),
        ("public", "order_items"),
        ("public", "orders"),
    ]


def test_exclude_wins_whatever_the_rule_order() -> None:
    rules = [
        rule("%", "%", "exclude", "1"),
        rule("%", "%orders", "include", "2"),
        rule("sales", "tmp%", "exclude", "3"),
    ]
    expected = [("Public", "orders"), ("public", "orders"), ("sales", "orders")]
    assert select_tables({"rules": rules[1:]}, TABLES) == expected
    assert select_tables({"rules": [rules[2], rules[1]]}, TABLES) == expected
    assert select_tables({"rules": rules}, TABLES) == []


def test_percent_schema_selects_mysql_system_database_like_dms() -> None:
    assert ("mysql", "user") in select_tables({"rules": [rule("%", "%")]}, TABLES)


def test_explicit_selects_one_table_and_json_string_is_accepted() -> None:
    mapping = json.dumps({"rules": [rule("sales", "orders", "explicit"), {"rule-type": "transformation"}]})
    assert select_tables(mapping, TABLES) == [("sales", "orders")]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"rules": []}, "no selection rule"),
        ({}, 'no "rules" list'),
        ({"rules": [rule("public", "%", "copy")]}, "rule-action 'copy'"),
        (
            {"rules": [{"rule-type": "selection", "rule-name": "r9", "rule-action": "include"}]},
            "r9: object-locator",
        ),
        ({"rules": [rule("public", "ord%", "explicit", "7")]}, "7: an explicit rule"),
        ({"rules": [rule("public", "ord[a")]}, "without a closing"),
    ],
)
def test_bad_mappings_are_named(mapping: object, message: str) -> None:
    with pytest.raises(NeonConfigError, match=message):
        select_tables(mapping, TABLES)  # type: ignore[arg-type]


def test_target_name_applies_schema_and_table_transformations() -> None:
    from airflow_neon_dms.dms.mapping_match import target_name

    mapping = {
        "rules": [
            rule("shop", "%"),
            {
                "rule-type": "transformation",
                "rule-id": "2",
                "rule-name": "2",
                "rule-target": "schema",
                "object-locator": {"schema-name": "shop"},
                "rule-action": "rename",
                "value": "public",
            },
            {
                "rule-type": "transformation",
                "rule-id": "3",
                "rule-name": "3",
                "rule-target": "table",
                "object-locator": {"schema-name": "shop", "table-name": "%"},
                "rule-action": "convert-lowercase",
            },
        ]
    }
    assert target_name(mapping, "shop", "Orders") == ("public", "orders")
    assert target_name(mapping, "other", "Orders") == ("other", "Orders")

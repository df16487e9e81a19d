"""Selection rules: wildcards, include/exclude/explicit, and validation messages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_neon_dms.local.faults import InvalidParameterValueException
from airflow_neon_dms.local.table_mappings import parse_table_mappings


def _rule(rule_id: str, schema: str, table: str, action: str = "include") -> dict[str, object]:
    return {
        "rule-type": "selection",
        "rule-id": rule_id,
        "rule-name": rule_id,
        "object-locator": {"schema-name": schema, "table-name": table},
        "rule-action": action,
    }


TABLES = [
    ("public", "orders"),
    ("public", "order_lines"),
    ("public", "tmp_x"),
    ("sales", "orders"),
    ("mysql", "user"),
]


def test_wildcards_include_and_exclude() -> None:
    mappings = parse_table_mappings(
        json.dumps(
            {
                "rules": [
                    _rule("1", "%", "%"),
                    _rule("2", "%", "tmp%", "exclude"),
                    _rule("3", "mysql", "%", "exclude"),
                ]
            }
        )
    )
    assert mappings.select(TABLES) == [("public", "orders"), ("public", "order_lines"), ("sales", "orders")]


def test_wildcards_follow_the_dms_user_guide() -> None:
    # "Wildcards in table mapping": % any run, _ one character, [_] a literal underscore.
    mappings = parse_table_mappings(json.dumps({"rules": [_rule("1", "pub%", "order_%")]}))
    assert mappings.select(TABLES) == [("public", "orders"), ("public", "order_lines")]
    assert mappings.selects("public", "orderXlines")
    assert not mappings.selects("public", "order")
    literal = parse_table_mappings(json.dumps({"rules": [_rule("1", "pub%", "order[_]%")]}))
    assert literal.select(TABLES) == [("public", "order_lines")]
    assert not literal.selects("public", "orderXlines")


def test_malformed_pattern_names_the_rule() -> None:
    with pytest.raises(Exception, match="ruleId = 7 failed validation.*without a closing"):
        parse_table_mappings(json.dumps({"rules": [_rule("7", "public", "order[_%")]}))


def test_explicit_rule_selects_exactly_one_table() -> None:
    mappings = parse_table_mappings(json.dumps({"rules": [_rule("1", "sales", "orders", "explicit")]}))
    assert mappings.select(TABLES) == [("sales", "orders")]


def test_table_settings_rules_are_accepted() -> None:
    settings_rule = {"rule-type": "table-settings", "rule-id": "9", "rule-name": "s", "object-locator": {}}
    mappings = parse_table_mappings(json.dumps({"rules": [_rule("1", "sales", "%"), settings_rule]}))
    assert mappings.select(TABLES) == [("sales", "orders")]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [_rule("1", "s", "%"), _rule("1", "t", "%")],
            "ruleId = 1 failed validation. The rule-id is used by more",
        ),
        (
            [{**_rule("5", "s", "%"), "rule-type": "transformation"}],
            "ruleId = 5 failed validation. The local DMS",
        ),
        ([_rule("2", "s%", "t", "explicit")], "ruleId = 2 failed validation. An explicit rule cannot use"),
        ([{"rule-type": "selection"}], "ruleId = 1 failed validation. The rule has no rule-id"),
        (["not an object"], "ruleId = 1 failed validation. A rule must be a JSON object"),
        ([_rule("3", "", "t")], "ruleId = 3 failed validation. object-locator needs"),
    ],
)
def test_invalid_rules_name_the_rule(rules: list[object], expected: str) -> None:
    with pytest.raises(InvalidParameterValueException) as err:
        parse_table_mappings(json.dumps({"rules": rules}))
    assert expected in err.value.message


@given(
    name=st.text(
        alphabet=st.characters(blacklist_characters="%_[", blacklist_categories=("Cs",)), max_size=20
    ),
    other=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
)
def test_patterns_without_a_wildcard_match_only_themselves(name: str, other: str) -> None:
    if not name:
        return
    mappings = parse_table_mappings(json.dumps({"rules": [_rule("1", name, name)]}))
    assert mappings.selects(name, name)
    assert mappings.selects(other, name) == (other == name)


@given(prefix=st.text(alphabet="abc.*+?]()", max_size=5), rest=st.text(max_size=10))
def test_a_trailing_percent_matches_every_continuation(prefix: str, rest: str) -> None:
    mappings = parse_table_mappings(json.dumps({"rules": [_rule("1", "s", prefix + "%")]}))
    assert mappings.selects("s", prefix + rest)
    assert not mappings.selects("s2", prefix + rest)


def _transform(
    rule_id: str, target: str, action: str, schema: str, table: str = "%", value: str = ""
) -> dict[str, object]:
    rule: dict[str, object] = {
        "rule-type": "transformation",
        "rule-id": rule_id,
        "rule-name": rule_id,
        "rule-target": target,
        "rule-action": action,
        "object-locator": {"schema-name": schema, "table-name": table},
    }
    if value:
        rule["value"] = value
    return rule


def test_transformation_rules_rename_schemas_and_tables_in_rule_id_order() -> None:
    mappings = parse_table_mappings(
        json.dumps(
            {
                "rules": [
                    _rule("1", "%", "%"),
                    _transform("10", "table", "add-prefix", "shop", "%", "legacy_"),
                    _transform("2", "schema", "rename", "shop", value="public"),
                    _transform("3", "table", "convert-lowercase", "shop", "ORD%"),
                    _transform("4", "table", "remove-suffix", "%", "%_tmp", "_tmp"),
                ]
            }
        )
    )
    assert mappings.target_name("shop", "ORDERS") == ("public", "legacy_orders")
    assert mappings.target_name("shop", "items_tmp") == ("public", "legacy_items")
    assert mappings.target_name("other", "x_tmp") == ("other", "x")
    assert [r.rule_id for r in mappings.transformations] == ["2", "3", "4", "10"]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            _transform("6", "column", "rename", "s", "t", "x"),
            "schema and table names only, not rule-target 'column'",
        ),
        (_transform("7", "table", "rename", "s", "t"), "rule-action rename needs a non-empty value"),
        (_transform("8", "schema", "shout", "s"), "Unknown rule-action 'shout'"),
    ],
)
def test_invalid_transformation_rules_name_the_rule(rule: dict[str, object], expected: str) -> None:
    with pytest.raises(InvalidParameterValueException) as err:
        parse_table_mappings(json.dumps({"rules": [_rule("1", "s", "%"), rule]}))
    assert f"ruleId = {rule['rule-id']} failed validation" in err.value.message
    assert expected in err.value.message

"""Parse and apply DMS table mappings (selection rules) as the DMS API validates them.

Only what decides *which* tables a task migrates lives here: selection rules with ``%`` wildcards
and include, exclude or explicit actions. ``table-settings`` rules are accepted and ignored;
transformation rules are refused with a message that says so (the emulator copies tables as they
are). Nothing here touches a database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from airflow_neon_dms.local.faults import InvalidParameterValueException

KNOWN_RULE_TYPES = ("selection", "transformation", "table-settings", "post-processing")
SELECTION_ACTIONS = ("include", "exclude", "explicit")
#: Databases a MySQL ``%`` schema pattern also selects (DMS does not skip them).
MYSQL_SYSTEM_SCHEMAS = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


@dataclass(frozen=True)
class SelectionRule:
    """One selection rule: patterns for schema and table, and what to do with a match."""

    rule_id: str
    schema_pattern: str
    table_pattern: str
    action: str

    def matches(self, schema: str, table: str) -> bool:
        if self.action == "explicit":
            return schema == self.schema_pattern and table == self.table_pattern
        return _like(self.schema_pattern, schema) and _like(self.table_pattern, table)


@dataclass(frozen=True)
class TableMappings:
    """The selection rules of one task, in rule order."""

    rules: tuple[SelectionRule, ...]

    def selects(self, schema: str, table: str) -> bool:
        """True when an include (or explicit) rule matches and no exclude rule does."""
        included = any(r.matches(schema, table) for r in self.rules if r.action != "exclude")
        excluded = any(r.matches(schema, table) for r in self.rules if r.action == "exclude")
        return included and not excluded

    def select(self, tables: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Return the (schema, table) pairs the rules select, in the order given."""
        return [t for t in tables if self.selects(*t)]


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _rule_error(rule_id: object, reason: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(
        f"Error in mapping rules. Rule with ruleId = {rule_id} failed validation. {reason}"
    )


def parse_table_mappings(text: str | None) -> TableMappings:
    """Validate the TableMappings JSON of a task; raise InvalidParameterValueException naming the rule."""
    if not text or not text.strip():
        raise InvalidParameterValueException(
            "TableMappings is empty. Give a JSON document with at least one selection rule, e.g. "
            '{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1", '
            '"object-locator": {"schema-name": "public", "table-name": "%"}, "rule-action": "include"}]}'
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidParameterValueException(
            f"Invalid table mappings JSON: {err.msg} at line {err.lineno} column {err.colno}."
        ) from err
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list) or not rules:
        raise InvalidParameterValueException(
            'Table mappings must be a JSON object with a non-empty "rules" list.'
        )
    selection: list[SelectionRule] = []
    seen_ids: set[str] = set()
    for position, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict):
            raise _rule_error(position, "A rule must be a JSON object.")
        rule_id = str(rule.get("rule-id", "")).strip()
        if not rule_id:
            raise _rule_error(position, "The rule has no rule-id.")
        if rule_id in seen_ids:
            raise _rule_error(rule_id, "The rule-id is used by more than one rule.")
        seen_ids.add(rule_id)
        rule_type = rule.get("rule-type")
        if rule_type not in KNOWN_RULE_TYPES:
            raise _rule_error(
                rule_id,
                f"Unknown rule-type {rule_type!r}; use one of {', '.join(KNOWN_RULE_TYPES)}.",
            )
        if rule_type == "table-settings":
            continue
        if rule_type != "selection":
            raise _rule_error(
                rule_id,
                f"The local DMS emulator does not apply {rule_type} rules; remove the rule or run "
                "the task on AWS DMS.",
            )
        locator = rule.get("object-locator")
        if not isinstance(locator, dict):
            raise _rule_error(rule_id, "A selection rule needs an object-locator object.")
        schema = locator.get("schema-name")
        table = locator.get("table-name", "%")
        if not isinstance(schema, str) or not schema or not isinstance(table, str) or not table:
            raise _rule_error(rule_id, "object-locator needs non-empty schema-name and table-name strings.")
        action = rule.get("rule-action")
        if action not in SELECTION_ACTIONS:
            raise _rule_error(
                rule_id, f"Unknown rule-action {action!r}; use one of {', '.join(SELECTION_ACTIONS)}."
            )
        if action == "explicit" and ("%" in schema or "%" in table):
            raise _rule_error(rule_id, "An explicit rule cannot use the % wildcard.")
        selection.append(SelectionRule(rule_id, schema, table, action))
    if not any(r.action != "exclude" for r in selection):
        raise InvalidParameterValueException(
            "Table mappings have no selection rule with rule-action include or explicit, so no "
            "table would be migrated."
        )
    return TableMappings(tuple(selection))

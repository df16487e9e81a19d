"""Parse and apply DMS table mappings (selection rules) as the DMS API validates them.

Selection rules decide *which* tables a task migrates (``%`` wildcards; include, exclude or
explicit). Transformation rules on schemas and tables decide *where* they land (rename,
convert-lowercase / -uppercase, add- / remove-prefix and -suffix). Column transformations are
refused with a message that says so; ``table-settings`` rules are accepted and ignored. Nothing
here touches a database. Name patterns are the emulator's own reading of the DMS user guide
(``name_patterns.py``), not the provider's matcher.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from airflow_neon_dms.local.faults import InvalidParameterValueException
from airflow_neon_dms.local.name_patterns import name_matches, parse_name_pattern

KNOWN_RULE_TYPES = ("selection", "transformation", "table-settings", "post-processing")
SELECTION_ACTIONS = ("include", "exclude", "explicit")
TRANSFORMATION_TARGETS = ("schema", "table")
TRANSFORMATION_ACTIONS = (
    "rename",
    "convert-lowercase",
    "convert-uppercase",
    "add-prefix",
    "remove-prefix",
    "add-suffix",
    "remove-suffix",
)
_ACTIONS_WITH_VALUE = frozenset({"rename", "add-prefix", "remove-prefix", "add-suffix", "remove-suffix"})


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
        return name_matches(self.schema_pattern, schema) and name_matches(self.table_pattern, table)


@dataclass(frozen=True)
class TransformationRule:
    """One schema or table transformation: which source objects, and how their target name changes."""

    rule_id: str
    target: str
    action: str
    schema_pattern: str
    table_pattern: str
    value: str = ""

    def matches(self, schema: str, table: str) -> bool:
        return name_matches(self.schema_pattern, schema) and (
            self.target == "schema" or name_matches(self.table_pattern, table)
        )

    def apply(self, name: str) -> str:
        if self.action == "rename":
            return self.value
        if self.action == "convert-lowercase":
            return name.lower()
        if self.action == "convert-uppercase":
            return name.upper()
        if self.action == "add-prefix":
            return self.value + name
        if self.action == "add-suffix":
            return name + self.value
        if self.action == "remove-prefix":
            return name[len(self.value) :] if name.startswith(self.value) else name
        return name[: -len(self.value)] if self.value and name.endswith(self.value) else name


@dataclass(frozen=True)
class TableMappings:
    """The selection and transformation rules of one task, in rule order."""

    rules: tuple[SelectionRule, ...]
    transformations: tuple[TransformationRule, ...] = ()

    def target_name(self, schema: str, table: str) -> tuple[str, str]:
        """Where the source table ``schema.table`` lands on the target."""
        target_schema, target_table = schema, table
        for rule in self.transformations:
            if rule.matches(schema, table):
                if rule.target == "schema":
                    target_schema = rule.apply(target_schema)
                else:
                    target_table = rule.apply(target_table)
        return target_schema, target_table

    def selects(self, schema: str, table: str) -> bool:
        """True when an include (or explicit) rule matches and no exclude rule does."""
        included = any(r.matches(schema, table) for r in self.rules if r.action != "exclude")
        excluded = any(r.matches(schema, table) for r in self.rules if r.action == "exclude")
        return included and not excluded

    def select(self, tables: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Return the (schema, table) pairs the rules select, in the order given."""
        return [t for t in tables if self.selects(*t)]


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
    transformations: list[TransformationRule] = []
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
        if rule_type == "transformation":
            transformations.append(_transformation(rule_id, rule))
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
        for pattern in (schema, table):
            try:
                parse_name_pattern(pattern)
            except ValueError as err:
                raise _rule_error(rule_id, str(err)) from None
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
    transformations.sort(key=lambda r: (len(r.rule_id), r.rule_id))  # DMS applies them by rule-id
    return TableMappings(tuple(selection), tuple(transformations))


def _transformation(rule_id: str, rule: dict[str, object]) -> TransformationRule:
    target = rule.get("rule-target")
    if target not in TRANSFORMATION_TARGETS:
        raise _rule_error(
            rule_id,
            f"The local DMS emulator applies transformation rules to schema and table names only, "
            f"not rule-target {target!r}; remove the rule or run the task on AWS DMS.",
        )
    action = rule.get("rule-action")
    if action not in TRANSFORMATION_ACTIONS:
        raise _rule_error(
            rule_id, f"Unknown rule-action {action!r}; use one of {', '.join(TRANSFORMATION_ACTIONS)}."
        )
    locator = rule.get("object-locator")
    if not isinstance(locator, dict) or not isinstance(locator.get("schema-name"), str):
        raise _rule_error(rule_id, "A transformation rule needs an object-locator with schema-name.")
    table = locator.get("table-name", "%")
    if target == "table" and (not isinstance(table, str) or not table):
        raise _rule_error(rule_id, "A table transformation needs object-locator table-name.")
    for pattern in (str(locator["schema-name"]), str(table)):
        try:
            parse_name_pattern(pattern)
        except ValueError as err:
            raise _rule_error(rule_id, str(err)) from None
    value = rule.get("value", "")
    if action in _ACTIONS_WITH_VALUE and (not isinstance(value, str) or not value):
        raise _rule_error(rule_id, f"rule-action {action} needs a non-empty value.")
    return TransformationRule(
        rule_id, str(target), str(action), str(locator["schema-name"]), str(table), str(value or "")
    )

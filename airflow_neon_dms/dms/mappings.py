"""Typed builder for DMS table mappings (selection rules), and the MySQL ``%`` schema check.

Pure rules with no Airflow import. Raw JSON (a dict or a string) is accepted everywhere a
``TableMappings`` is, and goes through the same checks.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_neon_dms.dms.mapping_match import MYSQL_SYSTEM_SCHEMAS, name_matches
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.exceptions import NeonConfigError

#: Engines whose "schema" is a database, so a ``%`` schema also matches the system databases.
MYSQL_ENGINES: frozenset[str] = frozenset({"mysql", "mariadb", "aurora", "aurora-mysql"})


class RuleAction(str, Enum):
    """rule-action of a selection rule."""

    INCLUDE = "include"
    EXCLUDE = "exclude"
    EXPLICIT = "explicit"


class WildcardSchemaPolicy(str, Enum):
    """What to do when a MySQL source's selection would take in its system databases."""

    ERROR = "error"
    WARN = "warn"


class WildcardSchemaWarning(UserWarning):
    """A selection rule on a MySQL source also selects the system databases."""


@dataclass(frozen=True)
class SelectionRule:
    """One selection rule: ``schema``/``table`` accept DMS ``%`` and ``_`` wildcards."""

    schema: str
    table: str = "%"
    action: RuleAction | str = RuleAction.INCLUDE
    load_order: int | None = None

    def __post_init__(self) -> None:
        if not self.schema or not self.table:
            raise NeonConfigError(
                f"Selection rule {self.schema!r}.{self.table!r} needs a schema and a table name "
                "(use '%' to match every table)."
            )
        try:
            RuleAction(self.action)
        except ValueError:
            raise NeonConfigError(
                f"Selection rule {self.schema}.{self.table} has action {self.action!r}; use one of "
                f"{', '.join(a.value for a in RuleAction)}."
            ) from None

    def to_rule(self, rule_id: int) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "rule-type": "selection",
            "rule-id": str(rule_id),
            "rule-name": f"{RuleAction(self.action).value}-{rule_id}",
            "object-locator": {"schema-name": self.schema, "table-name": self.table},
            "rule-action": RuleAction(self.action).value,
        }
        if self.load_order is not None:
            rule["load-order"] = self.load_order
        return rule


@dataclass(frozen=True)
class TableMappings:
    """DMS table mappings: selection rules plus any raw transformation rules."""

    rules: Sequence[SelectionRule]
    transformations: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not any(RuleAction(r.action) != RuleAction.EXCLUDE for r in self.rules):
            raise NeonConfigError(
                "Table mappings select no table: add at least one include rule, e.g. "
                "SelectionRule(schema='public')."
            )

    @classmethod
    def include(
        cls, schema: str, tables: Iterable[str] = ("%",), exclude: Iterable[str] = ()
    ) -> TableMappings:
        """Include ``tables`` (wildcards allowed) of one schema, minus the ``exclude`` ones."""
        rules = [SelectionRule(schema, t) for t in tables]
        rules += [SelectionRule(schema, t, RuleAction.EXCLUDE) for t in exclude]
        return cls(rules)

    @classmethod
    def for_tables(cls, tables: Iterable[TableRef]) -> TableMappings:
        """Explicitly select exactly these tables (no wildcard reaches any other table)."""
        return cls([SelectionRule(t.schema, t.table, RuleAction.EXPLICIT) for t in tables])

    def to_dict(self) -> dict[str, Any]:
        rules = [rule.to_rule(i) for i, rule in enumerate(self.rules, start=1)]
        next_id = len(rules) + 1
        for i, raw in enumerate(self.transformations):
            item = dict(raw)
            item.setdefault("rule-id", str(next_id + i))
            item.setdefault("rule-name", f"transformation-{next_id + i}")
            rules.append(item)
        return {"rules": rules}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _selection_rules(mappings: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for rule in mappings.get("rules", []):
        if not isinstance(rule, Mapping) or rule.get("rule-type") != "selection":
            continue
        locator = rule.get("object-locator") or {}
        found.append(
            (
                str(locator.get("schema-name", "")),
                str(locator.get("table-name", "%")),
                str(rule.get("rule-action", "include")),
            )
        )
    return found


def selected_system_schemas(mappings: Mapping[str, Any]) -> list[str]:
    """MySQL system databases that the include rules select and no exclude rule removes."""
    rules = _selection_rules(mappings)
    selected = []
    for system in sorted(MYSQL_SYSTEM_SCHEMAS):
        included = any(a != "exclude" and name_matches(s, system) for s, _t, a in rules)
        excluded = any(a == "exclude" and name_matches(s, system) and t == "%" for s, t, a in rules)
        if included and not excluded:
            selected.append(system)
    return selected


def parse_table_mappings(value: TableMappings | Mapping[str, Any] | str) -> dict[str, Any]:
    """Return the mappings as a dict, from a builder, a dict or a JSON string."""
    if isinstance(value, TableMappings):
        return value.to_dict()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise NeonConfigError(
                f"Table mappings are not valid JSON: {err}. Pass a dict or valid JSON."
            ) from None
    if not isinstance(value, Mapping) or not isinstance(value.get("rules"), list) or not value["rules"]:
        raise NeonConfigError(
            'Table mappings need a non-empty "rules" list of DMS rules; '
            "or build them with TableMappings.include('public')."
        )
    return dict(value)


def table_mappings_json(
    value: TableMappings | Mapping[str, Any] | str,
    *,
    source_engine: str | None = None,
    wildcard_schema: WildcardSchemaPolicy | str = WildcardSchemaPolicy.ERROR,
) -> str:
    """Check the mappings against the source engine and return the JSON DMS takes."""
    mappings = parse_table_mappings(value)
    if source_engine and source_engine.lower() in MYSQL_ENGINES:
        systems = selected_system_schemas(mappings)
        if systems:
            message = (
                f"Table mappings for the {source_engine} source select the system database(s) "
                f"{', '.join(systems)}: in MySQL a schema is a database, so a wildcard schema "
                "matches them too. Name the application database instead of '%', or add exclude "
                "rules for them."
            )
            if WildcardSchemaPolicy(wildcard_schema) == WildcardSchemaPolicy.ERROR:
                raise NeonConfigError(message)
            warnings.warn(message, WildcardSchemaWarning, stacklevel=2)
    return json.dumps(mappings, sort_keys=True)

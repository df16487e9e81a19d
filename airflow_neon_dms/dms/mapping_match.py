"""Which tables a DMS table mapping selects, with DMS's own matching rules (pure, no I/O).

Selection rules only: ``include`` and ``explicit`` select, ``exclude`` removes, and an exclude
wins over any include whatever the rule order. Wildcards in ``schema-name`` / ``table-name``
follow the DMS user guide ("Wildcards in table mapping"): ``%`` any run of characters, ``_`` one
character, ``[_]`` a literal underscore, ``[ab]`` a set, ``[a-d]`` a range. Names are matched
case-sensitively. Transformation rules are ignored here (they rename, they do not select).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from airflow_neon_dms.exceptions import NeonConfigError

_ACTIONS = ("include", "exclude", "explicit")
#: Databases a MySQL ``%`` schema pattern also selects (DMS does not skip them).
MYSQL_SYSTEM_SCHEMAS = frozenset({"mysql", "information_schema", "performance_schema", "sys"})


@lru_cache(maxsize=256)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Compile one DMS name pattern to an anchored regular expression."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise NeonConfigError(
                    f"Table mapping pattern {pattern!r} has '[' without a closing ']'. Close the set, "
                    "e.g. [ab] or [_] for a literal underscore."
                )
            body = pattern[i + 1 : end]
            if not body:
                raise NeonConfigError(f"Table mapping pattern {pattern!r} has an empty set []. Remove it.")
            out.append("[" + body.replace("\\", "\\\\").replace("^", "\\^") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def name_matches(pattern: str, name: str) -> bool:
    """True when ``name`` matches the DMS object-locator ``pattern`` (case-sensitive)."""
    return pattern_regex(pattern).fullmatch(name) is not None


def _has_wildcard(name: str) -> bool:
    return any(ch in name for ch in "%_[")


def _parse(table_mappings: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    if isinstance(table_mappings, str):
        try:
            loaded = json.loads(table_mappings)
        except json.JSONDecodeError as err:
            raise NeonConfigError(
                f"Table mappings are not valid JSON ({err.msg} at line {err.lineno}). Pass the DMS "
                'table-mapping document, e.g. {"rules": [...]}.'
            ) from err
    else:
        loaded = table_mappings
    rules = loaded.get("rules") if isinstance(loaded, Mapping) else None
    if not isinstance(rules, list):
        raise NeonConfigError('Table mappings have no "rules" list. Pass the DMS document {"rules": [...]}.')
    selection = []
    for rule in rules:
        if not isinstance(rule, Mapping) or rule.get("rule-type") != "selection":
            continue
        name = rule.get("rule-name") or rule.get("rule-id") or "?"
        action = rule.get("rule-action")
        if action not in _ACTIONS:
            raise NeonConfigError(
                f"Selection rule {name}: rule-action {action!r} is not one of include, exclude, explicit."
            )
        locator = rule.get("object-locator")
        if not isinstance(locator, Mapping) or "schema-name" not in locator or "table-name" not in locator:
            raise NeonConfigError(
                f"Selection rule {name}: object-locator needs schema-name and table-name "
                '(use "%" to match every name).'
            )
        if action == "explicit" and (
            _has_wildcard(locator["schema-name"]) or _has_wildcard(locator["table-name"])
        ):
            raise NeonConfigError(
                f"Selection rule {name}: an explicit rule names one table exactly; remove the wildcards "
                "or use rule-action include."
            )
        selection.append(dict(rule))
    if not selection:
        raise NeonConfigError(
            "Table mappings have no selection rule; DMS needs at least one. Add e.g. "
            '{"rule-type": "selection", "rule-id": "1", "rule-name": "1", "object-locator": '
            '{"schema-name": "public", "table-name": "%"}, "rule-action": "include"}.'
        )
    return selection


def _matches(rule: Mapping[str, Any], schema: str, table: str) -> bool:
    locator = rule["object-locator"]
    if rule["rule-action"] == "explicit":
        return bool(locator["schema-name"] == schema and locator["table-name"] == table)
    return bool(
        pattern_regex(str(locator["schema-name"])).fullmatch(schema)
        and pattern_regex(str(locator["table-name"])).fullmatch(table)
    )


def select_tables(
    table_mappings: Mapping[str, Any] | str, tables: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The (schema, table) pairs of ``tables`` the mapping selects, sorted, without duplicates."""
    rules = _parse(table_mappings)
    includes = [r for r in rules if r["rule-action"] in ("include", "explicit")]
    excludes = [r for r in rules if r["rule-action"] == "exclude"]
    chosen = {
        (schema, table)
        for schema, table in tables
        if any(_matches(r, schema, table) for r in includes)
        and not any(_matches(r, schema, table) for r in excludes)
    }
    return sorted(chosen)


def _rename(action: str, value: str, name: str, old: str) -> str:
    if action == "rename":
        return value
    if action == "convert-lowercase":
        return name.lower()
    if action == "convert-uppercase":
        return name.upper()
    if action == "add-prefix":
        return value + name
    if action == "add-suffix":
        return name + value
    if action == "remove-prefix" and name.startswith(old):
        return name[len(old) :]
    if action == "remove-suffix" and old and name.endswith(old):
        return name[: -len(old)]
    return name


def target_name(table_mappings: Mapping[str, Any] | str, schema: str, table: str) -> tuple[str, str]:
    """The (schema, table) DMS writes ``schema.table`` to, after the mapping's transformation rules.

    Handles the schema and table rule-targets with rename, convert-lowercase, convert-uppercase,
    add-prefix, add-suffix, remove-prefix and remove-suffix, in rule-id order.
    """
    _parse(table_mappings)  # validates the document
    loaded = json.loads(table_mappings) if isinstance(table_mappings, str) else table_mappings
    rules = [r for r in loaded["rules"] if isinstance(r, Mapping) and r.get("rule-type") == "transformation"]
    rules.sort(key=lambda r: int(str(r.get("rule-id", "0"))) if str(r.get("rule-id", "0")).isdigit() else 0)
    new_schema, new_table = schema, table
    for rule in rules:
        locator = rule.get("object-locator") or {}
        target = rule.get("rule-target")
        if not pattern_regex(str(locator.get("schema-name", "%"))).fullmatch(schema):
            continue
        action = str(rule.get("rule-action", ""))
        value = str(rule.get("value") or "")
        old = str(rule.get("old-value") or value)
        if target == "schema":
            new_schema = _rename(action, value, new_schema, old)
        elif target == "table" and pattern_regex(str(locator.get("table-name", "%"))).fullmatch(table):
            new_table = _rename(action, value, new_table, old)
    return new_schema, new_table

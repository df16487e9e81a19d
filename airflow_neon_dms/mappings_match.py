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

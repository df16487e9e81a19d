"""Pure rules for reloading selected tables: the temporary task's name, mappings and settings."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_neon_dms.dms.mapping_match import name_matches
from airflow_neon_dms.dms.mappings import RuleAction, SelectionRule
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.dms.task_settings import TargetTablePrepMode
from airflow_neon_dms.exceptions import NeonConfigError

#: A running task's tables are reloaded with ReloadTables, which DMS accepts only while the task is
#: ``running`` (botocore: "otherwise the service will throw an InvalidResourceStateFault") and
#: only for full-load and full-load-and-cdc tasks (DMS user guide, "Reloading tables during a task").
RELOADABLE_MIGRATION_TYPES = frozenset({"full-load", "full-load-and-cdc"})

#: DMS limits a replication task identifier to 255 characters.
MAX_TASK_IDENTIFIER = 255


#: Tags on a temporary reload task (botocore Tag: keys and values of letters, digits, spaces and
#: ``_.:/=+-``, at most 128 / 256 characters): what it reloads, and for which DAG run.
TAG_RELOAD_OF = "neon-dms:reload-of"
TAG_DAG_RUN = "neon-dms:dag-run"
TAG_MANAGED_BY = "neon-dms:managed-by"
MANAGED_BY = "airflow-neon-dms"
MAX_TAG_VALUE = 256
_DIGEST_LENGTH = 10


def _temporary_prefix(task_identifier: str) -> str:
    suffix_length = len("-reload-") + _DIGEST_LENGTH
    return task_identifier[: MAX_TASK_IDENTIFIER - suffix_length].rstrip("-") + "-reload-"


def temporary_task_identifier(task_identifier: str, tables: Sequence[TableRef]) -> str:
    """A stable name for the reload task of these tables, so a retry finds the same task."""
    digest = hashlib.sha256(",".join(sorted(map(str, tables))).encode()).hexdigest()[:_DIGEST_LENGTH]
    return _temporary_prefix(task_identifier) + digest


def is_temporary_identifier_of(identifier: str, task_identifier: str) -> bool:
    """True when ``identifier`` has the form of a temporary reload task of ``task_identifier``."""
    prefix = _temporary_prefix(task_identifier).lower()
    digest = identifier[len(prefix) :]
    return (
        identifier.lower().startswith(prefix)
        and len(digest) == _DIGEST_LENGTH
        and all(c in "0123456789abcdef" for c in digest)
    )


def tag_value(text: str) -> str:
    """``text`` as a DMS tag value: other characters become ``_``, cut to 256 characters."""
    allowed = "_.:/=+- "
    return "".join(c if c.isalnum() or c in allowed else "_" for c in text)[:MAX_TAG_VALUE]


def temporary_task_tags(task_arn: str, dag_run: str | None) -> dict[str, str]:
    """The tags that let a retry or a clean-up find a temporary task this provider left behind."""
    tags = {TAG_MANAGED_BY: MANAGED_BY, TAG_RELOAD_OF: tag_value(task_arn)}
    if dag_run:
        tags[TAG_DAG_RUN] = tag_value(dag_run)
    return tags


def is_temporary_task_of(tags: Mapping[str, str], task_arn: str) -> bool:
    """True when these tags mark a temporary reload task of ``task_arn`` made by this provider."""
    return tags.get(TAG_MANAGED_BY) == MANAGED_BY and tags.get(TAG_RELOAD_OF) == tag_value(task_arn)


def temporary_task_mappings(original_mappings: str | Mapping[str, Any], tables: Sequence[TableRef]) -> str:
    """Select exactly ``tables``, the way the original task selected them.

    A table that the original selected with ``filters`` (a selection rule's row filter) keeps
    every selection rule that matched it, narrowed to just that table, filters and all: DMS
    selects a row when any matching rule selects it, so the reload copies the same rows as the
    original load. Other tables get one ``explicit`` rule. ``table-settings`` rules that match a
    reloaded table are kept, and so are all transformation rules (they decide target names).
    Every rule is numbered afresh.
    """
    original = (
        json.loads(original_mappings) if isinstance(original_mappings, str) else dict(original_mappings)
    )
    rules = [r for r in original.get("rules", []) if isinstance(r, Mapping)]
    selection = [r for r in rules if r.get("rule-type") == "selection"]
    kept: list[Mapping[str, Any]] = []
    for table in tables:
        kept += _selection_for(table, selection)
    kept += [
        r for r in rules if r.get("rule-type") == "table-settings" and any(_locates(r, t) for t in tables)
    ]
    kept += [r for r in rules if r.get("rule-type") == "transformation"]
    numbered = []
    for rule_id, rule in enumerate(kept, start=1):
        item = {k: copy.deepcopy(v) for k, v in rule.items() if k not in ("rule-id", "rule-name")}
        item["rule-id"] = str(rule_id)
        item["rule-name"] = f"{item.get('rule-type', 'rule')}-{rule_id}"
        numbered.append(item)
    return json.dumps({"rules": numbered}, sort_keys=True)


def _locates(rule: Mapping[str, Any], table: TableRef) -> bool:
    """True when the rule's object-locator names ``table`` (exactly for an explicit rule)."""
    locator = rule.get("object-locator") or {}
    schema, name = str(locator.get("schema-name", "")), str(locator.get("table-name", "%"))
    if rule.get("rule-action") == "explicit":
        return (schema, name) == (table.schema, table.table)
    try:
        return name_matches(schema, table.schema) and name_matches(name, table.table)
    except NeonConfigError:
        return False


def _literal(name: str) -> str:
    """A DMS name pattern that matches ``name`` only (``%``, ``_`` and ``[`` in brackets)."""
    return "".join(f"[{ch}]" if ch in "%_[" else ch for ch in name)


def _selection_for(table: TableRef, selection: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    matching = [r for r in selection if r.get("rule-action") != "exclude" and _locates(r, table)]
    if not any(r.get("filters") for r in matching):
        return [SelectionRule(table.schema, table.table, RuleAction.EXPLICIT).to_rule(0)]
    narrowed: list[Mapping[str, Any]] = []
    for rule in matching:
        explicit = rule.get("rule-action") == "explicit"
        item = dict(rule)
        item["object-locator"] = {
            "schema-name": table.schema if explicit else _literal(table.schema),
            "table-name": table.table if explicit else _literal(table.table),
        }
        narrowed.append(item)
    return narrowed


def temporary_task_settings(original_settings: str | Mapping[str, Any] | None) -> str:
    """The original settings with TRUNCATE_BEFORE_LOAD, so reloaded rows never duplicate."""
    if isinstance(original_settings, str):
        settings: dict[str, Any] = json.loads(original_settings or "{}")
    else:
        settings = copy.deepcopy(dict(original_settings or {}))
    settings.setdefault("FullLoadSettings", {})["TargetTablePrepMode"] = (
        TargetTablePrepMode.TRUNCATE_BEFORE_LOAD.value
    )
    logging_settings = settings.get("Logging")
    if isinstance(logging_settings, dict):
        # DMS names these after the task itself; carrying them over would be refused.
        logging_settings.pop("CloudWatchLogGroup", None)
        logging_settings.pop("CloudWatchLogStream", None)
    return json.dumps(settings, sort_keys=True)


def reload_refusal(task: Mapping[str, Any]) -> str | None:
    """Why DMS would refuse ReloadTables for this task (checked before any table is emptied), or None."""
    name = task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn") or "?"
    status = str(task.get("Status") or "")
    migration_type = str(task.get("MigrationType") or "")
    if migration_type and migration_type not in RELOADABLE_MIGRATION_TYPES:
        return (
            f"Replication task {name} is a {migration_type} task: DMS reloads tables only of "
            "full-load and full-load-and-cdc tasks. Stop the task (a stopped task's tables are "
            "reloaded with a temporary full-load task), then resume it."
        )
    if status != "running":
        return (
            f"Replication task {name} is {status or 'in an unknown state'}: DMS accepts ReloadTables "
            "only while a task is running. Retry once it is running, or once it has stopped."
        )
    return None

"""NeonDmsCreateTaskOperator: builders or raw JSON in, an idempotent task out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.exceptions import NeonConfigError
from airflow_neon_dms.operators.task import NeonDmsCreateTaskOperator


def _tasks(dms: Any, name: str) -> list[dict[str, Any]]:
    return dms.describe_replication_tasks(Filters=[{"Name": "replication-task-id", "Values": [name]}])[
        "ReplicationTasks"
    ]


def _op(name: str, pair: Any, instance: str, **kwargs: Any) -> NeonDmsCreateTaskOperator:
    kwargs.setdefault("table_mappings", TableMappings.include("public", exclude=["tmp_%"]))
    return NeonDmsCreateTaskOperator(
        task_id="create_task",
        replication_task_identifier=name,
        source_endpoint_arn=pair.source_arn,
        target_endpoint_arn=pair.target_arn,
        replication_instance_arn=instance,
        **kwargs,
    )


def test_template_fields_and_renderers() -> None:
    fields = set(NeonDmsCreateTaskOperator.template_fields)
    assert {
        "replication_task_identifier",
        "table_mappings",
        "task_settings",
        "replication_instance_arn",
    } <= fields
    assert NeonDmsCreateTaskOperator.template_fields_renderers["table_mappings"] == "json"


def test_creates_task_from_builders_and_reuses_it_on_retry(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("task")
    op = _op(
        name,
        endpoint_pair,
        replication_instance_arn,
        task_settings=TaskSettings(target_table_prep_mode="DO_NOTHING"),
    )
    context = context_factory()
    arn = op.execute(context)
    [task] = _tasks(dms, name)
    assert task["ReplicationTaskArn"] == arn
    assert task["MigrationType"] == "full-load"
    rules = json.loads(task["TableMappings"])["rules"]
    assert [r["rule-action"] for r in rules] == ["include", "exclude"]
    settings = json.loads(task["ReplicationTaskSettings"])
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
    assert context["ti"].xcom["neon_dms_task"]["task_id"] == name
    assert (
        context["ti"].xcom["neon_dms_task_logs"]["awslogs_stream_name"]
        == "dms-task-" + arn.rsplit(":", 1)[-1]
    )
    # Retry: same ARN, still one task.
    assert op.execute(context_factory()) == arn
    assert len(_tasks(dms, name)) == 1


def test_raw_json_is_accepted(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("task")
    raw = TableMappings.include("shop").to_json()
    op = _op(
        name,
        endpoint_pair,
        replication_instance_arn,
        table_mappings=raw,
        task_settings='{"ValidationSettings": {"EnableValidation": false}}',
    )
    op.execute(context_factory())
    [task] = _tasks(dms, name)
    assert json.loads(task["TableMappings"]) == json.loads(raw)


def test_mysql_wildcard_schema_fails_before_creating_anything(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("task")
    op = _op(
        name,
        endpoint_pair,
        replication_instance_arn,
        table_mappings=TableMappings.include("%"),
        source_engine="mysql",
    )
    with pytest.raises(NeonConfigError, match="system database"):
        op.execute(context_factory())
    assert _tasks_or_none(dms, name) == []


def _tasks_or_none(dms: Any, name: str) -> list[dict[str, Any]]:
    try:
        return _tasks(dms, name)
    except dms.exceptions.ResourceNotFoundFault:
        return []


def test_bad_migration_type_is_named(
    aws_conn: str,
    endpoint_pair: Any,
    replication_instance_arn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = _op("t-bad", endpoint_pair, replication_instance_arn, migration_type="full")
    with pytest.raises(NeonConfigError, match="migration_type 'full' is not one of full-load, cdc"):
        op.execute(context_factory())


def test_changed_mappings_modify_the_task_that_is_not_running(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    name = unique_id("task")
    arn = _op(name, endpoint_pair, replication_instance_arn).execute(context_factory())
    changed = _op(
        name, endpoint_pair, replication_instance_arn, table_mappings=TableMappings.include("sales")
    )
    assert changed.execute(context_factory()) == arn
    [task] = _tasks(dms, name)
    assert json.loads(task["TableMappings"])["rules"][0]["object-locator"]["schema-name"] == "sales"

"""Defaults the operators spell as plain strings (so their modules need no enum at parse time)
must stay the enum values they stand for."""

from __future__ import annotations

import inspect

from airflow_neon_dms.dms.mappings import WildcardSchemaPolicy
from airflow_neon_dms.dms.states import MigrationType, StartType
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.operators.task import NeonDmsCreateTaskOperator


def _default(cls: type, name: str) -> object:
    return inspect.signature(cls.__init__).parameters[name].default


def test_string_defaults_are_the_enum_values() -> None:
    assert StartType(_default(NeonDmsStartTaskOperator, "start_type")) is StartType.START_REPLICATION
    assert MigrationType(_default(NeonDmsCreateTaskOperator, "migration_type")) is MigrationType.FULL_LOAD
    assert (
        WildcardSchemaPolicy(_default(NeonDmsCreateTaskOperator, "wildcard_schema"))
        is WildcardSchemaPolicy.ERROR
    )


def test_enum_arguments_are_stored_as_their_values() -> None:
    start = NeonDmsStartTaskOperator(
        task_id="start", replication_task_arn="arn:task", start_type=StartType.RELOAD_TARGET
    )
    create = NeonDmsCreateTaskOperator(
        task_id="create",
        replication_task_identifier="t",
        source_endpoint_arn="arn:s",
        target_endpoint_arn="arn:t",
        replication_instance_arn="arn:i",
        table_mappings={"rules": []},
        migration_type=MigrationType.FULL_LOAD_AND_CDC,
    )
    assert type(start.start_type) is str and start.start_type == "reload-target"
    assert type(create.migration_type) is str and create.migration_type == "full-load-and-cdc"

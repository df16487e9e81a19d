"""Create (or reuse) a DMS replication task from typed builders or raw JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_neon_dms.exceptions import NeonConfigError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS, NeonDmsBaseOperator
from airflow_neon_dms.operators.endpoint import DEFAULT_TAGS

if TYPE_CHECKING:
    from airflow_neon_dms.dms.mappings import TableMappings, WildcardSchemaPolicy
    from airflow_neon_dms.dms.states import MigrationType
    from airflow_neon_dms.dms.task_settings import TaskSettings

# The mapping and settings builders load in execute(): a DAG file parses without them.
#: ``MigrationType.FULL_LOAD`` and ``WildcardSchemaPolicy.ERROR``, the defaults.
FULL_LOAD = "full-load"
WILDCARD_SCHEMA_ERROR = "error"


class NeonDmsCreateTaskOperator(NeonDmsBaseOperator):
    """
    Create the replication task, or reuse the one with the same identifier (modifying its mappings
    or settings when they differ and the task is not running). Returns the task ARN.

    :param replication_task_identifier: DMS task identifier.
    :param source_endpoint_arn: source endpoint ARN.
    :param target_endpoint_arn: Neon target endpoint ARN.
    :param replication_instance_arn: replication instance ARN.
    :param table_mappings: a TableMappings builder, a dict or JSON text.
    :param task_settings: a TaskSettings builder, a dict or JSON text; None for TaskSettings().
    :param migration_type: full-load, cdc or full-load-and-cdc.
    :param source_engine: the source's DMS EngineName, for the MySQL ``%`` schema check; read from
        the source endpoint when None.
    :param wildcard_schema: ``error`` (default) or ``warn`` when a MySQL selection takes in the
        system databases.
    :param tags: tags for a new task.
    :param create_kwargs: more CreateReplicationTask arguments (CdcStartPosition, ...).
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_task_identifier",
        "source_endpoint_arn",
        "target_endpoint_arn",
        "replication_instance_arn",
        "table_mappings",
        "task_settings",
        "migration_type",
        "tags",
    )
    template_fields_renderers = {"table_mappings": "json", "task_settings": "json", "tags": "json"}
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def __init__(
        self,
        *,
        replication_task_identifier: str,
        source_endpoint_arn: str,
        target_endpoint_arn: str,
        replication_instance_arn: str,
        table_mappings: TableMappings | Mapping[str, Any] | str,
        task_settings: TaskSettings | Mapping[str, Any] | str | None = None,
        migration_type: MigrationType | str = FULL_LOAD,
        source_engine: str | None = None,
        wildcard_schema: WildcardSchemaPolicy | str = WILDCARD_SCHEMA_ERROR,
        tags: Mapping[str, str] | None = None,
        create_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_identifier = replication_task_identifier
        self.source_endpoint_arn = source_endpoint_arn
        self.target_endpoint_arn = target_endpoint_arn
        self.replication_instance_arn = replication_instance_arn
        self.table_mappings = table_mappings
        self.task_settings = task_settings
        self.migration_type = migration_type.value if isinstance(migration_type, Enum) else migration_type
        self.source_engine = source_engine
        self.wildcard_schema = wildcard_schema
        self.tags = tags
        self.create_kwargs = create_kwargs

    def execute(self, context: Context) -> str:
        from airflow_neon_dms.dms.mappings import table_mappings_json
        from airflow_neon_dms.dms.states import MigrationType
        from airflow_neon_dms.dms.task_settings import parse_task_settings

        try:
            migration_type = MigrationType(self.migration_type).value
        except ValueError:
            raise NeonConfigError(
                f"Replication task {self.replication_task_identifier}: migration_type "
                f"{self.migration_type!r} is not one of {', '.join(m.value for m in MigrationType)}."
            ) from None
        engine = self.source_engine
        if engine is None:
            source = self.hook.describe_endpoint(self.source_endpoint_arn) or {}
            engine = source.get("EngineName")
        mappings = table_mappings_json(
            self.table_mappings, source_engine=engine, wildcard_schema=self.wildcard_schema
        )
        settings = json.dumps(parse_task_settings(self.task_settings), sort_keys=True)
        arn, action = self.hook.ensure_task(
            self.replication_task_identifier,
            source_endpoint_arn=self.source_endpoint_arn,
            target_endpoint_arn=self.target_endpoint_arn,
            replication_instance_arn=self.replication_instance_arn,
            migration_type=migration_type,
            table_mappings=mappings,
            task_settings=settings,
            tags={**DEFAULT_TAGS, **dict(self.tags or {})},
            extra=self.create_kwargs,
        )
        self.describe_task_with_links(context, arn)
        self.log.info("Replication task %s %s: %s", self.replication_task_identifier, action, arn)
        return arn

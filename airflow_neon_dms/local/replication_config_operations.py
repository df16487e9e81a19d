"""DMS Serverless replication configs of the local DMS: Create, Modify, Delete and Describe.

botocore's docs give the rules: a config can be modified only before its replication first ran,
or when it is ``created`` or ``failed`` (ModifyReplicationConfig), and its replication is then
``modifying`` for ``StateTiming.modifying_seconds``; it cannot be deleted while its
replication is running or starting (DeleteReplicationConfig), and AWS deletes it only once the
replication's capacity is ``deprovisioned`` (the amazon provider's delete operator waits for that
too). A deleted config is ``deleting`` for ``StateTiming.deleting_seconds``, then gone.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    check_identifier,
    paginate,
    parse_filters,
    required,
    resource_id,
    with_marker,
)
from airflow_neon_dms.local.faults import (
    InvalidParameterValueException,
    InvalidResourceStateFault,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.models import Endpoint, ReplicationTask
from airflow_neon_dms.local.replication_models import (
    ACTIVE_STATUSES,
    ReplicationConfig,
    checked_compute_config,
)
from airflow_neon_dms.local.service_state import ServiceState
from airflow_neon_dms.local.table_mappings import parse_table_mappings
from airflow_neon_dms.local.task_settings import parse_task_settings

log = logging.getLogger(__name__)

REPLICATION_TYPES = ("full-load", "cdc", "full-load-and-cdc")
#: Filters of DescribeReplicationConfigs and DescribeReplications (botocore's
#: DescribeReplicationsMessage.Filters: "replication-config-arn | replication-config-id").
CONFIG_FILTERS = {
    "replication-config-arn": lambda c: c.arn,
    "replication-config-id": lambda c: c.identifier,
}


class ReplicationConfigOperations(ServiceState):
    """Create/Modify/Delete/DescribeReplicationConfigs, and the configs' share of the state."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replication_configs: dict[str, ReplicationConfig] = {}

    # --- look-ups and the state every operation shares -----------------------------------------
    def _replication_config(self, arn: str) -> ReplicationConfig:
        try:
            return self.replication_configs[arn]
        except KeyError:
            raise ResourceNotFoundFault(f"Replication config {arn} not found.") from None

    def _described_configs(self, params: Params) -> list[ReplicationConfig]:
        filters = parse_filters(params, CONFIG_FILTERS)
        items = apply_filters(list(self.replication_configs.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No replication configs found matching the filters.")
        return items

    def settle(self) -> None:
        super().settle()
        now = time.time()
        for config in list(self.replication_configs.values()):
            if config.gone_at is not None and now >= config.gone_at:
                self._forget_config(config)

    def _forget_config(self, config: ReplicationConfig) -> None:
        self.replication_configs.pop(config.arn, None)
        self.tags.pop(config.arn, None)

    def shutdown(self, timeout: float = 30) -> None:
        with self.lock:
            for config in self.replication_configs.values():
                config.task.stop_event.set()
        super().shutdown(timeout)

    def _known_arn(self, arn: str) -> None:
        if arn not in self.replication_configs:
            super()._known_arn(arn)

    # --- request parts ---------------------------------------------------------------------------
    def _config_endpoints(self, source_arn: str, target_arn: str) -> tuple[Endpoint, Endpoint]:
        source = self._endpoint(source_arn)
        target = self._endpoint(target_arn)
        for endpoint in (source, target):
            self._not_deleting("Endpoint", endpoint.identifier, endpoint.status)
        if source.endpoint_type != "source":
            raise InvalidParameterValueException(
                f"Endpoint {source.identifier} must be of type SOURCE to be a SourceEndpointArn."
            )
        if target.endpoint_type != "target":
            raise InvalidParameterValueException(
                f"Endpoint {target.identifier} must be of type TARGET to be a TargetEndpointArn."
            )
        return source, target

    @staticmethod
    def _replication_type(value: Any) -> str:
        if value not in REPLICATION_TYPES:
            raise InvalidParameterValueException(
                f"Invalid ReplicationType {value!r}; use one of {', '.join(REPLICATION_TYPES)}."
            )
        return str(value)

    @staticmethod
    def _supplemental(text: Any) -> str | None:
        if text is None or text == "":
            return None
        try:
            document = json.loads(text)
        except (TypeError, ValueError) as err:
            raise InvalidParameterValueException(f"SupplementalSettings is not valid JSON: {err}.") from None
        if not isinstance(document, dict):
            raise InvalidParameterValueException("SupplementalSettings must be a JSON object.")
        return str(text)

    def _check_compute_subnet_group(self, compute: dict[str, Any]) -> None:
        group = compute.get("ReplicationSubnetGroupId")
        if group is not None and str(group).lower() not in self.subnet_groups:
            raise ResourceNotFoundFault(
                f"Replication subnet group {group} (ComputeConfig.ReplicationSubnetGroupId) not found."
            )

    # --- operations ------------------------------------------------------------------------------
    def create_replication_config(self, params: Params) -> Result:
        identifier = check_identifier(
            "ReplicationConfigIdentifier", required(params, "ReplicationConfigIdentifier")
        )
        source, target = self._config_endpoints(
            required(params, "SourceEndpointArn"), required(params, "TargetEndpointArn")
        )
        compute = checked_compute_config(params.get("ComputeConfig"))
        self._check_compute_subnet_group(compute)
        replication_type = self._replication_type(params.get("ReplicationType"))
        mappings = required(params, "TableMappings")
        parse_table_mappings(mappings)
        # ReplicationSettings are task settings: merged into DMS's default document like a task's
        _, settings = parse_task_settings(params.get("ReplicationSettings"))
        supplemental = self._supplemental(params.get("SupplementalSettings"))
        if any(c.identifier == identifier for c in self.replication_configs.values()):
            raise ResourceAlreadyExistsFault(f"Replication config {identifier} already exists.")
        arn = self._arn("replication-config", params.get("ResourceIdentifier") or resource_id())
        config = ReplicationConfig(
            identifier=identifier,
            arn=arn,
            source_arn=source.arn,
            target_arn=target.arn,
            replication_type=replication_type,
            compute_config=compute,
            table_mappings=mappings,
            settings=settings,
            supplemental_settings=supplemental,
            task=ReplicationTask(
                identifier=identifier,
                arn=arn,
                source_arn=source.arn,
                target_arn=target.arn,
                instance_arn="",
                migration_type=replication_type,
                table_mappings=mappings,
                settings=settings,
            ),
        )
        self.replication_configs[arn] = config
        self._tag(arn, params.get("Tags"))
        log.info("Replication config %s created", identifier)
        return {"ReplicationConfig": config.to_api(with_update_time=True)}

    def modify_replication_config(self, params: Params) -> Result:
        config = self._replication_config(required(params, "ReplicationConfigArn"))
        status = config.status()
        # botocore: only before any replication with the config started, or when it is
        # created or failed ("even if you stop it" it can't be modified)
        if status not in ("created", "failed"):
            raise InvalidResourceStateFault(
                f"Replication config {config.identifier}: its replication is {status}; a config "
                "can be modified only while its replication is created (never started) or failed. "
                "Create a new replication config instead."
            )
        source, target = self._config_endpoints(
            params.get("SourceEndpointArn") or config.source_arn,
            params.get("TargetEndpointArn") or config.target_arn,
        )
        compute = config.compute_config
        if params.get("ComputeConfig") is not None:
            compute = checked_compute_config(params["ComputeConfig"], config.compute_config)
            self._check_compute_subnet_group(compute)
        replication_type = self._replication_type(params.get("ReplicationType", config.replication_type))
        mappings = params.get("TableMappings", config.table_mappings)
        parse_table_mappings(mappings)
        settings = config.settings
        if params.get("ReplicationSettings") is not None:
            settings = parse_task_settings(params["ReplicationSettings"], config.settings)[1]
        supplemental = config.supplemental_settings
        if "SupplementalSettings" in params:
            supplemental = self._supplemental(params["SupplementalSettings"])
        new_id = params.get("ReplicationConfigIdentifier")
        if new_id is not None:
            new_id = check_identifier("ReplicationConfigIdentifier", new_id)
            if any(c.identifier == new_id and c is not config for c in self.replication_configs.values()):
                raise ResourceAlreadyExistsFault(f"Replication config {new_id} already exists.")
        # every value checked: apply them together (a refused request changes nothing)
        config.identifier = config.task.identifier = new_id or config.identifier
        config.source_arn = config.task.source_arn = source.arn
        config.target_arn = config.task.target_arn = target.arn
        config.compute_config = compute
        config.replication_type = config.task.migration_type = replication_type
        config.table_mappings = config.task.table_mappings = mappings
        config.settings = config.task.settings = settings
        config.supplemental_settings = supplemental
        config.updated = time.time()
        if self.timing.modifying_seconds > 0:
            config.modifying_until = config.updated + self.timing.modifying_seconds
        return {"ReplicationConfig": config.to_api(with_update_time=True)}

    def delete_replication_config(self, params: Params) -> Result:
        config = self._replication_config(required(params, "ReplicationConfigArn"))
        status = config.status()
        if status == "deleting":
            raise InvalidResourceStateFault(f"Replication config {config.identifier} is being deleted.")
        if status in ACTIVE_STATUSES:
            raise InvalidResourceStateFault(
                f"Replication config {config.identifier}: its replication is {status}; stop it "
                "(StopReplication) and wait until it is stopped before deleting the config."
            )
        provision = config.provision_state(self.timing)
        if provision not in ("", "deprovisioned"):
            raise InvalidResourceStateFault(
                f"Replication config {config.identifier}: its replication's capacity is {provision}; "
                "delete the config once ProvisionData.ProvisionState is deprovisioned."
            )
        config.deleting = True
        config.gone_at = self._deleted_at()
        answer = {"ReplicationConfig": config.to_api(with_update_time=True)}
        if config.gone_at is None:
            self._forget_config(config)
        log.info("Replication config %s deleted", config.identifier)
        return answer

    def describe_replication_configs(self, params: Params) -> Result:
        page, marker = paginate(params, self._described_configs(params), DESCRIBE_MAX)
        return with_marker({"ReplicationConfigs": [c.to_api() for c in page]}, marker)

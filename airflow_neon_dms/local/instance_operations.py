"""Replication instance and tag operations of the local DMS."""

from __future__ import annotations

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
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    InvalidResourceStateFault,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.models import ReplicationInstance
from airflow_neon_dms.local.service_state import ServiceState


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def check_engine_upgrade(current: str, wanted: str | None, allow_major: bool) -> None:
    """ModifyReplicationInstance refuses a new major engine version without AllowMajorVersionUpgrade.

    botocore's ModifyReplicationInstance documents AllowMajorVersionUpgrade: "This parameter must
    be set to true when specifying a value for the EngineVersion parameter that is a different
    major version than the replication instance's current version" (and EngineVersion: "When
    modifying a major engine version of an instance, also set AllowMajorVersionUpgrade to true").
    The error is AWS's common ``InvalidParameterCombinationException`` (DMS API Reference, "Common
    Errors"); the message is the one RDS answers for the same flag (aws-controllers-k8s/community
    issue 1265). A major version is the first number (3 of 3.5.4).
    """
    if wanted is None or allow_major or _major(wanted) == _major(current):
        return
    raise InvalidParameterCombinationException(
        "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version."
    )


class InstanceOperations(ServiceState):
    """Create/Describe/DeleteReplicationInstance and Add/Remove/ListTags."""

    def create_replication_instance(self, params: Params) -> Result:
        identifier = check_identifier(
            "ReplicationInstanceIdentifier", required(params, "ReplicationInstanceIdentifier")
        )
        instance_class = required(params, "ReplicationInstanceClass")
        if any(i.identifier == identifier for i in self.instances.values()):
            raise ResourceAlreadyExistsFault(f"Replication instance {identifier} already exists.")
        arn = self._arn("rep", params.get("ResourceIdentifier") or resource_id())
        instance = ReplicationInstance(
            identifier=identifier,
            arn=arn,
            instance_class=instance_class,
            allocated_storage=int(params.get("AllocatedStorage") or 50),
            engine_version=params.get("EngineVersion") or "3.5.4",
            multi_az=bool(params.get("MultiAZ", False)),
            publicly_accessible=bool(params.get("PubliclyAccessible", True)),
            availability_zone=params.get("AvailabilityZone") or f"{self.region}a",
            security_groups=list(params.get("VpcSecurityGroupIds") or []),
            auto_minor_version_upgrade=bool(params.get("AutoMinorVersionUpgrade", True)),
        )
        if params.get("PreferredMaintenanceWindow"):
            instance.preferred_maintenance_window = str(params["PreferredMaintenanceWindow"])
        if params.get("ReplicationSubnetGroupIdentifier"):
            group_id = str(params["ReplicationSubnetGroupIdentifier"]).lower()
            if group_id not in self.subnet_groups:
                raise ResourceNotFoundFault(f"Replication subnet group {group_id} not found.")
            instance.subnet_group = self.subnet_groups[group_id].to_api()
        self.instances[arn] = instance
        self._tag(arn, params.get("Tags"))
        return {"ReplicationInstance": instance.to_api(status="creating")}

    def describe_replication_instances(self, params: Params) -> Result:
        filters = parse_filters(
            params,
            {
                "replication-instance-arn": lambda i: i.arn,
                "replication-instance-id": lambda i: i.identifier,
                "replication-instance-class": lambda i: i.instance_class,
                "engine-version": lambda i: i.engine_version,
            },
        )
        items = apply_filters(list(self.instances.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No replication instances found matching the filters.")
        page, marker = paginate(params, items, DESCRIBE_MAX)
        return with_marker({"ReplicationInstances": [i.to_api() for i in page]}, marker)

    def delete_replication_instance(self, params: Params) -> Result:
        instance = self._instance(required(params, "ReplicationInstanceArn"))
        self._not_deleting("Replication instance", instance.identifier, instance.status)
        users = [t.identifier for t in self.tasks.values() if t.instance_arn == instance.arn]
        if users:
            raise InvalidResourceStateFault(
                f"Replication instance {instance.identifier} is used by replication task(s) "
                f"{', '.join(users)}; delete them first (and wait until they are gone)."
            )
        instance.status = "deleting"
        instance.state_until = self._deleted_at()
        if instance.state_until is None:
            self._forget_instance(instance)
        return {"ReplicationInstance": instance.to_api()}

    def modify_replication_instance(self, params: Params) -> Result:
        """Class, storage, Multi-AZ and engine version change now with ApplyImmediately (the
        instance is ``modifying`` briefly), else they wait in PendingModifiedValues for the
        maintenance window (botocore: ModifyReplicationInstance's ApplyImmediately)."""
        instance = self._instance(required(params, "ReplicationInstanceArn"))
        if instance.status != "available":
            raise InvalidResourceStateFault(
                f"Replication instance {instance.identifier} is {instance.status}; it can be "
                "modified when it is available."
            )
        new_id = params.get("ReplicationInstanceIdentifier")
        if new_id is not None:
            new_id = check_identifier("ReplicationInstanceIdentifier", new_id)
            if any(i.identifier == new_id and i is not instance for i in self.instances.values()):
                raise ResourceAlreadyExistsFault(f"Replication instance {new_id} already exists.")
        engine = params.get("EngineVersion")
        check_engine_upgrade(
            instance.engine_version, None if engine is None else str(engine),
            bool(params.get("AllowMajorVersionUpgrade")),
        )  # fmt: skip
        storage = params.get("AllocatedStorage")
        if storage is not None and not 5 <= int(storage) <= 6144:
            raise InvalidParameterValueException(f"Invalid AllocatedStorage {storage}; use 5 to 6144 (GiB).")
        changes: dict[str, Any] = {
            "ReplicationInstanceClass": params.get("ReplicationInstanceClass"),
            "AllocatedStorage": None if storage is None else int(storage),
            "MultiAZ": params.get("MultiAZ"),
            "EngineVersion": params.get("EngineVersion"),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if new_id is not None:
            instance.identifier = new_id
        if "VpcSecurityGroupIds" in params:
            instance.security_groups = list(params["VpcSecurityGroupIds"] or [])
        if params.get("PreferredMaintenanceWindow"):
            instance.preferred_maintenance_window = str(params["PreferredMaintenanceWindow"])
        if "AutoMinorVersionUpgrade" in params:
            instance.auto_minor_version_upgrade = bool(params["AutoMinorVersionUpgrade"])
        if changes and params.get("ApplyImmediately"):
            instance.instance_class = changes.get("ReplicationInstanceClass", instance.instance_class)
            instance.allocated_storage = changes.get("AllocatedStorage", instance.allocated_storage)
            instance.multi_az = bool(changes.get("MultiAZ", instance.multi_az))
            instance.engine_version = changes.get("EngineVersion", instance.engine_version)
            for key in changes:
                instance.pending.pop(key, None)
            if self.timing.modifying_seconds > 0:
                instance.status = "modifying"
                instance.state_until = time.time() + self.timing.modifying_seconds
        else:
            instance.pending.update(changes)
        return {"ReplicationInstance": instance.to_api()}

    def add_tags_to_resource(self, params: Params) -> Result:
        arn = required(params, "ResourceArn")
        self._known_arn(arn)
        self._tag(arn, params.get("Tags") or [])
        return {}

    def remove_tags_from_resource(self, params: Params) -> Result:
        arn = required(params, "ResourceArn")
        self._known_arn(arn)
        for key in params.get("TagKeys") or []:
            self.tags.get(arn, {}).pop(key, None)
        return {}

    def list_tags_for_resource(self, params: Params) -> Result:
        arns = list(params.get("ResourceArnList") or [])
        if params.get("ResourceArn"):
            arns.insert(0, params["ResourceArn"])
        if not arns:
            raise InvalidParameterValueException("Give ResourceArn or ResourceArnList.")
        tag_list = []
        for arn in arns:
            self._known_arn(arn)
            for key, value in self.tags.get(arn, {}).items():
                tag_list.append({"Key": key, "Value": value, "ResourceArn": arn})
        return {"TagList": tag_list}

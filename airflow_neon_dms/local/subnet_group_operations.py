"""Replication subnet groups of the local DMS (Create/Describe/Modify/DeleteReplicationSubnetGroup).

The emulator has no VPC: a subnet id is accepted when it looks like one (``subnet-`` and hex
digits), its Availability Zone is the region's ``a``, ``b``, ``c`` in the order given, and the VPC
id is derived from the subnets. AWS checks the subnets against EC2 and requires two Availability
Zones (the ReplicationSubnetGroupDoesNotCoverEnoughAZs fault of botocore's model).
"""

from __future__ import annotations

import re

from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    paginate,
    parse_filters,
    required,
    with_marker,
)
from airflow_neon_dms.local.faults import (
    InvalidParameterValueException,
    InvalidResourceStateFault,
    InvalidSubnet,
    ReplicationSubnetGroupDoesNotCoverEnoughAZs,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.models import SubnetGroup
from airflow_neon_dms.local.service_state import ServiceState

#: botocore's CreateReplicationSubnetGroup docs: at most 255 letters, digits, periods,
#: underscores or hyphens, stored lowercase, not "default".
_GROUP_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_SUBNET_ID_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")


def _subnets(params: Params) -> list[str]:
    subnets = required(params, "SubnetIds")
    bad = [s for s in subnets if not isinstance(s, str) or not _SUBNET_ID_RE.match(s)]
    if bad:
        raise InvalidSubnet(f"The subnet ID(s) {', '.join(map(str, bad))} are not valid subnet IDs.")
    if len(set(subnets)) < 2:
        raise ReplicationSubnetGroupDoesNotCoverEnoughAZs(
            "The DB subnet group doesn't meet availability zone coverage requirement. Please add "
            "subnets to cover at least 2 availability zones. Current coverage: 1"
        )
    return list(dict.fromkeys(subnets))


class SubnetGroupOperations(ServiceState):
    """Create/Describe/Modify/DeleteReplicationSubnetGroup."""

    def _subnet_group(self, identifier: str) -> SubnetGroup:
        try:
            return self.subnet_groups[identifier.lower()]
        except KeyError:
            raise ResourceNotFoundFault(f"Replication subnet group {identifier} not found.") from None

    def create_replication_subnet_group(self, params: Params) -> Result:
        identifier = str(required(params, "ReplicationSubnetGroupIdentifier"))
        if not _GROUP_ID_RE.match(identifier) or identifier.lower() == "default":
            raise InvalidParameterValueException(
                "The parameter ReplicationSubnetGroupIdentifier must contain no more than 255 "
                'alphanumeric characters, periods, underscores, or hyphens, and must not be "default".'
            )
        description = str(required(params, "ReplicationSubnetGroupDescription"))
        subnets = _subnets(params)
        if identifier.lower() in self.subnet_groups:
            raise ResourceAlreadyExistsFault(f"Replication subnet group {identifier} already exists.")
        if any(not t.get("Key") for t in params.get("Tags") or []):
            raise InvalidParameterValueException("Every tag needs a non-empty Key.")
        group = SubnetGroup(identifier.lower(), description, subnets, self.region)
        group.tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags") or []}
        self.subnet_groups[group.identifier] = group
        return {"ReplicationSubnetGroup": group.to_api()}

    def modify_replication_subnet_group(self, params: Params) -> Result:
        group = self._subnet_group(str(required(params, "ReplicationSubnetGroupIdentifier")))
        subnets = _subnets(params)
        group.subnet_ids = subnets
        if params.get("ReplicationSubnetGroupDescription"):
            group.description = str(params["ReplicationSubnetGroupDescription"])
        for instance in self.instances.values():
            if (instance.subnet_group or {}).get("ReplicationSubnetGroupIdentifier") == group.identifier:
                instance.subnet_group = group.to_api()
        return {"ReplicationSubnetGroup": group.to_api()}

    def describe_replication_subnet_groups(self, params: Params) -> Result:
        filters = parse_filters(params, {"replication-subnet-group-id": lambda g: g.identifier})
        items = apply_filters(list(self.subnet_groups.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No replication subnet groups found matching the filters.")
        page, marker = paginate(params, items, DESCRIBE_MAX)
        return with_marker({"ReplicationSubnetGroups": [g.to_api() for g in page]}, marker)

    def delete_replication_subnet_group(self, params: Params) -> Result:
        group = self._subnet_group(str(required(params, "ReplicationSubnetGroupIdentifier")))
        users = [
            i.identifier
            for i in self.instances.values()
            if (i.subnet_group or {}).get("ReplicationSubnetGroupIdentifier") == group.identifier
        ]
        if users:
            raise InvalidResourceStateFault(
                f"Replication subnet group {group.identifier} is used by replication instance(s) "
                f"{', '.join(users)}; delete them first."
            )
        del self.subnet_groups[group.identifier]
        return {}

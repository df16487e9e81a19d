"""DMS Serverless resources of the local DMS: a replication config and the replication it runs.

Sources for every name, state and limit (checked against botocore's ``dms/2016-01-01`` model):

- ``ComputeConfig.MaxCapacityUnits``/``MinCapacityUnits`` (botocore docs): "The list of valid DCU
  values includes 1, 2, 4, 8, 16, 32, 64, 128, 192, 256, and 384"; MaxCapacityUnits "is the only
  DCU parameter you are required to specify"; MinCapacityUnits defaults to 1; AvailabilityZone
  "can't" be set together with ``MultiAZ`` true.
- ``Replication.Status``: botocore types it as a plain string. The values are those AWS answers
  (``created``, then ``initializing``, ``preparing_metadata_resources``, ``testing_connection``,
  ``fetching_metadata``, ``calculating_capacity``, ``provisioning_capacity``,
  ``replication_starting``, ``running``, ``stopping``, ``stopped``, ``failed``, ``deleting``): the
  order is AWS's user guide, "AWS DMS Serverless components" (Initializing ... Provisioning
  Capacity, Replication Starting, Running); the wire spelling is the one the amazon provider's
  DMS waiters match (``created``, ``running``, ``stopped``, ``failed``).
- ``ProvisionData.ProvisionState``: ``provisioning``, ``provisioned``, ``deprovisioning``,
  ``deprovisioned`` (the amazon provider's ``replication_deprovisioned`` and
  ``replication_terminal_status`` waiters match the last two). A stopped replication keeps its
  capacity for a while (``ReplicationDeprovisionTime``: "when DMS will deprovision the
  replication"; StopReplication "doesn't deprovision the stopped replications").
- ``modifying``: after ModifyReplicationConfig, for ``StateTiming.modifying_seconds``. AWS answers
  a StartReplication then with InvalidResourceStateFault "Replication for Replication Config: ...
  is in MODIFYING state and cannot start" (quoted in terraform-provider-aws issue 35650).
- ``Replication.StopReason`` lists ``Stop Reason FULL_LOAD_ONLY_FINISHED`` (a finished full load)
  and ``Stop Reason NORMAL``, the same values as a replication task.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from airflow_neon_dms.local.faults import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
)
from airflow_neon_dms.local.models import ReplicationTask
from airflow_neon_dms.local.state_timing import StateTiming

#: DMS capacity units a ComputeConfig may name (botocore's ComputeConfig.MaxCapacityUnits docs).
CAPACITY_UNITS = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
#: Members of botocore's ComputeConfig shape (the only ones a ReplicationConfig answer may hold).
COMPUTE_CONFIG_MEMBERS = (
    "AvailabilityZone",
    "DnsNameServers",
    "KmsKeyId",
    "MaxCapacityUnits",
    "MinCapacityUnits",
    "MultiAZ",
    "PreferredMaintenanceWindow",
    "ReplicationSubnetGroupId",
    "VpcSecurityGroupIds",
)
#: The statuses of the provisioning phase, in AWS's order; ``replication_starting`` lasts until
#: the replication really runs.
PROVISIONING_STATUSES = (
    "initializing",
    "preparing_metadata_resources",
    "testing_connection",
    "fetching_metadata",
    "calculating_capacity",
    "provisioning_capacity",
    "replication_starting",
)
#: Statuses in which a replication holds work: no modify, delete or second start.
ACTIVE_STATUSES = (*PROVISIONING_STATUSES, "running", "stopping")


def checked_compute_config(value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``value`` (merged over ``base``) as a valid ComputeConfig, or the fault DMS answers."""
    if not isinstance(value, dict):
        raise InvalidParameterValueException(
            "ComputeConfig is required: give at least MaxCapacityUnits (one of "
            f"{', '.join(map(str, CAPACITY_UNITS))})."
        )
    merged = {**(base or {}), **{k: v for k, v in value.items() if v is not None}}
    if merged.get("MaxCapacityUnits") is None:
        raise InvalidParameterValueException(
            "ComputeConfig.MaxCapacityUnits is required: the most DMS capacity units (DCU) the "
            f"replication may use, one of {', '.join(map(str, CAPACITY_UNITS))}."
        )
    for name in ("MinCapacityUnits", "MaxCapacityUnits"):
        units = merged.get(name)
        if units is not None and (isinstance(units, bool) or units not in CAPACITY_UNITS):
            raise InvalidParameterValueException(
                f"Invalid ComputeConfig.{name} {units!r}: DMS capacity units (DCU) must be one of "
                f"{', '.join(map(str, CAPACITY_UNITS))}."
            )
    low, high = merged.get("MinCapacityUnits"), merged["MaxCapacityUnits"]
    if low is not None and low > high:
        raise InvalidParameterValueException(
            f"ComputeConfig.MinCapacityUnits ({low}) is greater than MaxCapacityUnits ({high}); "
            "give a minimum at or below the maximum."
        )
    if merged.get("MultiAZ") and merged.get("AvailabilityZone"):
        raise InvalidParameterCombinationException(
            "ComputeConfig.AvailabilityZone can't be set when MultiAZ is true; remove one of them."
        )
    return {k: merged[k] for k in COMPUTE_CONFIG_MEMBERS if merged.get(k) is not None}


def provisioning_status(started: float, provisioned: float | None, now: float) -> str:
    """The status of a replication in its provisioning phase ``[started, provisioned)``: AWS's
    provisioning statuses in order, each for an equal share of the phase."""
    if provisioned is None or now >= provisioned or provisioned <= started:
        return PROVISIONING_STATUSES[-1]
    share = (now - started) / (provisioned - started)
    steps = len(PROVISIONING_STATUSES) - 1
    return PROVISIONING_STATUSES[min(steps - 1, max(0, int(share * steps)))]


def provision_state(
    *, provisioning_until: float | None, stopped_at: float | None, timing: StateTiming, now: float
) -> str:
    """``ProvisionData.ProvisionState`` of a started replication."""
    if provisioning_until is not None and now < provisioning_until:
        return "provisioning"
    if stopped_at is None:
        return "provisioned"
    release = stopped_at + timing.serverless_deprovision_after_seconds
    if now < release:
        return "provisioned"
    if now < release + timing.serverless_deprovisioning_seconds:
        return "deprovisioning"
    return "deprovisioned"


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


@dataclass
class ReplicationConfig:
    """A DMS Serverless replication config and the one replication it runs.

    ``task`` is the replication's work as the task runner knows it: an internal
    ``ReplicationTask`` (never listed by DescribeReplicationTasks) that carries the config's
    endpoints, type, mappings and settings, its per-table statistics and the runner's status.
    """

    identifier: str
    arn: str
    source_arn: str
    target_arn: str
    replication_type: str
    compute_config: dict[str, Any]
    table_mappings: str
    settings: str
    task: ReplicationTask
    supplemental_settings: str | None = None
    created: float = field(default_factory=time.time)
    updated: float | None = None
    #: The last StartReplication: its type, when it was called, and when provisioning ends.
    start_type: str | None = None
    started_at: float | None = None
    provisioning_until: float | None = None
    provisioned_at: float | None = None
    cdc: dict[str, Any] = field(default_factory=dict)
    #: StartReplication's PremigrationAssessmentSettings (JSON text), kept as given.
    premigration_assessment_settings: str | None = None
    #: True when a failed premigration assessment kept the last start from running (the next
    #: start is a first run again: start-replication).
    assessment_blocked: bool = False
    #: After ModifyReplicationConfig: until when the replication is ``modifying`` (epoch seconds).
    modifying_until: float | None = None
    #: While ``deleting``: when the config is gone (epoch seconds).
    deleting: bool = False
    gone_at: float | None = None

    def status(self, now: float | None = None) -> str:
        """``Replication.Status`` now."""
        now = time.time() if now is None else now
        if self.deleting:
            return "deleting"
        if self.modifying_until is not None and now < self.modifying_until:
            return "modifying"
        runner_status = self.task.status
        if runner_status == "ready":
            return "created"
        if runner_status == "starting":
            return provisioning_status(self.started_at or now, self.provisioning_until, now)
        return runner_status

    def provision_state(self, timing: StateTiming, now: float | None = None) -> str:
        """``ProvisionData.ProvisionState`` now ("" before the first StartReplication)."""
        if self.started_at is None:
            return ""
        stopped = self.task.stop_date if self.task.status in ("stopped", "failed") else None
        return provision_state(
            provisioning_until=self.provisioning_until,
            stopped_at=stopped,
            timing=timing,
            now=time.time() if now is None else now,
        )

    def capacity_units(self) -> int:
        """The DCUs the replication runs on: its minimum (the emulator does not scale)."""
        return int(self.compute_config.get("MinCapacityUnits") or 1)

    def to_api(self, *, with_update_time: bool = False) -> dict[str, Any]:
        """The ReplicationConfig shape."""
        return _compact(
            {
                "ReplicationConfigIdentifier": self.identifier,
                "ReplicationConfigArn": self.arn,
                "SourceEndpointArn": self.source_arn,
                "TargetEndpointArn": self.target_arn,
                "ReplicationType": self.replication_type,
                "ComputeConfig": dict(self.compute_config),
                "ReplicationSettings": self.settings,
                "SupplementalSettings": self.supplemental_settings,
                "TableMappings": self.table_mappings,
                "ReplicationConfigCreateTime": self.created,
                # AWS answers Create/Modify/Delete with the update time, Describe without it
                "ReplicationConfigUpdateTime": (self.updated or self.created) if with_update_time else None,
            }
        )

    def replication_to_api(self, timing: StateTiming) -> dict[str, Any]:
        """The Replication shape (DescribeReplications, StartReplication, StopReplication)."""
        now = time.time()
        task = self.task
        state = self.provision_state(timing, now)
        provision = None
        if state:
            holding = state in ("provisioned", "deprovisioning")
            provision = _compact(
                {
                    "ProvisionState": state,
                    "ProvisionedCapacityUnits": self.capacity_units() if holding else 0,
                    "DateProvisioned": self.provisioned_at,
                    "IsNewProvisioningAvailable": False,
                }
            )
        stopped = task.status in ("stopped", "failed") and task.stop_date is not None
        failed = task.status == "failed" and task.last_failure
        return _compact(
            {
                "ReplicationConfigIdentifier": self.identifier,
                "ReplicationConfigArn": self.arn,
                "SourceEndpointArn": self.source_arn,
                "TargetEndpointArn": self.target_arn,
                "ReplicationType": self.replication_type,
                "Status": self.status(now),
                "ProvisionData": provision,
                "StopReason": task.stop_reason or None,
                "FailureMessages": [task.last_failure] if failed else None,
                "ReplicationStats": task.stats(),
                "StartReplicationType": self.start_type,
                "CdcStartTime": self.cdc.get("CdcStartTime"),
                "CdcStartPosition": self.cdc.get("CdcStartPosition"),
                "CdcStopPosition": self.cdc.get("CdcStopPosition"),
                "ReplicationCreateTime": self.created,
                "ReplicationUpdateTime": self.updated or self.started_at or self.created,
                "ReplicationLastStopTime": task.stop_date,
                "ReplicationDeprovisionTime": (
                    task.stop_date + timing.serverless_deprovision_after_seconds
                    if stopped and task.stop_date is not None
                    else None
                ),
            }
        )

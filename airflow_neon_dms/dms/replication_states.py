"""DMS Serverless replications as data: statuses, provisioning states, verdicts, input rules.

Pure rules with no Airflow import. Sources: the botocore DMS service model (2016-01-01: the
Replication, ProvisionData, ReplicationStats and ComputeConfig shapes, StartReplicationType's
documentation), AWS's user guide "AWS DMS Serverless components" (the replication statuses), and
the amazon provider's DMS waiters (``replication_complete``, ``replication_terminal_status``,
``replication_deprovisioned``: the wire spelling of ``created``, ``running``, ``stopped``,
``failed``, ``deprovisioning``, ``deprovisioned``).

A replication's ReplicationStats has the members of a task's ReplicationTaskStats and its
StopReason the task's values, so a stopped or running replication is judged by the task rules in
:mod:`airflow_neon_dms.dms.states` through :func:`as_task_view`; nothing of them is copied here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_neon_dms.dms.states import (
    Outcome,
    StartType,
    TaskOutcome,
    classify_task,
    start_type_for,
)


class ReplicationStatus:
    """Replication.Status values (AWS user guide, "AWS DMS Serverless components")."""

    CREATED = "created"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    DELETING = "deleting"
    #: After ModifyReplicationConfig, until the change is applied; StartReplication is refused
    #: meanwhile ("Replication for Replication Config: ... is in MODIFYING state and cannot start",
    #: AWS's answer as quoted in terraform-provider-aws issue 35650; lower case like the others).
    MODIFYING = "modifying"


#: The provisioning statuses, in AWS's order (user guide, "AWS DMS Serverless components").
PROVISIONING_STATUSES: frozenset[str] = frozenset(
    {
        "initializing",
        "preparing_metadata_resources",
        "testing_connection",
        "fetching_metadata",
        "calculating_capacity",
        "provisioning_capacity",
        "replication_starting",
    }
)
#: A replication in one of these holds work: no modify, no delete, no second start.
REPLICATION_ACTIVE: frozenset[str] = PROVISIONING_STATUSES | {
    ReplicationStatus.RUNNING,
    ReplicationStatus.STOPPING,
}
KNOWN_REPLICATION_STATUSES: frozenset[str] = REPLICATION_ACTIVE | {
    ReplicationStatus.MODIFYING,
    ReplicationStatus.CREATED,
    ReplicationStatus.STOPPED,
    ReplicationStatus.FAILED,
    ReplicationStatus.DELETING,
}
#: ModifyReplicationConfig: "you can't modify that configuration, even if you stop it. Other run
#: statuses that allow you to run this command include FAILED and CREATED" (botocore).
MODIFIABLE_REPLICATION_STATUSES: frozenset[str] = frozenset(
    {ReplicationStatus.CREATED, ReplicationStatus.FAILED}
)
#: ProvisionData.ProvisionState values ("" or absent before the first start).
KNOWN_PROVISION_STATES: frozenset[str] = frozenset(
    {"", "provisioning", "provisioned", "deprovisioning", "deprovisioned"}
)
#: ComputeConfig.MaxCapacityUnits/MinCapacityUnits: "The list of valid DCU values includes 1, 2,
#: 4, 8, 16, 32, 64, 128, 192, 256, and 384" (botocore, ComputeConfig.MaxCapacityUnits).
ALLOWED_CAPACITY_UNITS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
COMPUTE_INSTANCE = "instance"
COMPUTE_SERVERLESS = "serverless"


def is_replication_config_arn(arn: str) -> bool:
    """True for ``arn:<partition>:dms:<region>:<account>:replication-config:<id>``."""
    parts = (arn or "").split(":")
    return len(parts) >= 7 and parts[2] == "dms" and parts[5] == "replication-config"


def replication_name(replication: Mapping[str, Any]) -> str:
    return str(
        replication.get("ReplicationConfigIdentifier") or replication.get("ReplicationConfigArn") or "?"
    )


def provision_state(replication: Mapping[str, Any]) -> str:
    return str((replication.get("ProvisionData") or {}).get("ProvisionState") or "").lower()


def as_task_view(replication: Mapping[str, Any]) -> dict[str, Any]:
    """The replication in the shape of a DescribeReplicationTasks entry, for the task rules."""
    failures = [str(m) for m in replication.get("FailureMessages") or [] if m]
    return {
        "ReplicationTaskIdentifier": replication_name(replication),
        "ReplicationConfigIdentifier": replication.get("ReplicationConfigIdentifier"),
        "Status": str(replication.get("Status") or "").lower(),
        "MigrationType": replication.get("ReplicationType") or "full-load",
        "StopReason": replication.get("StopReason"),
        "LastFailureMessage": " ".join(failures) or None,
        "ReplicationTaskStats": replication.get("ReplicationStats") or {},
        # CDC facts for the cutover report (botocore Replication: RecoveryCheckpoint, CdcStopPosition)
        "RecoveryCheckpoint": replication.get("RecoveryCheckpoint"),
        "CdcStopPosition": replication.get("CdcStopPosition"),
    }


def classify_replication(
    replication: Mapping[str, Any], *, wait_for_cdc_stop: bool = False, started_after: datetime | None = None
) -> TaskOutcome:
    """Decide whether a started replication has finished, failed, or is still on its way.

    Provisioning statuses, ``running`` before the full load completes and ``stopping`` wait;
    ``stopped`` and ``failed`` and a running CDC replication are judged like a task
    (:func:`~airflow_neon_dms.dms.states.classify_task`: the StopReason table, tables in error).
    Fails closed: a Status or ProvisionState this module does not list is a failure naming it,
    and so is ``deleting``, or ``created`` (never started) unless ``started_after`` says a start
    was just sent. ``started_after`` as for a task: a stop left by a run that began earlier keeps
    the wait going.
    """
    name = replication_name(replication)
    status = str(replication.get("Status") or "").lower()
    state = provision_state(replication)
    if status not in KNOWN_REPLICATION_STATUSES or state not in KNOWN_PROVISION_STATES:
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication {name} is in Status {status or '(none)'!r} with ProvisionState "
            f"{state or '(none)'!r}, which this provider does not model, so the wait stops here. "
            "Check the replication in the DMS console (Serverless replications).",
        )
    if status in (ReplicationStatus.CREATED, ReplicationStatus.MODIFYING) and started_after is not None:
        # StartReplication was just sent; DescribeReplications may not show it yet.
        return TaskOutcome(Outcome.WAITING, f"Replication {name} is created; waiting for the start to show.")
    if status in (ReplicationStatus.CREATED, ReplicationStatus.MODIFYING, ReplicationStatus.DELETING):
        return TaskOutcome(
            Outcome.FAILED,
            f"Replication {name} is {status}: it is not running. Start it (NeonDmsStartReplicationOperator).",
        )
    if status in PROVISIONING_STATUSES:
        return TaskOutcome(
            Outcome.WAITING, f"Replication {name} is {status} (capacity {state or 'pending'})."
        )
    return classify_task(
        as_task_view(replication), wait_for_cdc_stop=wait_for_cdc_stop, started_after=started_after
    )


def replication_start_type(replication: Mapping[str, Any], requested: StartType | str) -> StartType:
    """The StartReplicationType to send for ``requested``, by the replication's history.

    botocore (StartReplicationMessage.StartReplicationType): the first run's only valid value is
    start-replication; resume-processing "isn't applicable for a full-load replication". So, as
    for a task (:func:`~airflow_neon_dms.dms.states.start_type_for`), a replication that ran
    before gets reload-target (full load) or resume-processing (with CDC) for start-replication.
    """
    if str(replication.get("Status") or "").lower() == ReplicationStatus.CREATED:
        return StartType.START_REPLICATION
    kind = start_type_for(as_task_view(replication), requested)
    if kind == StartType.RESUME_PROCESSING and replication.get("ReplicationType") == "full-load":
        return StartType.RELOAD_TARGET
    return kind


def startable_refusal(replication: Mapping[str, Any]) -> str | None:
    """Why StartReplication cannot be sent now (None: it can, or a run is already under way)."""
    name = replication_name(replication)
    status = str(replication.get("Status") or "").lower()
    state = provision_state(replication)
    if status not in KNOWN_REPLICATION_STATUSES or state not in KNOWN_PROVISION_STATES:
        return (
            f"Replication {name} is in Status {status or '(none)'!r} with ProvisionState "
            f"{state or '(none)'!r}, which this provider does not model; it was not started. "
            "Check it in the DMS console."
        )
    if status == ReplicationStatus.DELETING:
        return f"Replication {name} is being deleted and cannot be started. Create the config again."
    if state == "deprovisioning":
        return (
            f"Replication {name} is releasing its capacity (deprovisioning); DMS refuses a start "
            "until it is deprovisioned. Retry this task once it is."
        )
    return None


def reload_refusal(replication: Mapping[str, Any]) -> str | None:
    """Why ReloadReplicationTables would be refused: DMS reloads tables only of a running replication."""
    status = str(replication.get("Status") or "").lower()
    if status == ReplicationStatus.RUNNING:
        return None
    return (
        f"Replication {replication_name(replication)} is {status or 'unknown'}, and "
        "ReloadReplicationTables needs a running replication. Start it first "
        "(NeonDmsStartReplicationOperator with start_type='reload-target' reloads every table), "
        "then reload the tables."
    )


def temporary_reload_refusal(replication: Mapping[str, Any]) -> str | None:
    """Why a replication that is not running cannot have tables reloaded through a temporary
    config either (None: it is stopped or failed, so it can)."""
    status = str(replication.get("Status") or "").lower()
    name = replication_name(replication)
    if status in (ReplicationStatus.STOPPED, ReplicationStatus.FAILED):
        return None
    if status == ReplicationStatus.CREATED:
        return (
            f"Replication {name} never ran, so it has no tables to reload. Start it "
            "(NeonDmsStartReplicationOperator); it loads every table."
        )
    if status in REPLICATION_ACTIVE:
        return (
            f"Replication {name} is {status}: ReloadReplicationTables needs it running, and a "
            "temporary config must not load beside it. Retry this task once it runs (or has stopped)."
        )
    return reload_refusal(replication)


def compute_config(max_capacity_units: Any, min_capacity_units: Any = None) -> dict[str, int]:
    """The ComputeConfig for these capacities; raise ValueError naming the fix when AWS would refuse."""
    allowed = ", ".join(str(v) for v in ALLOWED_CAPACITY_UNITS)
    values: dict[str, int] = {}
    for key, value in (("MaxCapacityUnits", max_capacity_units), ("MinCapacityUnits", min_capacity_units)):
        if value is None or value == "":
            continue
        try:
            number = int(str(value))
        except ValueError:
            number = -1
        if number not in ALLOWED_CAPACITY_UNITS:
            raise ValueError(
                f"{key} {value!r} is not a capacity (DCU) value DMS Serverless accepts; use one of {allowed}."
            )
        values[key] = number
    if "MaxCapacityUnits" not in values:
        raise ValueError(f"MaxCapacityUnits is required for DMS Serverless; use one of {allowed}.")
    if values.get("MinCapacityUnits", 0) > values["MaxCapacityUnits"]:
        raise ValueError(
            f"MinCapacityUnits {values['MinCapacityUnits']} is above MaxCapacityUnits "
            f"{values['MaxCapacityUnits']}; lower the minimum or raise the maximum."
        )
    return values


def compute_choice(compute: str | None, replication_instance_arn: str | None) -> str:
    """``instance`` or ``serverless`` for a run; raise ValueError on a contradiction.

    Serverless has no replication instance (DMS sizes the capacity), so an instance given with
    ``compute='serverless'`` means two different runs were asked for.
    """
    value = (compute or COMPUTE_INSTANCE).strip().lower()
    if value not in (COMPUTE_INSTANCE, COMPUTE_SERVERLESS):
        raise ValueError(f"compute {compute!r} is not one of {COMPUTE_INSTANCE}, {COMPUTE_SERVERLESS}.")
    if value == COMPUTE_SERVERLESS and (replication_instance_arn or "").strip():
        raise ValueError(
            "compute='serverless' was given together with a replication_instance_arn; DMS Serverless "
            "runs without a replication instance. Clear replication_instance_arn, or set "
            "compute='instance' to run on that instance."
        )
    return value

"""Rules of a DMS connection test: which result is fresh, and why TestConnection was refused.

Pure, no Airflow import. DescribeConnections keeps the last result of a pair (instance, endpoint)
and has no timestamp (botocore: Connection has Status, LastFailureMessage and the ids only), so a
result counts only once the pair has been seen ``testing`` after this run's TestConnection call.
TestConnection answers InvalidResourceStateFault both when a test of the pair is already running
and when the replication instance is not ``available``; the two are told apart by reading both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_neon_dms.dms.states import ConnectionStatus, Outcome, classify_connection

log = logging.getLogger(__name__)


class InstanceStatus(str, Enum):
    """ReplicationInstance.ReplicationInstanceStatus values (botocore DMS model 2016-01-01)."""

    AVAILABLE = "available"
    CREATING = "creating"
    DELETED = "deleted"
    DELETING = "deleting"
    FAILED = "failed"
    MODIFYING = "modifying"
    UPGRADING = "upgrading"
    REBOOTING = "rebooting"
    RESETTING_MASTER_CREDENTIALS = "resetting-master-credentials"
    STORAGE_FULL = "storage-full"
    INCOMPATIBLE_CREDENTIALS = "incompatible-credentials"
    INCOMPATIBLE_NETWORK = "incompatible-network"
    MAINTENANCE = "maintenance"


#: An instance in one of these states becomes ``available`` again by itself.
INSTANCE_TRANSITIONAL: frozenset[str] = frozenset(
    {
        InstanceStatus.CREATING,
        InstanceStatus.MODIFYING,
        InstanceStatus.UPGRADING,
        InstanceStatus.REBOOTING,
        InstanceStatus.RESETTING_MASTER_CREDENTIALS,
        InstanceStatus.MAINTENANCE,
    }
)


class RefusalKind(str, Enum):
    """Why TestConnection answered InvalidResourceStateFault."""

    TEST_RUNNING = "test-running"
    INSTANCE_BUSY = "instance-busy"
    REFUSED = "refused"


@dataclass(frozen=True)
class Refusal:
    """What to do after a refused TestConnection: wait for the running test, for the instance, or fail."""

    kind: RefusalKind
    message: str


def explain_refusal(
    connection: Mapping[str, Any] | None,
    instance: Mapping[str, Any] | None,
    instance_arn: str,
    dms_message: str,
) -> Refusal:
    """Read the pair's connection record and the instance to say why TestConnection was refused."""
    status = str((instance or {}).get("ReplicationInstanceStatus") or "").lower()
    name = (instance or {}).get("ReplicationInstanceIdentifier") or instance_arn
    if str((connection or {}).get("Status") or "").lower() == ConnectionStatus.TESTING:
        return Refusal(RefusalKind.TEST_RUNNING, "A connection test of this pair is already running.")
    if instance is None:
        return Refusal(
            RefusalKind.REFUSED,
            f"Replication instance {instance_arn} does not exist. Pass the ARN of an existing instance.",
        )
    if status in INSTANCE_TRANSITIONAL:
        return Refusal(RefusalKind.INSTANCE_BUSY, f"Replication instance {name} is {status}, not available.")
    if status != InstanceStatus.AVAILABLE:
        return Refusal(
            RefusalKind.REFUSED,
            f"Replication instance {name} is {status or 'in an unknown state'}, so it cannot test "
            f"connections: {dms_message}. Fix the instance in the DMS console (Replication instances).",
        )
    return Refusal(RefusalKind.REFUSED, f"DMS refused the connection test: {dms_message}")


class FreshResult:
    """Judges DescribeConnections reads after this run's TestConnection call.

    A result read before the pair has been seen ``testing`` is the record of an earlier test and
    keeps the wait going; ``testing`` first, then a result, is this run's answer.
    """

    def __init__(self, *, testing_seen: bool) -> None:
        self.testing_seen = testing_seen

    def judge(self, connection: Mapping[str, Any] | None) -> Outcome:
        status = str((connection or {}).get("Status") or "").lower()
        if status == ConnectionStatus.TESTING:
            self.testing_seen = True
            return Outcome.WAITING
        if not self.testing_seen:
            if status:
                log.info("Connection record shows %r from an earlier test; waiting for this test", status)
            return Outcome.WAITING
        return classify_connection(connection)

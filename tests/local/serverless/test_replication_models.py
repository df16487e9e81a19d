"""The pure rules of the serverless model: provisioning statuses in AWS's order, provision states,
ComputeConfig checks."""

from __future__ import annotations

import pytest

from airflow_neon_dms.local.faults import InvalidParameterValueException
from airflow_neon_dms.local.replication_models import (
    PROVISIONING_STATUSES,
    checked_compute_config,
    provision_state,
    provisioning_status,
)
from airflow_neon_dms.local.state_timing import StateTiming


def test_provisioning_statuses_follow_aws_order_then_replication_starting() -> None:
    seen = [provisioning_status(0.0, 60.0, float(second)) for second in range(0, 61)]
    order = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
    assert order == list(PROVISIONING_STATUSES)
    assert provisioning_status(0.0, None, 5.0) == "replication_starting"


def test_provision_state_keeps_capacity_then_deprovisions() -> None:
    timing = StateTiming(serverless_deprovision_after_seconds=10, serverless_deprovisioning_seconds=5)

    def state(now: float, stopped_at: float | None = 100.0) -> str:
        return provision_state(provisioning_until=50.0, stopped_at=stopped_at, timing=timing, now=now)

    assert state(40.0, None) == "provisioning"
    assert state(60.0, None) == "provisioned"
    assert [state(105.0), state(112.0), state(116.0)] == ["provisioned", "deprovisioning", "deprovisioned"]


def test_compute_config_merges_and_keeps_only_botocore_members() -> None:
    merged = checked_compute_config({"MinCapacityUnits": 2, "Unknown": 1}, {"MaxCapacityUnits": 16})
    assert merged == {"MaxCapacityUnits": 16, "MinCapacityUnits": 2}
    with pytest.raises(InvalidParameterValueException, match="MaxCapacityUnits True"):
        checked_compute_config({"MaxCapacityUnits": True})

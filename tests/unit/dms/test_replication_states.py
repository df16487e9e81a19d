"""The DMS Serverless rules: replication verdicts (fail closed), start types, capacity and compute."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore
import pytest

from airflow_neon_dms.dms.replication_states import (
    ALLOWED_CAPACITY_UNITS,
    PROVISIONING_STATUSES,
    classify_replication,
    compute_choice,
    compute_config,
    is_replication_config_arn,
    reload_refusal,
    replication_start_type,
    startable_refusal,
)
from airflow_neon_dms.dms.states import Outcome, StartType

ARN = "arn:aws:dms:us-east-1:123456789012:replication-config:ABC"


def _replication(status: str, state: str = "provisioned", **extra: Any) -> dict[str, Any]:
    return {
        "ReplicationConfigIdentifier": "cfg",
        "ReplicationConfigArn": ARN,
        "ReplicationType": extra.pop("ReplicationType", "full-load"),
        "Status": status,
        "ProvisionData": {"ProvisionState": state},
        **extra,
    }


def test_provisioning_waits_and_a_full_load_stop_succeeds() -> None:
    for status in PROVISIONING_STATUSES:
        assert classify_replication(_replication(status, "provisioning")).outcome == Outcome.WAITING
    done = _replication(
        "stopped",
        StopReason="Stop Reason FULL_LOAD_ONLY_FINISHED",
        ReplicationStats={"FullLoadProgressPercent": 100, "TablesErrored": 0},
    )
    assert classify_replication(done).outcome == Outcome.SUCCESS


def test_errors_and_unmodelled_states_fail_closed() -> None:
    fatal = _replication("stopped", StopReason="Stop Reason FATAL_ERROR")
    assert classify_replication(fatal).outcome == Outcome.FAILED
    failed = _replication("failed", FailureMessages=["could not connect"])
    verdict = classify_replication(failed)
    assert verdict.outcome == Outcome.FAILED and "could not connect" in verdict.message
    for replication in (
        _replication("hibernating"),
        _replication("running", "paused"),
        _replication("created", ""),
    ):
        assert classify_replication(replication).outcome == Outcome.FAILED
    assert "does not model" in classify_replication(_replication("hibernating")).message
    assert startable_refusal(_replication("hibernating")) is not None


def test_cdc_replication_succeeds_once_running_with_its_full_load_done() -> None:
    loading = _replication(
        "running", ReplicationType="full-load-and-cdc", ReplicationStats={"FullLoadProgressPercent": 40}
    )
    loaded = _replication(
        "running", ReplicationType="full-load-and-cdc", ReplicationStats={"FullLoadProgressPercent": 100}
    )
    assert classify_replication(loading).outcome == Outcome.WAITING
    assert classify_replication(loaded).outcome == Outcome.SUCCESS
    assert classify_replication(loaded, wait_for_cdc_stop=True).outcome == Outcome.WAITING


def test_a_stop_from_an_earlier_run_is_not_this_runs_verdict() -> None:
    old = _replication(
        "stopped",
        StopReason="Stop Reason FULL_LOAD_ONLY_FINISHED",
        ReplicationStats={
            "FullLoadProgressPercent": 100,
            "StartDate": datetime(2020, 1, 1, tzinfo=timezone.utc),
        },
    )
    since = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert classify_replication(old, started_after=since).outcome == Outcome.WAITING
    # Just started: a replication still shown as created is waited for; never started, it fails.
    assert classify_replication(_replication("created", ""), started_after=since).outcome == Outcome.WAITING
    assert classify_replication(_replication("created", "")).outcome == Outcome.FAILED


def test_start_type_follows_the_history() -> None:
    assert replication_start_type(_replication("created", ""), "reload-target") == StartType.START_REPLICATION
    ran_full = _replication(
        "stopped", ReplicationStats={"StartDate": datetime(2024, 1, 1, tzinfo=timezone.utc)}
    )
    assert replication_start_type(ran_full, "start-replication") == StartType.RELOAD_TARGET
    # botocore: resume-processing "isn't applicable for a full-load replication".
    assert replication_start_type(ran_full, "resume-processing") == StartType.RELOAD_TARGET
    ran_cdc = {**ran_full, "ReplicationType": "full-load-and-cdc"}
    assert replication_start_type(ran_cdc, "start-replication") == StartType.RESUME_PROCESSING
    assert replication_start_type(ran_cdc, "reload-target") == StartType.RELOAD_TARGET


def test_reload_needs_a_running_replication_and_names_the_fix() -> None:
    assert reload_refusal(_replication("running")) is None
    message = reload_refusal(_replication("stopped"))
    assert message is not None and "NeonDmsStartReplicationOperator" in message
    assert startable_refusal(_replication("stopped", "deprovisioning")) is not None


def test_capacity_values_are_botocores() -> None:
    model = Path(botocore.__file__).parent / "data" / "dms" / "2016-01-01" / "service-2.json.gz"
    doc = json.loads(gzip.open(model).read())["shapes"]["ComputeConfig"]["members"]["MaxCapacityUnits"]
    assert "1, 2, 4, 8, 16, 32, 64, 128, 192, 256, and 384" in doc["documentation"]
    assert ALLOWED_CAPACITY_UNITS == (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
    assert compute_config("16", 2) == {"MaxCapacityUnits": 16, "MinCapacityUnits": 2}
    assert compute_config(4, "") == {"MaxCapacityUnits": 4}
    for bad in ((3, None), (None, 2), ("lots", None), (2, 4), (768, None)):
        with pytest.raises(ValueError, match="MaxCapacityUnits|MinCapacityUnits"):
            compute_config(*bad)


def test_compute_choice() -> None:
    assert compute_choice(None, None) == "instance"
    assert compute_choice("instance", "arn:aws:dms:us-east-1:1:rep:X") == "instance"
    assert compute_choice("Serverless", "") == "serverless"
    with pytest.raises(ValueError, match="Clear replication_instance_arn"):
        compute_choice("serverless", "arn:aws:dms:us-east-1:1:rep:X")
    with pytest.raises(ValueError, match="not one of"):
        compute_choice("lambda", None)


def test_config_arns_are_told_from_task_arns() -> None:
    assert is_replication_config_arn(ARN)
    assert not is_replication_config_arn("arn:aws:dms:us-east-1:123456789012:task:ABC")
    assert not is_replication_config_arn("replication-config")


@pytest.mark.parametrize(
    "status, allowed, fix",
    [
        ("stopped", True, None),
        ("failed", True, None),
        ("created", False, "never ran"),
        ("running", False, "Retry this task once it runs"),
        ("provisioning_capacity", False, "Retry this task once it runs"),
        ("stopping", False, "Retry this task once it runs"),
        ("deleting", False, "ReloadReplicationTables needs a running replication"),
    ],
)
def test_temporary_reload_only_for_a_stopped_or_failed_replication(
    status: str, allowed: bool, fix: str | None
) -> None:
    from airflow_neon_dms.dms.replication_states import temporary_reload_refusal

    refusal = temporary_reload_refusal(_replication(status))
    assert (refusal is None) == allowed
    if fix:
        assert refusal is not None and fix in refusal


def test_a_modifying_replication_is_not_running_and_waits_only_right_after_a_start() -> None:
    modifying = _replication("modifying", state="")
    assert classify_replication(modifying).outcome == Outcome.FAILED
    just_started = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert classify_replication(modifying, started_after=just_started).outcome == Outcome.WAITING
    assert startable_refusal(modifying) is None  # the start waits it out (NeonDmsHook)

"""The example DAG with ``compute=serverless``, under ``airflow dags test`` against the DMS
emulator and real databases: a replication config and its replication instead of a task."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_neon_dms.local.sample_data import MIGRATED_TABLES, SampleSize
from airflow_neon_dms.local.stack import DagRunResult, LocalStack, StackOptions
from airflow_neon_dms.local.state_timing import AWS_LIKE

pytestmark = pytest.mark.e2e

SMALL = SampleSize(customers=300, products=60, orders=600, page_views=200, audit_log=20)
SERVERLESS = {"compute": "serverless", "replication_instance_arn": None, "max_capacity_units": 4}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A clean source (no corrupted load) and AWS-like state timing, provisioning included."""
    options = StackOptions(
        server_dsn=os.environ.get("NEON_DMS_TEST_PG_DSN"), sample_size=SMALL, timing=AWS_LIKE, corrupt=None
    )
    with LocalStack(options) as running:
        airflow = str(Path(sys.executable).with_name("airflow"))
        for command in (["db", "migrate"], ["dags", "reserialize"]):
            subprocess.run([airflow, *command], env=running.airflow_env(), check=True, capture_output=True)
        yield running


@pytest.fixture(scope="module")
def migrated(stack: LocalStack) -> DagRunResult:
    return stack.run_dag(conf=SERVERLESS)


def test_serverless_run_migrates_every_table_without_a_task(
    stack: LocalStack, migrated: DagRunResult
) -> None:
    assert migrated.succeeded, migrated.log[-4000:]
    assert stack.fingerprints(stack.source_dsn) == stack.fingerprints(stack.neon_admin_dsn)
    states = migrated.task_states
    assert states["serverless.create_replication_config"] == "success"
    assert states["serverless.run_replication"] == "success"
    for instance_step in ("test_source_connection", "test_neon_connection", "create_replication_task"):
        assert states[instance_step] == "skipped"
    run = migrated.xcom("serverless.run_replication")
    assert run["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert stack.dms_client().describe_replication_tasks()["ReplicationTasks"] == []
    validation = migrated.xcom("check_validation")
    assert validation["replication_task_arn"] == run["replication_config_arn"]
    assert {t["table"] for t in validation["tables"]} == set(MIGRATED_TABLES)
    assert migrated.xcom("report")["verified"] is True


def test_the_premigration_assessment_runs_with_start_replication_and_is_reported(
    stack: LocalStack, migrated: DagRunResult
) -> None:
    assert migrated.task_states["premigration_assessment"] == "skipped"  # the task's run is not used
    run = migrated.xcom("serverless.run_replication")
    assessment = run["premigration_assessment"]
    # page_views has text columns and no key: DMS's assessment reports it (warn-only on the stack,
    # so DMS started the replication anyway: FailOnAssessmentFailure false)
    assert assessment["status"] == "failed"
    assert assessment["failed"] == ["table-with-lob-but-without-primary-key-or-unique-constraint"]
    assert assessment["assessments"]["unsupported-data-types-in-source"] == "passed"
    assert migrated.xcom("report")["premigration_assessment"] == assessment
    assert "Premigration assessment: failed, failed: table-with-lob" in migrated.log
    [replication] = stack.dms_client().describe_replications(
        Filters=[{"Name": "replication-config-id", "Values": ["neon-dms-migration"]}]
    )["Replications"]
    [status] = replication["PremigrationAssessmentStatuses"]
    assert status["FailOnAssessmentFailure"] is False
    bucket, _, prefix = assessment["result_location"].removeprefix("s3://").partition("/")
    assert bucket == status["ResultLocationBucket"] and prefix.startswith("premigration-assessments/")
    keys = {
        o["Key"] for o in stack.aws_client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    }
    assert f"{prefix}summary.json" in keys


def test_a_failed_assessment_stops_the_run_before_any_row_moves(
    stack: LocalStack, migrated: DagRunResult
) -> None:
    blocked = stack.run_dag(
        conf={**SERVERLESS, "task_identifier": "assessed-run"},
        env_overrides={"NEON_DMS_ASSESSMENT_FAIL_ON_FAILED": "true"},
    )
    assert not blocked.succeeded
    assert blocked.task_states["serverless.run_replication"] == "failed"
    assert "individual assessment(s) failed" in blocked.log, blocked.log[-8000:]
    # the per-assessment table, failed assessments first
    assert "table-with-lob-but-without-primary-key-or-unique-constraint  failed" in blocked.log
    replications = {
        r["ReplicationConfigIdentifier"]: r
        for r in stack.dms_client().describe_replications()["Replications"]
    }
    blocked_run = replications["assessed-run"]
    assert blocked_run["Status"] == "failed"
    assert blocked_run["ReplicationStats"].get("TablesLoaded", 0) == 0


def test_serverless_with_an_instance_is_refused_before_any_config(
    stack: LocalStack, migrated: DagRunResult
) -> None:
    refused = stack.run_dag(
        conf={**SERVERLESS, "task_identifier": "refused-run", "replication_instance_arn": "x"}
    )
    assert not refused.succeeded
    assert "Clear replication_instance_arn" in refused.log
    configs = stack.dms_client().describe_replication_configs()["ReplicationConfigs"]
    assert "refused-run" not in [c["ReplicationConfigIdentifier"] for c in configs]

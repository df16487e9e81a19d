"""NeonDmsPremigrationAssessmentOperator against the local DMS: real databases, results in S3."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import psycopg
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, PremigrationAssessmentError
from airflow_neon_dms.operators.assessment import NeonDmsPremigrationAssessmentOperator
from airflow_neon_dms.triggers.assessment import NeonDmsAssessmentRunTrigger
from tests.unit.conftest import unique

ROLE = "arn:aws:iam::123456789012:role/dms-assessment"
LOB_WITHOUT_KEY = "table-with-lob-but-without-primary-key-or-unique-constraint"


@pytest.fixture
def bucket(dms_server: Any) -> str:
    name = unique("results")
    boto3.client(
        "s3", endpoint_url=dms_server.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)  # fmt: skip
    return name


def _task(dms: Any, endpoint_pair: Any, replication_instance_arn: str) -> str:
    arn = dms.create_replication_task(
        ReplicationTaskIdentifier=unique("task"),
        SourceEndpointArn=endpoint_pair.source_arn,
        TargetEndpointArn=endpoint_pair.target_arn,
        ReplicationInstanceArn=replication_instance_arn,
        MigrationType="full-load",
        TableMappings=json.dumps(
            {
                "rules": [
                    {
                        "rule-type": "selection",
                        "rule-id": "1",
                        "rule-name": "p",
                        "object-locator": {"schema-name": "public", "table-name": "%"},
                        "rule-action": "include",
                    }
                ]
            }
        ),  # fmt: skip
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.get_waiter("replication_task_ready").wait(
        Filters=[{"Name": "replication-task-arn", "Values": [arn]}],
        WaiterConfig={"Delay": 1, "MaxAttempts": 60},
    )
    return str(arn)


@pytest.fixture
def clean_task(dms: Any, endpoint_pair: Any, replication_instance_arn: str) -> str:
    return _task(dms, endpoint_pair, replication_instance_arn)


@pytest.fixture
def task_with_keyless_lob_table(
    dms: Any, endpoint_pair: Any, replication_instance_arn: str, pg_server: Any
) -> str:
    with psycopg.connect(pg_server.dsn(endpoint_pair.source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id int, body text)")
    return _task(dms, endpoint_pair, replication_instance_arn)


def _op(task_arn: str, bucket: str | None, **kwargs: Any) -> NeonDmsPremigrationAssessmentOperator:
    values: dict[str, Any] = {"service_access_role_arn": ROLE, "deferrable": False, **kwargs}
    return NeonDmsPremigrationAssessmentOperator(
        task_id="assess", replication_task_arn=task_arn, result_bucket=bucket, waiter_delay=0.2, max_wait=120,
        **values,
    )  # fmt: skip


def test_clean_schema_passes_and_returns_a_summary(
    aws_conn: str, clean_task: str, bucket: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    summary = _op(clean_task, bucket).execute(context_factory())
    assert summary["status"] == "passed"
    assert summary["failed"] == []
    assert summary["assessments"]["unsupported-data-types-in-source"] == "passed"
    assert summary["result_location"].startswith(f"s3://{bucket}/premigration-assessments/")
    json.dumps(summary)  # XCom-able


def test_failed_assessment_fails_the_task_with_a_table_in_the_log(
    aws_conn: str,
    task_with_keyless_lob_table: str,
    bucket: str,
    context_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(PremigrationAssessmentError, match=f"failed.*{LOB_WITHOUT_KEY}.*fail_on_failed=False"):
        _op(task_with_keyless_lob_table, bucket).execute(context_factory())
    logged = capsys.readouterr().out
    table_lines = [line for line in logged.splitlines() if line.startswith(LOB_WITHOUT_KEY)]
    assert table_lines, logged
    # the row carries the status and, read from the S3 result file, the object count and detail
    assert "failed" in table_lines[0] and "1" in table_lines[0] and "LOB columns" in table_lines[0]


def test_warn_only_passes_with_the_failure_in_the_summary(
    aws_conn: str,
    task_with_keyless_lob_table: str,
    bucket: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    summary = _op(task_with_keyless_lob_table, bucket, fail_on_failed=False).execute(context_factory())
    assert summary["status"] == "failed"
    assert summary["failed"] == [LOB_WITHOUT_KEY]


def test_missing_role_or_bucket_is_refused_before_dms_is_called(
    aws_conn: str, clean_task: str, dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(NeonConfigError, match="service_access_role_arn.*assessment_role_arn"):
        _op(clean_task, "bucket", service_access_role_arn="").execute(context_factory())
    with pytest.raises(NeonConfigError, match="result_bucket.*Create the bucket"):
        _op(clean_task, None).execute(context_factory())
    runs = dms.describe_replication_task_assessment_runs()["ReplicationTaskAssessmentRuns"]
    assert all(r["ReplicationTaskArn"] != clean_task for r in runs)


def test_bucket_that_does_not_exist_names_the_fix(
    aws_conn: str, clean_task: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(
        PremigrationAssessmentError, match="S3ResourceNotFoundFault.*Create the results bucket"
    ):
        _op(clean_task, unique("missing")).execute(context_factory())


def test_retry_in_the_same_try_reuses_the_run(
    aws_conn: str, clean_task: str, bucket: str, dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    first = _op(clean_task, bucket, assessment_run_name="fixed-name").execute(context_factory())
    second = _op(clean_task, bucket, assessment_run_name="fixed-name").execute(context_factory())
    assert first["assessment_run_arn"] == second["assessment_run_arn"]


def test_deferrable_defers_with_a_round_tripping_trigger(
    aws_conn: str, clean_task: str, bucket: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    op = _op(clean_task, bucket, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    trigger = deferred.value.trigger
    assert isinstance(trigger, NeonDmsAssessmentRunTrigger)
    assert deferred.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_neon_dms.triggers.assessment.NeonDmsAssessmentRunTrigger"
    assert NeonDmsAssessmentRunTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert kwargs["assessment_run_arn"].startswith("arn:aws:dms:us-east-1:")
    assert kwargs["waiter_delay"] == 0.2 and kwargs["deadline"] > 0


@pytest.mark.asyncio
async def test_trigger_reports_success_then_execute_complete_judges(
    aws_conn: str,
    task_with_keyless_lob_table: str,
    bucket: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    import time

    op = _op(task_with_keyless_lob_table, bucket, deferrable=True, fail_on_failed=False)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    trigger = deferred.value.trigger
    trigger.waiter_delay = 0.1
    events = [event async for event in trigger.run()]
    assert len(events) == 1 and events[0].payload["status"] == "success"
    assert time.time() < trigger.deadline
    summary = op.execute_complete(context_factory(), events[0].payload)
    assert summary["failed"] == [LOB_WITHOUT_KEY]


@pytest.mark.asyncio
async def test_trigger_fails_for_a_run_that_is_gone(aws_conn: str) -> None:
    trigger = NeonDmsAssessmentRunTrigger(
        assessment_run_arn="arn:aws:dms:us-east-1:123456789012:assessment-run:NOPE",
        deadline=2e9,
        waiter_delay=0.1,
    )
    events = [event async for event in trigger.run()]
    assert events[0].payload["status"] == "failed"
    assert "no longer exists" in events[0].payload["message"]


def test_events_that_are_not_success_raise(
    aws_conn: str, clean_task: str, bucket: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    op = _op(clean_task, bucket)
    arn = "arn:aws:dms:us-east-1:123456789012:assessment-run:X"
    with pytest.raises(DmsResourceError, match="invalid event"):
        op.execute_complete(context_factory(), None)
    with pytest.raises(PremigrationAssessmentError, match="did not finish: status error-executing"):
        op.execute_complete(
            context_factory(),
            {"status": "failed", "message": "status error-executing", "assessment_run_arn": arn},
        )
    with pytest.raises(PremigrationAssessmentError, match="Raise max_wait"):
        op.execute_complete(
            context_factory(), {"status": "timeout", "message": "running", "assessment_run_arn": arn}
        )

"""Premigration assessment runs of the local DMS: boto3 over HTTP, real databases, results in S3."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError

from airflow_neon_dms.local.assessment_checks import (
    LOB_WITHOUT_KEY,
    NO_KEY_FOR_CDC,
    UNSUPPORTED_TYPES,
)
from tests.local.support import Dms, unique

ROLE = "arn:aws:iam::123456789012:role/dms-assessment"


def s3_client(endpoint_url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def wait_finished(client: Any, run_arn: str) -> dict[str, Any]:
    for _ in range(600):
        run = client.describe_replication_task_assessment_runs(
            Filters=[{"Name": "replication-task-assessment-run-arn", "Values": [run_arn]}]
        )["ReplicationTaskAssessmentRuns"][0]
        if run["Status"] not in ("starting", "provisioning", "running"):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"assessment run {run_arn} did not finish")


@pytest.fixture
def bucket(local_dms: Any) -> str:
    name = unique("results")
    s3_client(local_dms.endpoint_url).create_bucket(Bucket=name)
    return name


def _problem_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TYPE money_pair AS (amount numeric, currency text)")
        conn.execute("CREATE TABLE keyed (id int PRIMARY KEY, note text)")
        conn.execute("CREATE TABLE no_key (id int, note text)")
        conn.execute("CREATE TABLE odd_type (id int PRIMARY KEY, price money_pair)")


def test_assessment_finds_a_table_without_a_key_and_an_unsupported_type(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str], bucket: str, local_dms: Any
) -> None:
    source_db, target_db = pg_pair
    _problem_schema(pg_server.dsn(source_db))
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        migration_type="full-load-and-cdc",
    )
    applicable = dms.client.describe_applicable_individual_assessments(ReplicationTaskArn=task)[
        "IndividualAssessmentNames"
    ]
    assert {UNSUPPORTED_TYPES, NO_KEY_FOR_CDC, LOB_WITHOUT_KEY} <= set(applicable)

    started = dms.client.start_replication_task_assessment_run(
        ReplicationTaskArn=task,
        ServiceAccessRoleArn=ROLE,
        ResultLocationBucket=bucket,
        ResultLocationFolder="premigration",
        AssessmentRunName=unique("run"),
    )["ReplicationTaskAssessmentRun"]
    run = wait_finished(dms.client, started["ReplicationTaskAssessmentRunArn"])
    assert run["Status"] == "failed"
    assert run["AssessmentProgress"]["IndividualAssessmentCount"] == len(applicable)
    assert run["AssessmentProgress"]["IndividualAssessmentCompletedCount"] == len(applicable)
    assert run["ResultStatistic"]["Failed"] >= 3

    individual = dms.client.describe_replication_task_individual_assessments(
        Filters=[
            {
                "Name": "replication-task-assessment-run-arn",
                "Values": [run["ReplicationTaskAssessmentRunArn"]],
            }
        ]
    )["ReplicationTaskIndividualAssessments"]
    statuses = {a["IndividualAssessmentName"]: a["Status"] for a in individual}
    assert statuses[UNSUPPORTED_TYPES] == "failed"
    assert statuses[NO_KEY_FOR_CDC] == "failed"
    assert statuses[LOB_WITHOUT_KEY] == "failed"

    s3 = s3_client(local_dms.endpoint_url)
    run_id = run["ReplicationTaskAssessmentRunArn"].rsplit(":", 1)[-1]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert f"premigration/{run_id}/summary.json" in keys
    for name in applicable:
        assert f"premigration/{run_id}/{name}/{name}-result.json" in keys

    def result(name: str) -> dict[str, Any]:
        body = s3.get_object(Bucket=bucket, Key=f"premigration/{run_id}/{name}/{name}-result.json")["Body"]
        return dict(json.loads(body.read()))

    assert [(o["TableName"], o["ColumnName"]) for o in result(UNSUPPORTED_TYPES)["Objects"]] == [
        ("odd_type", "price")
    ]
    assert [o["TableName"] for o in result(NO_KEY_FOR_CDC)["Objects"]] == ["no_key"]
    assert [o["TableName"] for o in result(LOB_WITHOUT_KEY)["Objects"]] == ["no_key"]


def test_full_load_task_gets_no_cdc_assessment_and_a_clean_schema_passes(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str], bucket: str
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE keyed (id int PRIMARY KEY, note text)")
    task = dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    applicable = dms.client.describe_applicable_individual_assessments(ReplicationTaskArn=task)[
        "IndividualAssessmentNames"
    ]
    assert NO_KEY_FOR_CDC not in applicable
    started = dms.client.start_replication_task_assessment_run(
        ReplicationTaskArn=task, ServiceAccessRoleArn=ROLE, ResultLocationBucket=bucket,
        AssessmentRunName=unique("run"), IncludeOnly=[UNSUPPORTED_TYPES, LOB_WITHOUT_KEY],
    )["ReplicationTaskAssessmentRun"]  # fmt: skip
    run = wait_finished(dms.client, started["ReplicationTaskAssessmentRunArn"])
    assert run["Status"] == "passed"
    assert run["ResultStatistic"]["Passed"] == 2


def test_mysql_source_table_without_key_is_found(
    dms: Dms, mysql_server: Any, mysql_database: str, pg_server: Any, pg_database: str, bucket: str
) -> None:
    conn = mysql_server.connect(mysql_database)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE logs (id int, body longtext)")
    finally:
        conn.close()
    credentials = {"Password": mysql_server.password} if mysql_server.password else {}
    source = dms.endpoint(
        "source", "mysql", ServerName=mysql_server.host, Port=mysql_server.port,
        Username=mysql_server.user, DatabaseName=mysql_database, **credentials,
    )  # fmt: skip
    mappings = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "db",
                           "object-locator": {"schema-name": mysql_database, "table-name": "%"},
                           "rule-action": "include"}]}  # fmt: skip
    task = dms.task(source, dms.pg_endpoint("target", pg_server, pg_database), mappings)
    started = dms.client.start_replication_task_assessment_run(
        ReplicationTaskArn=task, ServiceAccessRoleArn=ROLE, ResultLocationBucket=bucket,
        AssessmentRunName=unique("run"),
    )["ReplicationTaskAssessmentRun"]  # fmt: skip
    run = wait_finished(dms.client, started["ReplicationTaskAssessmentRunArn"])
    individual = dms.client.describe_replication_task_individual_assessments(
        Filters=[{"Name": "replication-task-arn", "Values": [task]}]
    )["ReplicationTaskIndividualAssessments"]
    assert {a["IndividualAssessmentName"]: a["Status"] for a in individual}[LOB_WITHOUT_KEY] == "failed"
    assert run["Status"] == "failed"


@pytest.fixture
def simple_task(dms: Dms, pg_server: Any, pg_pair: tuple[str, str]) -> str:
    source_db, target_db = pg_pair
    return dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_bad_start_requests_get_aws_errors(dms: Dms, simple_task: str, bucket: str) -> None:
    def start(**kwargs: Any) -> Any:
        params = {
            "ReplicationTaskArn": simple_task,
            "ServiceAccessRoleArn": ROLE,
            "ResultLocationBucket": bucket,
            "AssessmentRunName": unique("run"),
            **kwargs,
        }
        return lambda: dms.client.start_replication_task_assessment_run(**params)

    code, message = _error(start(ResultLocationBucket="no-such-bucket-here"))
    assert code == "S3ResourceNotFoundFault" and "no-such-bucket-here" in message
    code, message = _error(start(ServiceAccessRoleArn="dms-role"))
    assert code == "InvalidParameterValueException" and "ServiceAccessRoleArn" in message
    code, _ = _error(start(IncludeOnly=[UNSUPPORTED_TYPES], Exclude=[LOB_WITHOUT_KEY]))
    assert code == "InvalidParameterCombinationException"
    code, message = _error(start(IncludeOnly=["no-such-assessment"]))
    assert code == "InvalidParameterValueException" and "no-such-assessment" in message
    with pytest.raises(ClientError) as info:
        dms.client.describe_replication_task_assessment_runs(
            Filters=[{"Name": "replication-task-arn", "Values": [simple_task]}]
        )
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundFault"  # nothing half-created


def test_running_task_cannot_be_assessed(dms: Dms, simple_task: str, bucket: str) -> None:
    dms.client.start_replication_task(
        ReplicationTaskArn=simple_task, StartReplicationTaskType="start-replication"
    )
    code, message = _error(
        lambda: dms.client.start_replication_task_assessment_run(
            ReplicationTaskArn=simple_task, ServiceAccessRoleArn=ROLE, ResultLocationBucket=bucket,
            AssessmentRunName=unique("run"),
        )
    )  # fmt: skip
    assert code == "InvalidResourceStateFault" and "ready, stopped or failed" in message


def test_delete_keeps_results_and_cancel_needs_a_running_run(
    dms: Dms, simple_task: str, bucket: str, local_dms: Any
) -> None:
    name = unique("run")
    arn = dms.client.start_replication_task_assessment_run(
        ReplicationTaskArn=simple_task,
        ServiceAccessRoleArn=ROLE,
        ResultLocationBucket=bucket,
        AssessmentRunName=name,
    )["ReplicationTaskAssessmentRun"]["ReplicationTaskAssessmentRunArn"]
    run = wait_finished(dms.client, arn)
    assert run["IsLatestTaskAssessmentRun"] is True
    code, _ = _error(
        lambda: dms.client.cancel_replication_task_assessment_run(ReplicationTaskAssessmentRunArn=arn)
    )
    assert code == "InvalidResourceStateFault"
    deleted = dms.client.delete_replication_task_assessment_run(ReplicationTaskAssessmentRunArn=arn)
    assert deleted["ReplicationTaskAssessmentRun"]["Status"] == "deleting"
    code, _ = _error(
        lambda: dms.client.delete_replication_task_assessment_run(ReplicationTaskAssessmentRunArn=arn)
    )
    assert code == "ResourceNotFoundFault"
    listed = s3_client(local_dms.endpoint_url).list_objects_v2(Bucket=bucket)
    assert any(o["Key"].endswith("summary.json") for o in listed["Contents"])


def test_s3_is_per_emulator_and_cleared_by_reset() -> None:
    import urllib.request

    from airflow_neon_dms.local.server import LocalDms

    with LocalDms(port=0) as first, LocalDms(port=0) as second:
        s3_client(first.endpoint_url).create_bucket(Bucket="shared-name")
        s3_client(second.endpoint_url).create_bucket(Bucket="shared-name")  # no clash across emulators
        s3_client(first.endpoint_url).put_object(Bucket="shared-name", Key="a/b.json", Body=b"{}")
        assert "Contents" not in s3_client(second.endpoint_url).list_objects_v2(Bucket="shared-name")
        request = urllib.request.Request(f"{first.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request).read()
        assert s3_client(first.endpoint_url).list_buckets()["Buckets"] == []
        assert [b["Name"] for b in s3_client(second.endpoint_url).list_buckets()["Buckets"]] == [
            "shared-name"
        ]


def test_unreachable_source_ends_the_run_in_error_executing(
    dms: Dms, pg_server: Any, pg_database: str, bucket: str
) -> None:
    from airflow_neon_dms.local.embedded import free_port

    source = dms.endpoint(
        "source", "postgres", ServerName="127.0.0.1", Port=free_port(), Username="u",
        Password="secret-pw", DatabaseName="db",
    )  # fmt: skip
    task = dms.task(source, dms.pg_endpoint("target", pg_server, pg_database))
    started = dms.client.start_replication_task_assessment_run(
        ReplicationTaskArn=task, ServiceAccessRoleArn=ROLE, ResultLocationBucket=bucket,
        AssessmentRunName=unique("run"),
    )["ReplicationTaskAssessmentRun"]  # fmt: skip
    run = wait_finished(dms.client, started["ReplicationTaskAssessmentRunArn"])
    assert run["Status"] == "error-executing"
    assert "source database could not be read" in run["LastFailureMessage"]
    assert "secret-pw" not in run["LastFailureMessage"]
    assert run["ResultStatistic"]["Error"] == run["AssessmentProgress"]["IndividualAssessmentCount"]

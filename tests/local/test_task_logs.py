"""Task logs: DescribeReplicationInstanceTaskLogs, and CloudWatch Logs at the emulator's address
when Logging.EnableLogging is on (group dms-tasks-<instance>, stream dms-task-<resource id>)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError

from airflow_neon_dms.local.task_logs import log_line, logging_enabled, start_line

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \[[A-Z_ ]{16}\][IWE]:  \S")


def _logs_client(local_dms: Any) -> Any:
    return boto3.client(
        "logs",
        endpoint_url=local_dms.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _loaded_task(
    dms: Any, pg_server: Any, pg_pair: tuple[str, str], settings: dict[str, Any]
) -> dict[str, Any]:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a SELECT generate_series(1, 3);"
            "CREATE TABLE b (id int PRIMARY KEY); INSERT INTO b SELECT generate_series(1, 5);"
        )
    source = dms.pg_endpoint("source", pg_server, source_db)
    target = dms.pg_endpoint("target", pg_server, target_db)
    return dms.run_full_load(dms.task(source, target, settings=settings))


def _instance_id(dms: Any) -> str:
    return str(
        dms.client.describe_replication_instances(
            Filters=[{"Name": "replication-instance-arn", "Values": [dms.instance_arn]}]
        )["ReplicationInstances"][0]["ReplicationInstanceIdentifier"]
    )


def test_task_log_in_cloudwatch_logs(
    dms: Any, local_dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    task = _loaded_task(dms, pg_server, pg_pair, {"Logging": {"EnableLogging": True}})
    assert task["Status"] == "stopped"
    group = f"dms-tasks-{_instance_id(dms)}"
    stream = f"dms-task-{task['ReplicationTaskArn'].rsplit(':', 1)[-1]}"
    logs = _logs_client(local_dms)

    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [
        group
    ]
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]] == [
        stream
    ]
    messages = [
        e["message"]
        for e in logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    ]
    assert all(LINE.match(m) for m in messages), messages
    task_id = task["ReplicationTaskIdentifier"]
    assert messages[0].endswith(
        f" [TASK_MANAGER    ]I:  Task '{task_id}' running full load only in fresh start mode"
    )
    finished = logs.filter_log_events(logGroupName=group, filterPattern="Load finished")["events"]
    assert sorted(e["message"].split("]I:  ", 1)[1] for e in finished) == [
        "Load finished for table 'public'.'a' (Id = 1). 3 rows received.",
        "Load finished for table 'public'.'b' (Id = 2). 5 rows received.",
    ]

    (listed,) = dms.client.describe_replication_instance_task_logs(ReplicationInstanceArn=dms.instance_arn)[
        "ReplicationInstanceTaskLogs"
    ]
    assert listed["ReplicationTaskArn"] == task["ReplicationTaskArn"]
    assert listed["ReplicationTaskName"] == task_id
    assert listed["ReplicationInstanceTaskLogSize"] == sum(len(m.encode()) + 1 for m in messages)


def test_without_enable_logging_nothing_goes_to_cloudwatch(
    dms: Any, local_dms: Any, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    _loaded_task(dms, pg_server, pg_pair, {"Logging": {"EnableLogging": False}})
    logs = _logs_client(local_dms)
    assert logs.describe_log_groups(logGroupNamePrefix=f"dms-tasks-{_instance_id(dms)}")["logGroups"] == []
    (listed,) = dms.client.describe_replication_instance_task_logs(ReplicationInstanceArn=dms.instance_arn)[
        "ReplicationInstanceTaskLogs"
    ]
    assert listed["ReplicationInstanceTaskLogSize"] > 0  # the instance keeps the log either way


def test_the_amazon_providers_logs_hook_reads_the_task_log(
    dms: Any, local_dms: Any, pg_server: Any, pg_pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook

    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": local_dms.endpoint_url, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL_LOGS", json.dumps(connection))
    task = _loaded_task(dms, pg_server, pg_pair, {"Logging": {"EnableLogging": True}})
    hook = AwsLogsHook(aws_conn_id="aws_local_logs", region_name="us-east-1")
    events = list(
        hook.get_log_events(
            f"dms-tasks-{_instance_id(dms)}", f"dms-task-{task['ReplicationTaskArn'].rsplit(':', 1)[-1]}"
        )
    )
    assert any("Load finished for table 'public'.'b'" in e["message"] for e in events)


def test_unknown_instance_and_other_logs_errors(dms_client: Any, local_dms: Any) -> None:
    with pytest.raises(ClientError) as err:
        dms_client.describe_replication_instance_task_logs(
            ReplicationInstanceArn="arn:aws:dms:us-east-1:123456789012:rep:NOPE"
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    with pytest.raises(ClientError) as err:
        _logs_client(local_dms).get_log_events(logGroupName="dms-tasks-nope", logStreamName="dms-task-nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_line_format_and_settings_switch() -> None:
    assert log_line(0, "TASK_MANAGER", "I", "x") == "1970-01-01T00:00:00 [TASK_MANAGER    ]I:  x"
    assert (
        start_line("t", "full-load-and-cdc", "resume-processing")
        == "Task 't' running full load and CDC in resume mode"
    )
    assert start_line("t", "cdc", "reload-target") == "Task 't' running CDC only in fresh start mode"
    assert logging_enabled('{"Logging": {"EnableLogging": true}}')
    assert not logging_enabled('{"Logging": {"EnableLogging": "yes"}}')
    assert not logging_enabled("{}")

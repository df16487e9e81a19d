"""DescribeEvents, DescribeEventCategories and event subscriptions, with AWS's categories and messages."""

from __future__ import annotations

import datetime
import re
import time
from typing import Any

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.local.support import unique


def _events(client: Any, **filters: Any) -> list[tuple[str, str, list[str]]]:
    answer = client.describe_events(**filters)["Events"]
    return [(e["SourceType"], e["Message"], e["EventCategories"]) for e in answer]


def test_task_and_instance_lifecycle_events(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
    task_arn = dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    task = dms.run_full_load(task_arn)
    assert task["Status"] == "stopped"
    dms.client.modify_replication_task(ReplicationTaskArn=task_arn, ReplicationTaskSettings="{}")
    dms.client.delete_replication_task(ReplicationTaskArn=task_arn)
    task_id = task["ReplicationTaskIdentifier"]

    assert _events(dms.client, SourceType="replication-task", SourceIdentifier=task_id) == [
        ("replication-task", "The replication task is created.", ["creation"]),
        ("replication-task", "The replication task has started.", ["state change"]),
        ("replication-task", "The replication task has stopped.", ["state change"]),
        ("replication-task", "The replication task is modified.", ["configuration change"]),
        ("replication-task", "The replication task is deleted.", ["deletion"]),
    ]
    assert _events(dms.client, SourceIdentifier=task_id, EventCategories=["failure"]) == []

    instance_id = dms.client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [dms.instance_arn]}]
    )["ReplicationInstances"][0]["ReplicationInstanceIdentifier"]
    dms.client.delete_replication_instance(ReplicationInstanceArn=dms.instance_arn)
    assert _events(dms.client, SourceType="replication-instance", SourceIdentifier=instance_id) == [
        ("replication-instance", "A replication instance is being created.", ["creation"]),
        ("replication-instance", "A replication instance is created.", ["creation"]),
        ("replication-instance", "The replication instance is being deleted.", ["deletion"]),
        ("replication-instance", "The replication instance is deleted.", ["deletion"]),
    ]
    # the only filter AWS documents: the instance, which also selects its tasks' events
    by_instance = _events(dms.client, Filters=[{"Name": "replication-instance-id", "Values": [instance_id]}])
    assert len(by_instance) == 9


def test_failed_task_raises_a_failure_event(dms: Any, local_dms: Any, pg_server: Any) -> None:
    missing = {"Username": pg_server.user, "DatabaseName": unique("no_such_db").replace("-", "_")}
    source = dms.endpoint(
        "source", ServerName=pg_server.host, Port=pg_server.port, Password="unused", **missing
    )
    target = dms.endpoint(
        "target", ServerName=pg_server.host, Port=pg_server.port, Password="unused", **missing
    )
    task_arn = dms.task(source, target, settings={"Logging": {"EnableLogging": True}})
    dms.client.start_replication_task(
        ReplicationTaskArn=task_arn, StartReplicationTaskType="start-replication"
    )
    for _ in range(300):
        if dms.describe_task(task_arn)["Status"] == "failed":
            break
        time.sleep(0.1)
    task_id = dms.describe_task(task_arn)["ReplicationTaskIdentifier"]
    assert dms.describe_task(task_arn)["Status"] == "failed"
    assert _events(dms.client, SourceIdentifier=task_id, EventCategories=["failure"]) == [
        ("replication-task", "The replication task has failed.", ["failure"])
    ]
    instance_id = dms.client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [dms.instance_arn]}]
    )["ReplicationInstances"][0]["ReplicationInstanceIdentifier"]
    logs = boto3.client(
        "logs", endpoint_url=local_dms.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    events = logs.get_log_events(
        logGroupName=f"dms-tasks-{instance_id}", logStreamName=f"dms-task-{task_arn.rsplit(':', 1)[-1]}"
    )["events"]
    start, fatal = (e["message"].split("]", 1)[1] for e in events)  # the fatal error follows the start line
    assert start == f"I:  Task '{task_id}' running full load only in fresh start mode"
    assert fatal.startswith("E:  Cannot connect to the source endpoint") and "unused" not in fatal


def test_event_time_window_and_bad_filters(dms: Any) -> None:
    instance_id = dms.client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [dms.instance_arn]}]
    )["ReplicationInstances"][0]["ReplicationInstanceIdentifier"]
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert _events(dms.client, SourceIdentifier=instance_id, StartTime=future) == []
    assert len(_events(dms.client, SourceIdentifier=instance_id, Duration=60)) == 2
    with pytest.raises(ClientError) as err:
        dms.client.describe_events(SourceType="replication-task", EventCategories=["low storage"])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "low storage" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        dms.client.describe_events(Filters=[{"Name": "replication-task-id", "Values": ["x"]}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_event_categories_per_source_type(dms_client: Any) -> None:
    groups = dms_client.describe_event_categories()["EventCategoryGroupList"]
    by_type = {g["SourceType"]: set(g["EventCategories"]) for g in groups}
    assert by_type["replication-task"] == {
        "creation",
        "deletion",
        "failure",
        "state change",
        "configuration change",
    }
    assert {"low storage", "failover", "maintenance"} <= by_type["replication-instance"]
    only = dms_client.describe_event_categories(SourceType="replication-task")["EventCategoryGroupList"]
    assert [g["SourceType"] for g in only] == ["replication-task"]


def test_event_subscription_lifecycle(dms_client: Any) -> None:
    name = unique("sub")
    topic = "arn:aws:sns:us-east-1:123456789012:dms-events"
    created = dms_client.create_event_subscription(
        SubscriptionName=name,
        SnsTopicArn=topic,
        SourceType="replication-task",
        EventCategories=["failure", "State Change"],
        SourceIds=["orders"],
        Tags=[{"Key": "team", "Value": "data"}],
    )["EventSubscription"]
    assert created["CustSubscriptionId"] == name
    assert created["EventCategoriesList"] == ["failure", "state change"]
    assert created["SourceIdsList"] == ["orders"] and created["Enabled"] is True
    assert created["Status"] == "creating"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", created["SubscriptionCreationTime"])
    with pytest.raises(ClientError) as err:
        dms_client.create_event_subscription(SubscriptionName=name, SnsTopicArn=topic)
    assert err.value.response["Error"]["Code"] == "ResourceAlreadyExistsFault"
    with pytest.raises(ClientError) as err:
        dms_client.modify_event_subscription(SubscriptionName=name, EventCategories=["low storage"])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"

    dms_client.modify_event_subscription(SubscriptionName=name, Enabled=False)
    (found,) = dms_client.describe_event_subscriptions(SubscriptionName=name)["EventSubscriptionsList"]
    assert found["Enabled"] is False and found["Status"] == "active"
    assert found["EventCategoriesList"] == ["failure", "state change"]  # the refused change left it as it was
    listed = dms_client.describe_event_subscriptions(
        Filters=[{"Name": "event-subscription-id", "Values": [name]}]
    )["EventSubscriptionsList"]
    assert [s["CustSubscriptionId"] for s in listed] == [name]

    assert (
        dms_client.delete_event_subscription(SubscriptionName=name)["EventSubscription"]["Status"]
        == "deleting"
    )
    with pytest.raises(ClientError) as err:
        dms_client.describe_event_subscriptions(SubscriptionName=name)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundFault"

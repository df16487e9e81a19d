"""Every answer of the emulator is checked against botocore's output shapes (see the dms_client fixture).

These tests prove the checker itself catches what it should, and that every operation the emulator
serves has been answered and checked at least once in one run of calls.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from airflow_neon_dms.local.api_shapes import ResponseShapeError, check_responses, response_errors
from airflow_neon_dms.local.service import OPERATIONS
from tests.local.support import INCLUDE_ALL_PUBLIC, refreshed_schemas, unique


def test_checker_reports_unknown_members_and_wrong_types() -> None:
    body = json.dumps({"Endpoints": [{"EndpointArn": 5, "Password": "x", "Status": "active"}]})
    errors = response_errors("DescribeEndpoints", 200, body)
    assert "$.Endpoints[0].Password: not a member of Endpoint" in errors
    assert "$.Endpoints[0].EndpointArn: expected a string, got int" in errors
    assert response_errors("DescribeEndpoints", 200, json.dumps({"Endpoints": []})) == []


def test_checker_reports_enum_nulls_and_error_codes() -> None:
    task = {"ReplicationTasks": [{"MigrationType": "everything", "Status": None}]}
    errors = response_errors("DescribeReplicationTasks", 200, json.dumps(task))
    assert any("'everything' is not one of" in e for e in errors)
    assert any("null is not a value AWS sends" in e for e in errors)
    assert response_errors("ReloadTables", 400, json.dumps({"__type": "BadThing", "message": "m"})) == [
        "ReloadTables: error code 'BadThing' is not one it can return"
    ]
    assert (
        response_errors(
            "ReloadTables", 400, json.dumps({"__type": "InvalidResourceStateFault", "message": "m"})
        )
        == []
    )


def test_checker_knows_enum_values_aws_sends_beyond_botocores_model() -> None:
    def events(source_type: str) -> str:
        return json.dumps({"Events": [{"SourceType": source_type, "Message": "m"}]})

    assert response_errors("DescribeEvents", 200, events("replication-task")) == []
    assert response_errors("DescribeEvents", 200, events("replication-instance")) == []
    assert any(
        "'replication-bogus' is not one of" in e
        for e in response_errors("DescribeEvents", 200, events("replication-bogus"))
    )


def test_every_operation_answers_in_botocore_shape(
    dms_client_factory: Any, local_dms: Any, logical_pg: Any, make_logical_database: Any
) -> None:
    seen: set[str] = set()
    client = check_responses(dms_client_factory(local_dms.endpoint_url), seen)
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier=unique("ri"), ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    client.describe_replication_instances()
    client.modify_replication_instance(
        ReplicationInstanceArn=instance, AllocatedStorage=60, VpcSecurityGroupIds=["sg-0123abcd"]
    )
    group = unique("subnets")
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    client.create_replication_subnet_group(
        ReplicationSubnetGroupIdentifier=group, ReplicationSubnetGroupDescription="d", SubnetIds=subnets
    )
    client.modify_replication_subnet_group(ReplicationSubnetGroupIdentifier=group, SubnetIds=subnets[::-1])
    client.describe_replication_subnet_groups()
    client.delete_replication_subnet_group(ReplicationSubnetGroupIdentifier=group)
    # the cdc task below replicates for real: a logical-decoding source with one table
    source_db = make_logical_database()
    with psycopg.connect(logical_pg.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE shaped (id int PRIMARY KEY)")
    database = {
        "EngineName": "postgres",
        "ServerName": logical_pg.host,
        "Port": logical_pg.port,
        "Username": logical_pg.user,
        "Password": "unused",
        "DatabaseName": source_db,
    }
    source = client.create_endpoint(EndpointIdentifier=unique("s"), EndpointType="source", **database)[
        "Endpoint"
    ]["EndpointArn"]
    target = client.create_endpoint(EndpointIdentifier=unique("t"), EndpointType="target", **database)[
        "Endpoint"
    ]["EndpointArn"]
    client.modify_endpoint(EndpointArn=target, SslMode="none")
    client.describe_endpoints()
    client.test_connection(ReplicationInstanceArn=instance, EndpointArn=source)
    client.describe_connections()
    task = client.create_replication_task(
        ReplicationTaskIdentifier=unique("task"),
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=instance,
        MigrationType="cdc",
        TableMappings=json.dumps(INCLUDE_ALL_PUBLIC),
    )["ReplicationTask"]["ReplicationTaskArn"]
    client.modify_replication_task(ReplicationTaskArn=task, ReplicationTaskSettings="{}")
    client.describe_replication_tasks()
    client.describe_table_statistics(ReplicationTaskArn=task)
    client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    with pytest.raises(ClientError):  # error answers are checked too
        client.reload_tables(
            ReplicationTaskArn=task + "X", TablesToReload=[{"SchemaName": "a", "TableName": "b"}]
        )
    client.get_waiter("replication_task_running").wait(
        Filters=[{"Name": "replication-task-arn", "Values": [task]}],
        WaiterConfig={"Delay": 1, "MaxAttempts": 30},
    )
    client.stop_replication_task(ReplicationTaskArn=task)
    client.get_waiter("replication_task_stopped").wait(
        Filters=[{"Name": "replication-task-arn", "Values": [task]}],
        WaiterConfig={"Delay": 1, "MaxAttempts": 30},
    )
    client.add_tags_to_resource(ResourceArn=task, Tags=[{"Key": "k", "Value": "v"}])
    client.list_tags_for_resource(ResourceArn=task)
    client.remove_tags_from_resource(ResourceArn=task, TagKeys=["k"])
    client.describe_replication_instance_task_logs(ReplicationInstanceArn=instance)
    _assessment_operations(client, local_dms.endpoint_url, task)
    client.delete_replication_task(ReplicationTaskArn=task)
    refreshed_schemas(client, source, instance)  # RefreshSchemas and DescribeRefreshSchemasStatus
    client.describe_schemas(EndpointArn=source)
    client.describe_endpoint_types()
    client.describe_events()
    client.describe_event_categories()
    subscription = unique("sub")
    client.create_event_subscription(SubscriptionName=subscription, SnsTopicArn="arn:aws:sns:us-east-1:1:t")
    client.modify_event_subscription(SubscriptionName=subscription, Enabled=False)
    client.describe_event_subscriptions()
    client.delete_event_subscription(SubscriptionName=subscription)
    _serverless_calls(client, source, target)
    client.delete_endpoint(EndpointArn=source)
    client.delete_replication_instance(ReplicationInstanceArn=instance)
    assert seen == OPERATIONS


def _serverless_calls(client: Any, source: str, target: str) -> None:
    """Every DMS Serverless operation, on a config whose mappings select no table (its full load
    fails at once, touching no data of the shared database)."""
    nothing = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "none",
                "object-locator": {"schema-name": "neon_dms_absent_schema", "table-name": "%"},
                "rule-action": "include",
            }
        ]
    }
    config = client.create_replication_config(
        ReplicationConfigIdentifier=unique("config"),
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ComputeConfig={"MinCapacityUnits": 1, "MaxCapacityUnits": 4},
        ReplicationType="full-load",
        TableMappings=json.dumps(nothing),
        ReplicationSettings=json.dumps({"Logging": {"EnableLogging": False}}),
        SupplementalSettings="{}",
        Tags=[{"Key": "k", "Value": "v"}],
    )["ReplicationConfig"]["ReplicationConfigArn"]
    client.modify_replication_config(ReplicationConfigArn=config, ComputeConfig={"MaxCapacityUnits": 8})
    client.describe_replication_configs()
    client.describe_replication_table_statistics(ReplicationConfigArn=config)
    client.start_replication(ReplicationConfigArn=config, StartReplicationType="start-replication")
    client.describe_replications()
    with pytest.raises(ClientError):  # not running: InvalidResourceStateFault, checked too
        client.reload_replication_tables(
            ReplicationConfigArn=config + "X", TablesToReload=[{"SchemaName": "a", "TableName": "b"}]
        )
    for _ in range(300):
        mine = [{"Name": "replication-config-arn", "Values": [config]}]
        status = client.describe_replications(Filters=mine)["Replications"][0]
        if status["Status"] in ("failed", "stopped"):
            break
        time.sleep(0.1)
    with pytest.raises(ClientError):  # no longer running
        client.stop_replication(ReplicationConfigArn=config)
    with contextlib.suppress(ClientError):  # refused while the capacity is still provisioned
        client.delete_replication_config(ReplicationConfigArn=config)


def _assessment_operations(client: Any, endpoint_url: str, task: str) -> None:
    from tests.local.test_assessments import ROLE, s3_client, wait_finished

    bucket = unique("results")
    s3_client(endpoint_url).create_bucket(Bucket=bucket)
    client.describe_applicable_individual_assessments(ReplicationTaskArn=task)
    run = client.start_replication_task_assessment_run(
        ReplicationTaskArn=task,
        ServiceAccessRoleArn=ROLE,
        ResultLocationBucket=bucket,
        AssessmentRunName="shapes",
    )["ReplicationTaskAssessmentRun"]["ReplicationTaskAssessmentRunArn"]
    try:  # cancelling a run that already finished answers InvalidResourceStateFault: checked too
        client.cancel_replication_task_assessment_run(ReplicationTaskAssessmentRunArn=run)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "InvalidResourceStateFault"
    wait_finished(client, run)
    client.describe_replication_task_individual_assessments()
    client.delete_replication_task_assessment_run(ReplicationTaskAssessmentRunArn=run)


def test_a_bad_answer_surfaces_as_an_error_from_the_call(dms_client_factory: Any, local_dms: Any) -> None:
    client = dms_client_factory(local_dms.endpoint_url)

    def corrupt(response_dict: dict[str, Any], **_: Any) -> None:
        response_dict["body"] = json.dumps({"Endpoints": [{"Password": "leak"}]}).encode()

    client.meta.events.register_first("before-parse.database-migration-service.DescribeEndpoints", corrupt)
    with pytest.raises(ResponseShapeError, match="Password: not a member"):
        client.describe_endpoints()

"""Endpoints, instances, tasks and tags through boto3: states, waiters and AWS-shaped errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.support import INCLUDE_ALL_PUBLIC, unique


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _message(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Message"])


def test_endpoint_is_active_and_never_shows_its_password(dms: Any) -> None:
    answer = dms.client.create_endpoint(
        EndpointIdentifier=unique("src"),
        EndpointType="source",
        EngineName="postgres",
        ServerName="db.example.internal",
        Port=5432,
        Username="app",
        Password="s3cret-value",
        DatabaseName="app",
        SslMode="require",
        PostgreSQLSettings={"HeartbeatEnable": True},
    )
    endpoint = answer["Endpoint"]
    assert endpoint["Status"] == "active"
    assert endpoint["SslMode"] == "require"
    assert endpoint["PostgreSQLSettings"] == {"HeartbeatEnable": True}
    described = dms.client.describe_endpoints(
        Filters=[{"Name": "endpoint-arn", "Values": [endpoint["EndpointArn"]]}]
    )
    for body in (answer, described):
        assert "s3cret-value" not in json.dumps(body, default=str)
        assert "Password" not in json.dumps(body, default=str)


def test_duplicate_endpoint_identifier_is_refused(dms: Any) -> None:
    name = unique("dup")
    fields = {"ServerName": "db.example.invalid", "Port": 5432, "Username": "dms"}
    dms.client.create_endpoint(
        EndpointIdentifier=name, EndpointType="target", EngineName="postgres", **fields
    )
    with pytest.raises(ClientError) as err:
        dms.client.create_endpoint(
            EndpointIdentifier=name, EndpointType="target", EngineName="postgres", **fields
        )
    assert _code(err) == "ResourceAlreadyExistsFault"
    assert (
        len(dms.client.describe_endpoints(Filters=[{"Name": "endpoint-id", "Values": [name]}])["Endpoints"])
        == 1
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"EndpointIdentifier": "1starts-with-digit"}, "must begin with a letter"),
        ({"EndpointIdentifier": "two--hyphens"}, "consecutive hyphens"),
        ({"EndpointIdentifier": "ends-with-"}, "end with a"),
        ({"EngineName": "postgress"}, "Invalid EngineName 'postgress'"),
        ({"SslMode": "required"}, "Invalid SslMode 'required'"),
        ({"EndpointType": "both"}, "Invalid EndpointType"),
        ({"Password": "endpoint=ep-x;pw"}, "unsupported characters from following list : ;+%"),
        ({"Password": "a+b"}, "unsupported characters"),
    ],
)
def test_endpoint_input_is_validated(dms: Any, fields: dict[str, str], expected: str) -> None:
    params = {"EndpointIdentifier": unique("ep"), "EndpointType": "target", "EngineName": "postgres"}
    params.update(fields)
    with pytest.raises(ClientError) as err:
        dms.client.create_endpoint(**params)
    assert _code(err) == "InvalidParameterValueException"
    assert expected in _message(err)
    assert "pw" not in _message(err).replace("Password", "")


def test_mysql_endpoint_accepts_a_semicolon_password(dms: Any) -> None:
    arn = dms.endpoint("source", "mysql", Password="a;b")
    assert arn.startswith("arn:aws:dms:us-east-1:")


def test_modify_and_delete_endpoint(dms: Any) -> None:
    arn = dms.endpoint("target", ServerName="old.internal", Port=5432, Password="pw")
    modified = dms.client.modify_endpoint(
        EndpointArn=arn, ServerName="new.internal", Port=6543, SslMode="require"
    )
    assert modified["Endpoint"]["ServerName"] == "new.internal"
    assert modified["Endpoint"]["Port"] == 6543
    with pytest.raises(ClientError) as err:
        dms.client.modify_endpoint(EndpointArn=arn, SslMode="sometimes")
    assert _code(err) == "InvalidParameterValueException"
    kept = dms.client.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])["Endpoints"][0]
    assert kept["SslMode"] == "require"  # a refused change leaves the endpoint as it was
    taken = dms.endpoint("target")
    taken_id = dms.client.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [taken]}])[
        "Endpoints"
    ][0]["EndpointIdentifier"]
    with pytest.raises(ClientError) as err:
        dms.client.modify_endpoint(EndpointArn=arn, EndpointIdentifier=taken_id)
    assert _code(err) == "ResourceAlreadyExistsFault"
    new_id = unique("renamed")
    assert (
        dms.client.modify_endpoint(EndpointArn=arn, EndpointIdentifier=new_id)["Endpoint"][
            "EndpointIdentifier"
        ]
        == new_id
    )
    assert (
        dms.client.describe_endpoints(Filters=[{"Name": "endpoint-id", "Values": [new_id]}])["Endpoints"][0][
            "EndpointArn"
        ]
        == arn
    )
    assert dms.client.delete_endpoint(EndpointArn=arn)["Endpoint"]["Status"] == "deleting"
    dms.client.get_waiter("endpoint_deleted").wait(
        Filters=[{"Name": "endpoint-arn", "Values": [arn]}], WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    with pytest.raises(ClientError) as err:
        dms.client.delete_endpoint(EndpointArn=arn)
    assert _code(err) == "ResourceNotFoundFault"


def test_task_lifecycle_with_botocore_waiters(dms: Any, pg_server: Any, pg_pair: tuple[str, str]) -> None:
    import psycopg

    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)")
    source = dms.pg_endpoint("source", pg_server, source_db)
    target = dms.pg_endpoint("target", pg_server, target_db)
    created = dms.client.create_replication_task(
        ReplicationTaskIdentifier=unique("life"),
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=dms.instance_arn,
        MigrationType="full-load",
        TableMappings=json.dumps(INCLUDE_ALL_PUBLIC),
        Tags=[{"Key": "team", "Value": "data"}],
    )["ReplicationTask"]
    assert created["Status"] == "creating"
    task = created["ReplicationTaskArn"]
    dms.wait("replication_task_ready", task)
    for endpoint_arn in (source, target):
        found = dms.client.describe_replication_tasks(
            Filters=[{"Name": "endpoint-arn", "Values": [endpoint_arn]}]
        )
        assert [t["ReplicationTaskArn"] for t in found["ReplicationTasks"]] == [task]
    started = dms.client.start_replication_task(
        ReplicationTaskArn=task, StartReplicationTaskType="start-replication"
    )
    assert started["ReplicationTask"]["Status"] == "starting"
    dms.wait("replication_task_stopped", task)
    described = dms.describe_task(task)
    assert described["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    stats = described["ReplicationTaskStats"]
    assert stats["TablesLoaded"] == 1 and stats["FullLoadFinishDate"] >= stats["FullLoadStartDate"]
    without = dms.client.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task]}], WithoutSettings=True
    )["ReplicationTasks"][0]
    assert "TableMappings" not in without and "ReplicationTaskSettings" not in without
    # an endpoint in use cannot be deleted
    with pytest.raises(ClientError) as err:
        dms.client.delete_endpoint(EndpointArn=source)
    assert _code(err) == "InvalidResourceStateFault"
    # ReloadTables needs a running task
    with pytest.raises(ClientError) as err:
        dms.client.reload_tables(
            ReplicationTaskArn=task, TablesToReload=[{"SchemaName": "public", "TableName": "t"}]
        )
    assert _code(err) == "InvalidResourceStateFault"
    # reload-target runs the full load again
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="reload-target")
    dms.wait("replication_task_stopped", task)
    assert dms.table_stats(task)[("public", "t")]["FullLoadRows"] == 100
    # stop of a stopped task is refused
    with pytest.raises(ClientError) as err:
        dms.client.stop_replication_task(ReplicationTaskArn=task)
    assert _code(err) == "InvalidResourceStateFault"
    assert (
        dms.client.delete_replication_task(ReplicationTaskArn=task)["ReplicationTask"]["Status"] == "deleting"
    )
    dms.wait("replication_task_deleted", task)
    with pytest.raises(ClientError) as err:
        dms.client.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [task]}])
    assert _code(err) == "ResourceNotFoundFault"
    with pytest.raises(ClientError) as err:
        dms.client.describe_table_statistics(ReplicationTaskArn=task)
    assert _code(err) == "ResourceNotFoundFault"


@pytest.mark.parametrize(
    ("mappings", "expected"),
    [
        ("", "TableMappings"),
        ("{not json", "Invalid table mappings JSON"),
        ('{"rules": []}', "non-empty"),
        (
            '{"rules": [{"rule-type": "selectoin", "rule-id": "7", "object-locator": {},'
            ' "rule-action": "include"}]}',
            "ruleId = 7 failed validation. Unknown rule-type 'selectoin'",
        ),
        (
            '{"rules": [{"rule-type": "selection", "rule-id": "3", "object-locator": {"schema-name": "s"},'
            ' "rule-action": "includ"}]}',
            "ruleId = 3 failed validation. Unknown rule-action",
        ),
        (
            '{"rules": [{"rule-type": "selection", "rule-id": "4", "rule-action": "include"}]}',
            "ruleId = 4 failed validation. A selection rule needs an object-locator",
        ),
        (
            '{"rules": [{"rule-type": "selection", "rule-id": "1", "object-locator": {"schema-name": "s",'
            ' "table-name": "%"}, "rule-action": "exclude"}]}',
            "no selection rule with rule-action include",
        ),
    ],
)
def test_bad_table_mappings_are_refused(dms: Any, mappings: str, expected: str) -> None:
    source = dms.endpoint("source")
    target = dms.endpoint("target")
    with pytest.raises(ClientError) as err:
        dms.client.create_replication_task(
            ReplicationTaskIdentifier=unique("bad"),
            SourceEndpointArn=source,
            TargetEndpointArn=target,
            ReplicationInstanceArn=dms.instance_arn,
            MigrationType="full-load",
            TableMappings=mappings,
        )
    assert _code(err) == "InvalidParameterValueException"
    assert expected in _message(err)


def test_task_needs_existing_resources_and_valid_fields(dms: Any) -> None:
    source = dms.endpoint("source")
    target = dms.endpoint("target")
    base = {
        "ReplicationTaskIdentifier": unique("t"),
        "SourceEndpointArn": source,
        "TargetEndpointArn": target,
        "ReplicationInstanceArn": dms.instance_arn,
        "MigrationType": "full-load",
        "TableMappings": json.dumps(INCLUDE_ALL_PUBLIC),
    }
    cases = [
        ({"SourceEndpointArn": source + "X"}, "ResourceNotFoundFault"),
        ({"ReplicationInstanceArn": dms.instance_arn + "X"}, "ResourceNotFoundFault"),
        ({"SourceEndpointArn": target}, "InvalidParameterValueException"),
        ({"MigrationType": "everything"}, "InvalidParameterValueException"),
        ({"ReplicationTaskSettings": "{broken"}, "InvalidParameterValueException"),
        (
            {"ReplicationTaskSettings": '{"FullLoadSettings": {"TargetTablePrepMode": "WIPE"}}'},
            "InvalidParameterValueException",
        ),
    ]
    for change, code in cases:
        with pytest.raises(ClientError) as err:
            dms.client.create_replication_task(**{**base, **change})
        assert _code(err) == code, change
    arn = dms.client.create_replication_task(**base)["ReplicationTask"]["ReplicationTaskArn"]
    with pytest.raises(ClientError) as err:
        dms.client.create_replication_task(**base)
    assert _code(err) == "ResourceAlreadyExistsFault"
    with pytest.raises(ClientError) as err:
        dms.client.start_replication_task(
            ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing"
        )
    assert _code(err) == "InvalidParameterCombinationException"
    modified = dms.client.modify_replication_task(
        ReplicationTaskArn=arn, ReplicationTaskSettings='{"ValidationSettings": {"EnableValidation": true}}'
    )
    assert modified["ReplicationTask"]["Status"] == "modifying"
    assert "EnableValidation" in dms.describe_task(arn)["ReplicationTaskSettings"]
    with pytest.raises(ClientError) as err:
        dms.client.start_replication_task(
            ReplicationTaskArn=arn + "X", StartReplicationTaskType="start-replication"
        )
    assert _code(err) == "ResourceNotFoundFault"


def test_tags_and_unknown_arns(dms: Any) -> None:
    arn = dms.endpoint("target", Tags=[{"Key": "env", "Value": "dev"}])
    dms.client.add_tags_to_resource(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "me"}])
    dms.client.remove_tags_from_resource(ResourceArn=arn, TagKeys=["env"])
    tags = dms.client.list_tags_for_resource(ResourceArn=arn)["TagList"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("owner", "me")]
    with pytest.raises(ClientError) as err:
        dms.client.add_tags_to_resource(ResourceArn=arn + "X", Tags=[{"Key": "a", "Value": "b"}])
    assert _code(err) == "ResourceNotFoundFault"


def test_describe_paging_and_limits(dms: Any) -> None:
    for _ in range(3):
        dms.endpoint("target", "aurora-postgresql")
    with pytest.raises(ClientError) as err:
        dms.client.describe_endpoints(MaxRecords=5)
    assert _code(err) == "InvalidParameterValueException"
    everything = dms.client.describe_endpoints(
        Filters=[{"Name": "engine-name", "Values": ["aurora-postgresql"]}]
    )
    total = len(everything["Endpoints"])
    assert total >= 3
    by_type = dms.client.describe_endpoints(
        Filters=[
            {"Name": "engine-name", "Values": ["aurora-postgresql"]},
            {"Name": "endpoint-type", "Values": ["TARGET"]},
        ]
    )["Endpoints"]
    assert len(by_type) == total
    with pytest.raises(ClientError) as err:
        dms.client.describe_endpoints(Filters=[{"Name": "bogus", "Values": ["x"]}])
    assert _code(err) == "InvalidParameterValueException"


def test_operation_the_emulator_lacks_gets_an_aws_error(dms: Any) -> None:
    with pytest.raises(ClientError) as err:
        dms.client.describe_certificates()
    assert _code(err) == "UnknownOperationException"
    assert "DescribeCertificates" in _message(err)


def test_replication_instance_lifecycle(dms: Any) -> None:
    with pytest.raises(ClientError) as err:
        dms.client.create_replication_instance(
            ReplicationInstanceIdentifier="-bad", ReplicationInstanceClass="x"
        )
    assert _code(err) == "InvalidParameterValueException"
    arn = dms.client.create_replication_instance(
        ReplicationInstanceIdentifier=unique("gone"), ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    dms.client.delete_replication_instance(ReplicationInstanceArn=arn)
    dms.client.get_waiter("replication_instance_deleted").wait(
        Filters=[{"Name": "replication-instance-arn", "Values": [arn]}],
        WaiterConfig={"Delay": 1, "MaxAttempts": 5},
    )

"""NeonDmsHook against the local DMS emulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError
from airflow_neon_dms.hooks.dms import NeonDmsHook, batches, endpoint_differences

SOURCE = {
    "EndpointType": "source",
    "EngineName": "postgres",
    "ServerName": "127.0.0.1",
    "Port": 5432,
    "DatabaseName": "shop",
    "Username": "postgres",
    "Password": "pw",
    "SslMode": "none",
}


@pytest.fixture
def hook(aws_conn: str) -> NeonDmsHook:
    return NeonDmsHook(aws_conn_id=aws_conn)


def _endpoints(dms: Any, identifier: str) -> list[dict[str, Any]]:
    # Every page: the session's emulator holds more endpoints than one page (MaxRecords 100).
    pages = dms.get_paginator("describe_endpoints").paginate()
    return [e for page in pages for e in page["Endpoints"] if e["EndpointIdentifier"] == identifier]


def test_ensure_endpoint_creates_then_reuses(
    hook: NeonDmsHook, dms: Any, unique_id: Callable[[str], str]
) -> None:
    name = unique_id("src")
    arn, action = hook.ensure_endpoint(name, SOURCE, {"team": "data"})
    assert action == "created"
    again, action = hook.ensure_endpoint(name, SOURCE, {"team": "data"})
    assert (again, action) == (arn, "reused")
    assert len(_endpoints(dms, name)) == 1


def test_ensure_endpoint_refuses_a_type_change(hook: NeonDmsHook, unique_id: Callable[[str], str]) -> None:
    name = unique_id("src")
    hook.ensure_endpoint(name, SOURCE)
    with pytest.raises(DmsResourceError, match=f"Endpoint {name} exists as a source endpoint"):
        hook.ensure_endpoint(name, {**SOURCE, "EndpointType": "target"})


def test_ensure_endpoint_modifies_a_changed_endpoint(
    hook: NeonDmsHook, dms: Any, unique_id: Callable[[str], str]
) -> None:
    name = unique_id("src")
    arn, _ = hook.ensure_endpoint(name, SOURCE)
    again, action = hook.ensure_endpoint(name, {**SOURCE, "Port": 6543})
    assert (again, action) == (arn, "modified")
    assert _endpoints(dms, name)[0]["Port"] == 6543


def test_endpoint_differences_ignore_case_and_password() -> None:
    existing = {
        "EndpointType": "TARGET",
        "EngineName": "postgres",
        "ServerName": "H",
        "Port": 5432,
        "SslMode": "require",
    }
    wanted = {
        "EndpointType": "target",
        "EngineName": "postgres",
        "ServerName": "h",
        "Port": 5432,
        "Password": "x",
    }
    assert endpoint_differences(existing, wanted) == []
    assert endpoint_differences(existing, {**wanted, "SslMode": "none"}) == ["SslMode"]


def test_find_missing_endpoint_and_task(hook: NeonDmsHook) -> None:
    assert hook.find_endpoint("no-such-endpoint-xyz") is None
    assert hook.find_task("no-such-task-xyz") is None
    with pytest.raises(DmsResourceError, match="does not exist"):
        hook.describe_task("arn:aws:dms:us-east-1:123456789012:task:NOPE")


def _make_task(
    hook: NeonDmsHook, instance: str, name: str, unique_id: Callable[[str], str]
) -> tuple[str, dict[str, Any]]:
    src, _ = hook.ensure_endpoint(unique_id("src"), SOURCE)
    tgt, _ = hook.ensure_endpoint(unique_id("tgt"), {**SOURCE, "EndpointType": "target"})
    kwargs = {
        "source_endpoint_arn": src,
        "target_endpoint_arn": tgt,
        "replication_instance_arn": instance,
        "migration_type": "full-load",
        "table_mappings": TableMappings.include("public").to_json(),
        "task_settings": TaskSettings().to_json(),
    }
    arn, action = hook.ensure_task(name, **kwargs)
    assert action == "created"
    return arn, kwargs


def test_ensure_task_reuses_and_refuses_other_endpoints(
    hook: NeonDmsHook, dms: Any, replication_instance_arn: str, unique_id: Callable[[str], str]
) -> None:
    name = unique_id("task")
    arn, kwargs = _make_task(hook, replication_instance_arn, name, unique_id)
    assert hook.ensure_task(name, **kwargs) == (arn, "reused")
    tasks = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-id", "Values": [name]}])
    assert len(tasks["ReplicationTasks"]) == 1
    other, _ = hook.ensure_endpoint(unique_id("src"), SOURCE)
    with pytest.raises(DmsResourceError, match="different SourceEndpointArn"):
        hook.ensure_task(name, **{**kwargs, "source_endpoint_arn": other})


def test_start_task_does_not_start_a_running_task_twice(
    hook: NeonDmsHook,
    endpoint_pair: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    stop_tasks_after: list[str],
) -> None:
    arn, _ = hook.ensure_task(
        unique_id("task"),
        source_endpoint_arn=endpoint_pair.source_arn,
        target_endpoint_arn=endpoint_pair.target_arn,
        replication_instance_arn=replication_instance_arn,
        migration_type="full-load-and-cdc",
        table_mappings=TableMappings.include("public").to_json(),
        task_settings=TaskSettings().to_json(),
    )
    stop_tasks_after.append(arn)
    run_began = datetime.now(timezone.utc) - timedelta(seconds=5)
    started, _ = hook.start_task(
        arn, "start-replication", started_since=run_began, settle_timeout=30, settle_delay=0.2
    )
    assert started is True
    # A retry in the same DAG run: the task is running (or already ran since the run began).
    started_again, task = hook.start_task(
        arn, "start-replication", started_since=run_began, settle_timeout=30, settle_delay=0.2
    )
    assert started_again is False
    assert task["ReplicationTaskArn"] == arn


def test_batches() -> None:
    assert [len(b) for b in batches(list(range(35)), 10)] == [10, 10, 10, 5]
    assert batches([], 10) == []


def test_reload_option_is_checked(hook: NeonDmsHook) -> None:
    with pytest.raises(NeonConfigError, match="ReloadOption 'everything'"):
        hook.reload_tables("arn:aws:dms:us-east-1:1:task:X", [], "everything")


def test_settings_comparison_only_checks_keys_the_caller_set() -> None:
    from airflow_neon_dms.hooks.dms import _settings_contain

    full = json.dumps(
        {
            "FullLoadSettings": {"TargetTablePrepMode": "TRUNCATE_BEFORE_LOAD", "MaxFullLoadSubTasks": 8},
            "Logging": {
                "EnableLogging": True,
                "LogComponents": [
                    {"Id": "SOURCE_UNLOAD", "Severity": "LOGGER_SEVERITY_DEFAULT"},
                    {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_DEBUG"},
                ],
            },
            "ValidationSettings": {"EnableValidation": True, "ThreadCount": 5},
        }
    )
    assert _settings_contain(full, TaskSettings().to_json())
    assert not _settings_contain(full, TaskSettings(target_table_prep_mode="DO_NOTHING").to_json())


def test_a_changed_password_is_sent_again_and_only_then(
    hook: NeonDmsHook, dms: Any, unique_id: Callable[[str], str]
) -> None:
    from airflow_neon_dms.dms.password_fingerprint import TAG_KEY

    name = unique_id("src")
    arn, _ = hook.ensure_endpoint(name, SOURCE)
    assert hook.ensure_endpoint(name, SOURCE) == (arn, "reused")
    assert hook.ensure_endpoint(name, {**SOURCE, "Password": "rotated"}) == (arn, "modified")
    assert hook.ensure_endpoint(name, {**SOURCE, "Password": "rotated"}) == (arn, "reused")
    tags = {t["Key"]: t["Value"] for t in dms.list_tags_for_resource(ResourceArn=arn)["TagList"]}
    assert tags[TAG_KEY].startswith("scrypt:")
    assert "rotated" not in json.dumps(tags) and "pw" not in tags[TAG_KEY].split(":")


def test_an_endpoint_without_a_fingerprint_gets_the_password_once(
    hook: NeonDmsHook, dms: Any, unique_id: Callable[[str], str]
) -> None:
    name = unique_id("src")
    arn = dms.create_endpoint(EndpointIdentifier=name, **SOURCE)["Endpoint"]["EndpointArn"]
    assert hook.ensure_endpoint(name, SOURCE) == (arn, "modified")
    assert hook.ensure_endpoint(name, SOURCE) == (arn, "reused")


def test_replication_instance_by_arn_or_identifier(
    hook: NeonDmsHook, dms: Any, replication_instance_arn: str
) -> None:
    identifier = dms.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [replication_instance_arn]}]
    )["ReplicationInstances"][0]["ReplicationInstanceIdentifier"]
    assert hook.resolve_replication_instance_arn(identifier) == replication_instance_arn
    assert hook.resolve_replication_instance_arn(replication_instance_arn) == replication_instance_arn


@pytest.mark.parametrize(
    ("value", "message"), [("", "No replication instance given"), ("no-such-ri", "does not exist")]
)
def test_unknown_replication_instance(hook: NeonDmsHook, value: str, message: str) -> None:
    with pytest.raises(NeonConfigError, match=message):
        hook.resolve_replication_instance_arn(value)


def test_delete_task_waits_until_dms_no_longer_finds_it(hook: NeonDmsHook) -> None:
    """DeleteReplicationTask is asynchronous on AWS: the task shows ``deleting`` before it is gone
    (botocore's replication_task_deleted waiter succeeds only on ResourceNotFoundFault). The local
    DMS cannot be held in ``deleting`` here, so a botocore Stubber plays DMS's answers."""
    from botocore.stub import Stubber

    arn = "arn:aws:dms:us-east-1:000000000000:task:TEMP"

    def described(status: str) -> dict[str, Any]:
        return {
            "ReplicationTasks": [
                {"ReplicationTaskArn": arn, "ReplicationTaskIdentifier": "t", "Status": status}
            ]
        }

    with Stubber(hook.conn) as stub:
        stub.add_response("describe_replication_tasks", described("stopped"))
        stub.add_response(
            "delete_replication_task", {"ReplicationTask": described("deleting")["ReplicationTasks"][0]}
        )
        stub.add_response("describe_replication_tasks", described("deleting"))
        stub.add_response("describe_replication_tasks", described("deleting"))
        stub.add_client_error(
            "describe_replication_tasks", "ResourceNotFoundFault", "No replication tasks found"
        )
        hook.delete_task(arn, delay=0.01)
        stub.assert_no_pending_responses()

    with Stubber(hook.conn) as stub:
        stub.add_response("describe_replication_tasks", described("stopped"))
        stub.add_response(
            "delete_replication_task", {"ReplicationTask": described("deleting")["ReplicationTasks"][0]}
        )
        for _ in range(3):
            stub.add_response("describe_replication_tasks", described("deleting"))
        with pytest.raises(DmsResourceError, match="still deleting .* after DeleteReplicationTask"):
            hook.delete_task(arn, delay=0.01, delete_timeout=0)

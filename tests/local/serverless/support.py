"""Shortcuts of the DMS Serverless tests: create a replication config, describe and wait for it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.local.support import INCLUDE_ALL_PUBLIC, unique

#: Seconds a test waits for a replication state before it fails (a bound, never asserted).
PATIENCE = 120


def create_config(
    client: Any,
    source_arn: str,
    target_arn: str,
    *,
    replication_type: str = "full-load",
    mappings: dict[str, Any] = INCLUDE_ALL_PUBLIC,
    compute: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    answer = client.create_replication_config(
        ReplicationConfigIdentifier=unique("config"),
        SourceEndpointArn=source_arn,
        TargetEndpointArn=target_arn,
        ComputeConfig=compute or {"MaxCapacityUnits": 2},
        ReplicationType=replication_type,
        TableMappings=json.dumps(mappings),
        **extra,
    )
    return str(answer["ReplicationConfig"]["ReplicationConfigArn"])


def replication(client: Any, config_arn: str) -> dict[str, Any]:
    answer = client.describe_replications(
        Filters=[{"Name": "replication-config-arn", "Values": [config_arn]}]
    )
    assert len(answer["Replications"]) == 1
    return dict(answer["Replications"][0])


def wait_for(
    client: Any, config_arn: str, done: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Poll DescribeReplications until ``done(replication)``; returns that replication."""
    deadline = time.monotonic() + PATIENCE
    while True:
        current = replication(client, config_arn)
        if done(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"replication {config_arn} never {what}; last: {current}")
        time.sleep(0.2)


def provision_state(current: dict[str, Any]) -> str:
    return str(current.get("ProvisionData", {}).get("ProvisionState", ""))


def table_stats(client: Any, config_arn: str, **kwargs: Any) -> dict[tuple[str, str], dict[str, Any]]:
    stats = client.describe_replication_table_statistics(ReplicationConfigArn=config_arn, **kwargs)
    return {(s["SchemaName"], s["TableName"]): s for s in stats["ReplicationTableStatistics"]}

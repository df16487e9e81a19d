"""moto's ``POST /moto-api/reset``: harnesses built for moto's server clear all state with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import requests

from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from tests.local.logical_source import logical_pair, logical_server  # noqa: F401 (CDC tasks)
from tests.local.support import INCLUDE_ALL_PUBLIC, Dms, unique


@pytest.fixture
def own_dms() -> Iterator[LocalDms]:
    """An emulator of this test alone: a reset clears everything it holds."""
    with LocalDms(port=0, timing=INSTANT) as running:
        yield running


def _counts(dms: Dms) -> tuple[int, int, int]:
    return (
        len(dms.client.describe_endpoints()["Endpoints"]),
        len(dms.client.describe_replication_instances()["ReplicationInstances"]),
        len(dms.client.describe_replication_tasks()["ReplicationTasks"]),
    )


def test_post_reset_forgets_every_resource_and_stops_running_tasks(
    own_dms: LocalDms, make_dms: Callable[[str], Dms], pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    dms = make_dms(own_dms.endpoint_url)
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)")
    task = dms.client.create_replication_task(
        ReplicationTaskIdentifier=unique("reset"),
        SourceEndpointArn=dms.pg_endpoint("source", pg_server, source_db),
        TargetEndpointArn=dms.pg_endpoint("target", pg_server, target_db),
        ReplicationInstanceArn=dms.instance_arn,
        MigrationType="full-load-and-cdc",
        TableMappings=json.dumps(INCLUDE_ALL_PUBLIC),
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    dms.wait("replication_task_running", task)
    other_region = make_dms(own_dms.endpoint_url)  # same region; one more instance
    assert _counts(other_region) == (2, 2, 1)
    running = own_dms.service.region("us-east-1").tasks[task]

    assert requests.get(f"{own_dms.endpoint_url}/moto-api/reset", timeout=10).status_code == 400
    answer = requests.post(f"{own_dms.endpoint_url}/moto-api/reset", timeout=60)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}

    assert _counts(dms) == (0, 0, 0)
    assert running.status == "stopped"  # the task's thread ended cleanly before the reset answered
    assert running.thread is None or not running.thread.is_alive()
    fresh = make_dms(own_dms.endpoint_url)  # the emulator keeps serving after a reset
    assert _counts(fresh) == (0, 1, 0)


def test_moto_mock_aws_in_server_mode_resets_the_emulator(
    own_dms: LocalDms, make_dms: Callable[[str], Dms]
) -> None:
    dms = make_dms(own_dms.endpoint_url)
    dms.endpoint("target")
    assert _counts(dms)[:2] == (1, 1)
    # moto's own client path: mock_aws() in server mode POSTs /moto-api/reset when it starts
    script = "from moto import mock_aws\nwith mock_aws():\n    pass\n"
    env = {**os.environ, "TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": own_dms.endpoint_url}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    assert _counts(dms) == (0, 0, 0)

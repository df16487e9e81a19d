"""A real moto server for CloudWatch (and its DMS), for the waits that read AWS/DMS metrics.

The local DMS on this branch publishes no CloudWatch metrics, so these tests put the datapoints DMS
would publish (namespace AWS/DMS, dimensions ReplicationInstanceIdentifier and
ReplicationTaskIdentifier) with PutMetricData into moto's CloudWatch, a client nobody here wrote,
and read them through the provider's hook, sensors, triggers and cutover operator. moto's DMS
gives a task that runs once started and stops on StopReplicationTask.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest

from airflow_neon_dms.dms.lag import NAMESPACE, task_dimensions
from tests.unit.conftest import aws_conn_json

MOTO_CONN_ID = "aws_moto"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1 for the whole test run."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@dataclass
class MotoTask:
    """A running replication task on moto, its metric dimensions, and a CloudWatch client."""

    arn: str
    instance_id: str
    dms: Any
    cloudwatch: Any

    @property
    def dimensions(self) -> list[dict[str, str]]:
        return task_dimensions(self.instance_id, self.arn)

    def put(self, metric: str, values: list[tuple[float, float]]) -> None:
        """PutMetricData of ``(epoch seconds, value)`` datapoints for this task."""
        for start in range(0, len(values), 500):
            self.cloudwatch.put_metric_data(
                Namespace=NAMESPACE,
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": self.dimensions,
                        "Timestamp": datetime.fromtimestamp(t, tz=timezone.utc),
                        "Value": v,
                    }
                    for t, v in values[start : start + 500]
                ],
            )

    def put_minutes(self, metric: str, values: list[float]) -> None:
        """One datapoint a minute, the last one a second ago (as DMS publishes, period 60)."""
        now = int(time.time()) - 1
        self.put(metric, [(now - 60 * (len(values) - 1 - i), v) for i, v in enumerate(values)])


@pytest.fixture
def moto_conn(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Airflow AWS connection ``aws_moto`` to the moto server (its ``endpoint_url`` extra)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{MOTO_CONN_ID.upper()}", aws_conn_json(moto_url))
    return MOTO_CONN_ID


@pytest.fixture
def moto_task(moto_url: str, moto_conn: str) -> Callable[[], MotoTask]:
    """Factory: a replication instance and a started full-load-and-cdc task on moto."""

    def make() -> MotoTask:
        dms, cloudwatch = _client("dms", moto_url), _client("cloudwatch", moto_url)
        name = f"ri-{uuid.uuid4().hex[:10]}"
        instance = dms.create_replication_instance(
            ReplicationInstanceIdentifier=name, ReplicationInstanceClass="dms.t3.micro"
        )["ReplicationInstance"]
        arn = dms.create_replication_task(
            ReplicationTaskIdentifier=f"task-{uuid.uuid4().hex[:10]}",
            SourceEndpointArn="arn:aws:dms:us-east-1:123456789012:endpoint:SRC",
            TargetEndpointArn="arn:aws:dms:us-east-1:123456789012:endpoint:TGT",
            ReplicationInstanceArn=instance["ReplicationInstanceArn"],
            MigrationType="full-load-and-cdc",
            TableMappings='{"rules": []}',
        )["ReplicationTask"]["ReplicationTaskArn"]
        dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
        return MotoTask(arn, name, dms, cloudwatch)

    return make

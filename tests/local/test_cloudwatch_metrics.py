"""CloudWatch metrics at the emulator's address: AWS/DMS task metrics under AWS's dimensions, read
with boto3's ``cloudwatch`` client (and the amazon provider's AwsBaseHook) as on AWS."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import psycopg
import pytest
import requests
from botocore.exceptions import ClientError

from airflow_neon_dms.local.cloudwatch_metrics import LocalMetrics
from airflow_neon_dms.local.models import ReplicationTask
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from airflow_neon_dms.local.task_metrics import metrics_of, publish_cdc_progress
from tests.local.support import Dms, new_dms, unique

CDC_METRICS = ("CDCLatencySource", "CDCLatencyTarget", "CDCIncomingChanges")


def _cloudwatch(endpoint_url: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _window() -> dict[str, datetime]:
    now = datetime.now(timezone.utc)
    return {"StartTime": now - timedelta(minutes=30), "EndTime": now + timedelta(minutes=5)}


def _dimensions(instance_identifier: str, task_resource_id: str) -> list[dict[str, str]]:
    # the order of an operator's query need not be the order the emulator published in
    return [
        {"Name": "ReplicationTaskIdentifier", "Value": task_resource_id},
        {"Name": "ReplicationInstanceIdentifier", "Value": instance_identifier},
    ]


def _values(
    cloudwatch: Any, metric: str, dimensions: list[dict[str, str]], stat: str = "Maximum"
) -> list[float]:
    """The GetMetricData query documented in docs/emulator.md for operators."""
    query = {
        "Id": "m",
        "MetricStat": {
            "Metric": {"Namespace": "AWS/DMS", "MetricName": metric, "Dimensions": dimensions},
            "Period": 60,
            "Stat": stat,
        },
    }
    answer = cloudwatch.get_metric_data(MetricDataQueries=[query], ScanBy="TimestampDescending", **_window())
    return [float(v) for v in answer["MetricDataResults"][0]["Values"]]


def _statistics(cloudwatch: Any, metric: str, dimensions: list[dict[str, str]]) -> list[dict[str, Any]]:
    return list(
        cloudwatch.get_metric_statistics(
            Namespace="AWS/DMS",
            MetricName=metric,
            Dimensions=dimensions,
            Period=60,
            Statistics=["Maximum", "SampleCount"],
            **_window(),
        )["Datapoints"]
    )


def _instance_identifier(dms: Dms) -> str:
    instances = dms.client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [dms.instance_arn]}]
    )["ReplicationInstances"]
    return str(instances[0]["ReplicationInstanceIdentifier"])


@pytest.fixture
def own_dms() -> Iterator[LocalDms]:
    """An emulator of this test alone, publishing CDC metrics at most once an hour (so the test,
    not the clock, decides which readings go out)."""
    with LocalDms(port=0, timing=INSTANT, metrics_period_seconds=3600) as running:
        yield running


def _idle_task(dms: Dms, emulator: LocalDms, region: str = "us-east-1") -> ReplicationTask:
    """A created (not started) task of ``emulator``: the object its task thread would publish for."""
    arn = dms.task(dms.endpoint("source"), dms.endpoint("target"), migration_type="full-load-and-cdc")
    return emulator.service.region(region).tasks[arn]


def test_full_load_publishes_throughput_under_the_task_resource_id(
    local_dms: Any, dms: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
    task_arn = dms.task(
        dms.pg_endpoint("source", pg_server, source_db), dms.pg_endpoint("target", pg_server, target_db)
    )
    task = dms.run_full_load(task_arn)
    assert task["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    cloudwatch = _cloudwatch(local_dms.endpoint_url)
    instance_id = _instance_identifier(dms)
    resource_id = task_arn.rsplit(":", 1)[-1]
    dimensions = _dimensions(instance_id, resource_id)

    values = _values(cloudwatch, "FullLoadThroughputRowsTarget", dimensions)
    assert values and max(values) > 0
    datapoints = _statistics(cloudwatch, "FullLoadThroughputRowsTarget", dimensions)
    assert datapoints and {d["Unit"] for d in datapoints} == {"Count/Second"}
    assert max(d["Maximum"] for d in datapoints) > 0

    listed = cloudwatch.list_metrics(
        Namespace="AWS/DMS", Dimensions=[{"Name": "ReplicationTaskIdentifier", "Value": resource_id}]
    )["Metrics"]
    assert [(m["MetricName"], m["Dimensions"]) for m in listed] == [
        ("FullLoadThroughputRowsTarget", sorted(dimensions, key=lambda d: d["Name"]))
    ]
    # the trap: the task's own identifier is not the dimension's value, on AWS or here
    by_name = _dimensions(instance_id, task["ReplicationTaskIdentifier"])
    assert _values(cloudwatch, "FullLoadThroughputRowsTarget", by_name) == []
    # each dimension combination is its own metric: the instance alone has no task metrics
    instance_only = [{"Name": "ReplicationInstanceIdentifier", "Value": instance_id}]
    assert _values(cloudwatch, "FullLoadThroughputRowsTarget", instance_only) == []
    assert _statistics(cloudwatch, "FullLoadThroughputRowsTarget", instance_only) == []


def test_cdc_progress_goes_out_once_per_period_with_aws_units(
    own_dms: LocalDms, make_dms: Callable[[str], Dms]
) -> None:
    dms = make_dms(own_dms.endpoint_url)
    task = _idle_task(dms, own_dms)
    started = time.time()

    assert publish_cdc_progress(task, source_latency_s=2.5, target_latency_s=1.0, incoming_changes=7)
    # within the period: not published (the CDC loop may call as often as it likes)
    assert not publish_cdc_progress(task, 90, 90, 900)
    assert publish_cdc_progress(task, 0, 0, 0, when=started + 1, force=True)

    cloudwatch = _cloudwatch(own_dms.endpoint_url)
    dimensions = _dimensions(_instance_identifier(dms), task.arn.rsplit(":", 1)[-1])
    # the target latency is never reported below the source latency (AWS's definition)
    assert {m: max(_values(cloudwatch, m, dimensions)) for m in CDC_METRICS} == {
        "CDCLatencySource": 2.5,
        "CDCLatencyTarget": 2.5,
        "CDCIncomingChanges": 7.0,
    }
    assert {m: min(_values(cloudwatch, m, dimensions, "Minimum")) for m in CDC_METRICS} == dict.fromkeys(
        CDC_METRICS, 0.0
    )
    units = {m: {d["Unit"] for d in _statistics(cloudwatch, m, dimensions)} for m in CDC_METRICS}
    assert units == {
        "CDCLatencySource": {"Seconds"},
        "CDCLatencyTarget": {"Seconds"},
        "CDCIncomingChanges": {"Count"},
    }
    counts = [sum(d["SampleCount"] for d in _statistics(cloudwatch, m, dimensions)) for m in CDC_METRICS]
    assert counts == [2, 2, 2]


def test_provider_base_hook_reads_the_metrics(
    own_dms: LocalDms, make_dms: Callable[[str], Dms], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    dms = make_dms(own_dms.endpoint_url)
    task = _idle_task(dms, own_dms)
    publish_cdc_progress(task, 4, 6, 12)
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": own_dms.endpoint_url, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL_METRICS", json.dumps(connection))
    cloudwatch = AwsBaseHook(aws_conn_id="aws_local_metrics", client_type="cloudwatch").get_conn()
    dimensions = _dimensions(_instance_identifier(dms), task.arn.rsplit(":", 1)[-1])
    assert _values(cloudwatch, "CDCLatencyTarget", dimensions) == [6.0]


def test_put_metric_data_round_trip_and_regions_are_separate(own_dms: LocalDms) -> None:
    frankfurt_client = boto3.client(
        "dms",
        endpoint_url=own_dms.endpoint_url,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    frankfurt = new_dms(frankfurt_client)
    task = _idle_task(frankfurt, own_dms, "eu-central-1")
    publish_cdc_progress(task, 1, 1, 3)
    dimensions = _dimensions(_instance_identifier(frankfurt), task.arn.rsplit(":", 1)[-1])
    in_frankfurt, in_virginia = (
        _cloudwatch(own_dms.endpoint_url, "eu-central-1"),
        _cloudwatch(own_dms.endpoint_url),
    )
    assert _values(in_frankfurt, "CDCIncomingChanges", dimensions) == [3.0]
    assert _values(in_virginia, "CDCIncomingChanges", dimensions) == []

    custom = [{"Name": "Pipeline", "Value": unique("p")}]
    in_virginia.put_metric_data(
        Namespace="Custom/Migration",
        MetricData=[{"MetricName": "Lag", "Value": 8.0, "Unit": "Seconds", "Dimensions": custom}],
    )
    query = {
        "Id": "lag",
        "MetricStat": {
            "Metric": {"Namespace": "Custom/Migration", "MetricName": "Lag", "Dimensions": custom},
            "Period": 60,
            "Stat": "Average",
        },
    }
    assert in_virginia.get_metric_data(MetricDataQueries=[query], **_window())["MetricDataResults"][0][
        "Values"
    ] == [8.0]
    assert (
        in_frankfurt.get_metric_data(MetricDataQueries=[query], **_window())["MetricDataResults"][0]["Values"]
        == []
    )


def test_reset_forgets_every_metric(own_dms: LocalDms, make_dms: Callable[[str], Dms]) -> None:
    dms = make_dms(own_dms.endpoint_url)
    task = _idle_task(dms, own_dms)
    publish_cdc_progress(task, 1, 1, 1)
    cloudwatch = _cloudwatch(own_dms.endpoint_url)
    assert len(cloudwatch.list_metrics(Namespace="AWS/DMS")["Metrics"]) == 3
    assert requests.post(f"{own_dms.endpoint_url}/moto-api/reset", timeout=60).status_code == 200
    assert cloudwatch.list_metrics(Namespace="AWS/DMS")["Metrics"] == []
    # the period starts afresh too: the first reading after a reset goes out
    store = own_dms.service.cloudwatch_metrics
    assert store.due(("task", "cdc")) and not store.due(("task", "cdc"))
    store.reset()
    assert store.due(("task", "cdc"))


def test_query_protocol_is_served_and_cbor_is_refused_by_name(
    own_dms: LocalDms, make_dms: Callable[[str], Dms]
) -> None:
    dms = make_dms(own_dms.endpoint_url)
    publish_cdc_progress(_idle_task(dms, own_dms), 1, 1, 1)
    form = {
        "Action": "ListMetrics",
        "Version": "2010-08-01",
        "Namespace": "AWS/DMS",
        "MetricName": "CDCLatencySource",
    }
    answer = requests.post(own_dms.endpoint_url, data=form, timeout=30)
    assert answer.status_code == 200
    assert "<MetricName>CDCLatencySource</MetricName>" in answer.text
    assert "ReplicationTaskIdentifier" in answer.text
    # the DMS JSON API at the same address is untouched
    assert dms.client.describe_replication_instances()["ReplicationInstances"]

    cbor = requests.post(
        f"{own_dms.endpoint_url}/service/GraniteServiceVersion20100801/operation/ListMetrics",
        data=b"\xa0",
        headers={"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
        timeout=30,
    )
    assert cbor.status_code == 400
    assert "smithy-rpc-v2-cbor" in cbor.json()["message"]


def test_bad_readings_are_refused_with_the_task_named(
    own_dms: LocalDms, make_dms: Callable[[str], Dms]
) -> None:
    dms = make_dms(own_dms.endpoint_url)
    task = _idle_task(dms, own_dms)
    with pytest.raises(ValueError, match=task.identifier):
        publish_cdc_progress(task, -1, 0, 0)
    publisher = metrics_of(task)
    assert publisher is not None
    with pytest.raises(ValueError, match="CDCLatency is not a task metric"):
        publisher.put({"CDCLatency": 1})
    with pytest.raises(ValueError, match="must be positive"):
        LocalMetrics("123456789012", period_seconds=0)
    # CloudWatch's own errors come back with the code AWS gives (a query-compatible service)
    window = _window()
    with pytest.raises(ClientError) as err:
        _cloudwatch(own_dms.endpoint_url).get_metric_statistics(
            Namespace="AWS/DMS",
            MetricName="CDCLatencySource",
            StartTime=window["EndTime"],
            EndTime=window["StartTime"],
            Period=60,
            Statistics=["Maximum"],
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "StartTime must be less than the parameter EndTime" in err.value.response["Error"]["Message"]
    assert _cloudwatch(own_dms.endpoint_url).list_metrics(Namespace="AWS/DMS")["Metrics"] == []

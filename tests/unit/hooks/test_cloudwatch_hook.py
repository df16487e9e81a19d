"""NeonDmsMetricsHook reads AWS/DMS datapoints from a real CloudWatch API (moto server), sync and async."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from airflow_neon_dms.dms.lag import CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET, Datapoint
from airflow_neon_dms.hooks.cloudwatch import MetricPages, NeonDmsMetricsHook, metric_queries
from tests.unit.moto_cloudwatch import MotoTask, moto_conn, moto_task, moto_url

__all__ = ["moto_conn", "moto_task", "moto_url"]


def test_series_reads_each_metric_for_this_task_only(
    moto_task: Callable[[], MotoTask], moto_conn: str
) -> None:
    task, other = moto_task(), moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [3, 2, 1])
    task.put_minutes(CDC_LATENCY_TARGET, [9, 8, 7])
    other.put_minutes(CDC_LATENCY_TARGET, [500, 500, 500])
    now = time.time()
    hook = NeonDmsMetricsHook(aws_conn_id=moto_conn)
    series = hook.series(
        task.dimensions, [CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET], start=now - 600, end=now, period=60
    )
    assert sorted(p.value for p in series[CDC_LATENCY_SOURCE]) == [1, 2, 3]
    assert sorted(p.value for p in series[CDC_LATENCY_TARGET]) == [7, 8, 9]
    stamps = [p.timestamp for p in series[CDC_LATENCY_TARGET]]
    assert stamps == sorted(stamps) and all(now - 600 <= t <= now for t in stamps)


@pytest.mark.asyncio
async def test_series_async_matches_sync(moto_task: Callable[[], MotoTask], moto_conn: str) -> None:
    task = moto_task()
    task.put_minutes(CDC_LATENCY_SOURCE, [4, 0])
    now = time.time()
    hook = NeonDmsMetricsHook(aws_conn_id=moto_conn)
    args = {"start": now - 300, "end": now, "period": 60}
    sync = hook.series(task.dimensions, [CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET], **args)
    async_ = await hook.series_async(task.dimensions, [CDC_LATENCY_SOURCE, CDC_LATENCY_TARGET], **args)
    assert sync == async_
    assert sorted(p.value for p in async_[CDC_LATENCY_SOURCE]) == [0, 4]
    assert async_[CDC_LATENCY_TARGET] == []


def test_pages_follow_next_token_and_ignore_unknown_ids() -> None:
    pages = MetricPages(["A", "B"], {"MetricDataQueries": []})
    assert pages.next_request() == {"MetricDataQueries": []}
    pages.add(
        {
            "MetricDataResults": [
                {"Id": "m0", "Timestamps": [60.0], "Values": [1.0]},
                {"Id": "m7", "Timestamps": [60.0], "Values": [5.0]},
            ],
            "NextToken": "t1",
        }
    )
    assert pages.next_request() == {"MetricDataQueries": [], "NextToken": "t1"}
    pages.add({"MetricDataResults": [{"Id": "m1", "Timestamps": [120.0], "Values": [2.0]}]})
    assert pages.next_request() is None
    assert pages.series == {"A": [Datapoint(60.0, 1.0)], "B": [Datapoint(120.0, 2.0)]}


def test_queries_name_namespace_dimensions_and_maximum() -> None:
    dims = [{"Name": "ReplicationInstanceIdentifier", "Value": "ri"}]
    [query] = metric_queries(dims, ["CDCLatencyTarget"], 60)
    assert query["MetricStat"]["Metric"] == {
        "Namespace": "AWS/DMS",
        "MetricName": "CDCLatencyTarget",
        "Dimensions": dims,
    }
    assert query["MetricStat"]["Stat"] == "Maximum" and query["MetricStat"]["Period"] == 60

"""NeonDmsMetricsHook: a replication task's CloudWatch metrics (namespace AWS/DMS) via GetMetricData.

The amazon provider has no CloudWatch metrics hook, so this one is built on its ``AwsBaseHook``
(client type ``cloudwatch``): the same ``aws_conn_id``, region, ``endpoint_url`` extra and async
client as the DMS hook, which is what lets it read the local DMS's metrics at the same address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore.config import Config

from airflow_neon_dms.dms.lag import NAMESPACE, STATISTIC, Datapoint
from airflow_neon_dms.hooks.async_client import AsyncClientWithoutBlockingMixin

#: GetMetricData's limit of queries per request is 500; a wait asks for a handful.
MAX_QUERIES = 500

#: The dimensions of a task's metrics (``[{"Name": ..., "Value": ...}]``).
Dimensions = Sequence[Mapping[str, str]]
#: Datapoints per metric name, in the order GetMetricData returned them.
MetricSeries = dict[str, list[Datapoint]]


def metric_queries(
    dimensions: Dimensions, metrics: Sequence[str], period: int, stat: str = STATISTIC
) -> list[dict[str, Any]]:
    """GetMetricData queries, one per metric, with ids ``m0``, ``m1``, ..."""
    if len(metrics) > MAX_QUERIES:
        raise ValueError(f"At most {MAX_QUERIES} metrics a request; got {len(metrics)}.")
    return [
        {
            "Id": f"m{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": name,
                    "Dimensions": [dict(d) for d in dimensions],
                },
                "Period": int(period),
                "Stat": stat,
            },
            "ReturnData": True,
        }
        for i, name in enumerate(metrics)
    ]


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value)


class MetricPages:
    """Collects GetMetricData pages (NextToken paging) into datapoints per metric name."""

    def __init__(self, metrics: Sequence[str], request: Mapping[str, Any]) -> None:
        self.metrics = list(metrics)
        self.request = dict(request)
        self.series: MetricSeries = {name: [] for name in self.metrics}
        self._token: str | None = None
        self._done = False

    def next_request(self) -> dict[str, Any] | None:
        if self._done:
            return None
        return {**self.request, **({"NextToken": self._token} if self._token else {})}

    def add(self, response: Mapping[str, Any]) -> None:
        for result in response.get("MetricDataResults", []):
            index = int(str(result.get("Id", "m-1"))[1:])
            if not 0 <= index < len(self.metrics):
                continue
            self.series[self.metrics[index]] += [
                Datapoint(_epoch(t), float(v))
                for t, v in zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
            ]
        self._token = response.get("NextToken")
        self._done = not self._token


def metric_pages(
    dimensions: Dimensions, metrics: Sequence[str], start: float, end: float, period: int
) -> MetricPages:
    """The paged GetMetricData request for ``metrics`` from ``start`` to ``end`` (epoch seconds),
    oldest datapoint first; the sync and the async client both drive it."""
    return MetricPages(
        metrics,
        {
            "MetricDataQueries": metric_queries(dimensions, metrics, period),
            "StartTime": datetime.fromtimestamp(start, tz=timezone.utc),
            "EndTime": datetime.fromtimestamp(end, tz=timezone.utc),
            "ScanBy": "TimestampAscending",
        },
    )


class NeonDmsMetricsHook(AsyncClientWithoutBlockingMixin, AwsBaseHook):
    """
    Read a replication task's AWS/DMS metrics from CloudWatch (GetMetricData, paged).

    Takes the amazon provider's ``aws_conn_id``, ``region_name``, ``verify`` and
    ``botocore_config``; an ``endpoint_url`` in the connection's extra points it at the local DMS.
    """

    def __init__(self, *args: Any, botocore_config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if botocore_config and kwargs.get("config") is None:
            kwargs["config"] = Config(**dict(botocore_config))
        kwargs["client_type"] = "cloudwatch"
        super().__init__(*args, **kwargs)

    def series(
        self, dimensions: Dimensions, metrics: Sequence[str], *, start: float, end: float, period: int
    ) -> MetricSeries:
        """Datapoints of each metric between ``start`` and ``end`` (epoch seconds), one per period."""
        pages = metric_pages(dimensions, metrics, start, end, period)
        while (request := pages.next_request()) is not None:
            pages.add(self.conn.get_metric_data(**request))
        return pages.series

    async def series_async(
        self, dimensions: Dimensions, metrics: Sequence[str], *, start: float, end: float, period: int
    ) -> MetricSeries:
        """Async :meth:`series` for triggers."""
        pages = metric_pages(dimensions, metrics, start, end, period)
        async with await self.get_async_conn() as client:
            while (request := pages.next_request()) is not None:
                pages.add(await client.get_metric_data(**request))
        return pages.series

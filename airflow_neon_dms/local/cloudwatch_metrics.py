"""CloudWatch metrics at the local DMS's own address, so replication lag reads like on AWS.

AWS DMS publishes a task's metrics to CloudWatch (namespace ``AWS/DMS``; see ``task_metrics``).
Locally, moto's CloudWatch implementation (its ``CloudWatchBackend`` and ``CloudWatchResponse``)
serves the ``cloudwatch`` API — GetMetricData, GetMetricStatistics, ListMetrics, PutMetricData and
the rest moto has — on the same ``endpoint_url`` as DMS. ``with_metrics`` sends it two kinds of
request, the two protocols botocore's CloudWatch model (``cloudwatch/2010-08-01/service-2.json``,
``"protocols": ["smithy-rpc-v2-cbor", "json", "query"]``) lets a client choose:

- JSON: ``X-Amz-Target: GraniteServiceVersion20100801.<Operation>`` (botocore picks ``json``
  first from its ``PRIORITY_ORDERED_SUPPORTED_PROTOCOLS``, so boto3 sends this);
- query: a form-encoded POST with ``Version=2010-08-01`` (older SDKs and the AWS CLI v1).

The CBOR protocol (``POST /service/GraniteServiceVersion20100801/operation/<Operation>``) is not
served: moto 5.2.5 cannot parse it; such a request gets a JSON error that says so.

Each emulator keeps its own backends (one per region), cleared by ``reset``. Two fixes make moto
answer as CloudWatch does ("Dimension combinations" in the CloudWatch user guide: each unique
combination of dimensions is a separate metric, in any order): dimensions are kept sorted by name,
so a query's dimension order does not matter, and GetMetricStatistics matches the whole dimension
set, not a subset. ``MOTO_METRICS_INTERNALS`` lists the moto names used;
``tests/local/test_moto_guard.py`` checks them.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend, Statistics
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.request import Request

log = logging.getLogger(__name__)

METRICS_TARGET_PREFIX = "GraniteServiceVersion20100801."
QUERY_VERSION = b"Version=2010-08-01"
CBOR_PATH_PREFIX = "/service/GraniteServiceVersion20100801/"
MOTO_METRICS_INTERNALS: tuple[tuple[object, str], ...] = (
    (CloudWatchResponse, "cloudwatch_backend"),
    (CloudWatchResponse, "_dispatch"),
    (CloudWatchBackend, "put_metric_data"),
    (CloudWatchBackend, "get_metric_data"),
    (CloudWatchBackend, "get_metric_statistics"),
    (Statistics, "metric_single_values_list"),  # reads ``self.metric_data``, which we filter
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ServerRequest(Request):
    from_wsgi_server = True


def _by_name(dimensions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted((dict(d) for d in dimensions), key=lambda d: str(d.get("Name", "")))


class _CloudWatchBackend(CloudWatchBackend):
    """moto's backend with CloudWatch's dimension rules (see the module docstring)."""

    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        data = [{**m, "Dimensions": _by_name(m.get("Dimensions") or [])} for m in metric_data]
        super().put_metric_data(namespace, data)

    def get_metric_data(
        self,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        sorted_queries = []
        for query in queries:
            stat = query.get("MetricStat")
            if stat and stat.get("Metric", {}).get("Dimensions"):
                metric = {**stat["Metric"], "Dimensions": _by_name(stat["Metric"]["Dimensions"])}
                query = {**query, "MetricStat": {**stat, "Metric": metric}}
            sorted_queries.append(query)
        return super().get_metric_data(sorted_queries, start_time, end_time, scan_by)

    def get_metric_statistics(
        self,
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[Statistics]:
        wanted = {(d["Name"], d.get("Value")) for d in dimensions or []}
        found = super().get_metric_statistics(
            namespace, metric_name, start_time, end_time, period, stats, dimensions, unit
        )
        exact = []
        for statistics in found:
            statistics.metric_data = [
                md for md in statistics.metric_data if {(d.name, d.value) for d in md.dimensions} == wanted
            ]
            if statistics.metric_data:
                exact.append(statistics)
        return exact


class LocalMetrics:
    """The CloudWatch metrics of one emulator: a moto ``CloudWatchBackend`` per region, under one lock.

    ``period_seconds`` is how often ``due`` lets a periodic publisher publish (the local DMS's
    stand-in for the interval at which AWS DMS publishes its task metrics; see docs/emulator.md).
    """

    def __init__(self, account_id: str, *, period_seconds: float = 5.0) -> None:
        if period_seconds <= 0:
            raise ValueError(f"The metrics period must be positive, not {period_seconds!r} seconds.")
        self.account_id = account_id
        self.period_seconds = period_seconds
        self.lock = threading.Lock()
        self._backends: dict[str, CloudWatchBackend] = {}
        self._last_published: dict[tuple[str, str], float] = {}
        owner = self

        class _Response(CloudWatchResponse):
            @property
            def cloudwatch_backend(self) -> CloudWatchBackend:
                return owner.backend(self.region)

        self._response_class = _Response

    def backend(self, region: str) -> CloudWatchBackend:
        if region not in self._backends:
            self._backends[region] = _CloudWatchBackend(region, self.account_id)
        return self._backends[region]

    def reset(self) -> None:
        """Forget every datapoint of every region (moto's ``POST /moto-api/reset``)."""
        with self.lock:
            self._backends = {}
            self._last_published = {}

    def due(self, key: tuple[str, str], now: float | None = None) -> bool:
        """True (and remembered) when ``key`` last published ``period_seconds`` ago or never."""
        now = time.time() if now is None else now
        with self.lock:
            last = self._last_published.get(key)
            if last is not None and now - last < self.period_seconds:
                return False
            self._last_published[key] = now
            return True

    def put(
        self,
        region: str,
        namespace: str,
        values: Mapping[str, tuple[float, str]],
        dimensions: Mapping[str, str],
        when: float | None = None,
    ) -> None:
        """Publish ``{metric name: (value, unit)}`` at ``when`` (epoch seconds; now when None)."""
        # moto keeps naive UTC datetimes (``moto.core.utils.utcnow``) and parses requests' into them
        stamp = datetime.fromtimestamp(time.time() if when is None else when, tz=timezone.utc)
        timestamp = stamp.replace(tzinfo=None)
        dims = [{"Name": name, "Value": value} for name, value in dimensions.items()]
        data = [
            {"MetricName": name, "Value": value, "Unit": unit, "Timestamp": timestamp, "Dimensions": dims}
            for name, (value, unit) in values.items()
        ]
        with self.lock:
            self.backend(region).put_metric_data(namespace, data)

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """WSGI: one CloudWatch API request (JSON or query protocol)."""
        try:
            with self.lock:
                status, headers, body = self._response_class()._dispatch(_ServerRequest(environ))
        except Exception as err:  # never a traceback or an HTML 500 page to an API client
            log.exception("Unexpected error in the local DMS emulator's CloudWatch")
            return _json_error(start_response, "500 Internal Server Error", "InternalFailure", str(err))
        data = body.encode("utf-8") if isinstance(body, str) else body
        # moto's headers (x-amzn-query-error carries the query-protocol error code botocore reports,
        # as AWS's awsQueryCompatible services do), with a real Content-Type for its bare "text"
        out = {k: str(v) for k, v in dict(headers).items() if k.lower() not in ("status", "content-length")}
        json_request = str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(METRICS_TARGET_PREFIX)
        if out.get("Content-Type", "text") == "text":
            out["Content-Type"] = "application/x-amz-json-1.0" if json_request else "text/xml"
        out["Content-Length"] = str(len(data))
        start_response(f"{int(status)} {HTTPStatus(int(status)).phrase}", list(out.items()))
        return [data]


def _query_body(environ: dict[str, Any]) -> bytes | None:
    """The form-encoded body of a query-protocol request (left readable for the app), else None."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def _json_error(start_response: Callable[..., Any], status: str, code: str, message: str) -> Iterable[bytes]:
    data = json.dumps({"__type": code, "message": message}).encode("utf-8")
    start_response(
        status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))]
    )
    return [data]


def with_metrics(app: WsgiApp, metrics: LocalMetrics) -> WsgiApp:
    """``app`` with CloudWatch requests (JSON ``GraniteServiceVersion20100801.*`` targets or
    query-protocol ``Version=2010-08-01`` forms) sent to ``metrics``."""

    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(METRICS_TARGET_PREFIX):
            return metrics.app(environ, start_response)
        if str(environ.get("PATH_INFO", "")).startswith(CBOR_PATH_PREFIX):
            return _json_error(
                start_response,
                "400 Bad Request",
                "UnknownOperationException",
                "The local DMS emulator serves CloudWatch over the JSON and query protocols, not "
                "smithy-rpc-v2-cbor; use a client that sends JSON (boto3 does).",
            )
        body = _query_body(environ)
        if body is not None and QUERY_VERSION in body:
            return metrics.app(environ, start_response)
        return app(environ, start_response)

    return routed

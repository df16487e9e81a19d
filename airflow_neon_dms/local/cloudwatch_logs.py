"""CloudWatch Logs at the local DMS's own address, so a task's log reads like on AWS.

AWS DMS writes a task's log to CloudWatch Logs when its settings have ``Logging.EnableLogging``.
Locally, moto's CloudWatch Logs implementation (its ``LogsBackend`` and ``LogsResponse``) serves the
``logs`` API — DescribeLogGroups, DescribeLogStreams, GetLogEvents, FilterLogEvents and the rest
moto has — on the same ``endpoint_url`` as DMS: ``with_logs`` sends every request whose
``X-Amz-Target`` is ``Logs_20140328.*`` there. Each emulator keeps its own backends (one per
region), so two emulators in one process, or moto's own mocks, never share log groups.
``MOTO_LOGS_INTERNALS`` lists the moto names used; ``tests/local/test_moto_guard.py`` checks them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from moto.core.request import Request
from moto.logs.models import LogGroup, LogsBackend
from moto.logs.responses import LogsResponse

LOGS_TARGET_PREFIX = "Logs_20140328."
MOTO_LOGS_INTERNALS: tuple[tuple[object, str], ...] = (
    (LogsResponse, "logs_backend"),
    (LogsResponse, "_dispatch"),
    (LogsBackend, "ensure_log_group"),
    (LogsBackend, "put_log_events"),
    (LogGroup, "create_log_stream"),
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ServerRequest(Request):
    from_wsgi_server = True


class LocalLogs:
    """The CloudWatch Logs of one emulator: a moto ``LogsBackend`` per region, under one lock."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.lock = threading.Lock()
        self._backends: dict[str, LogsBackend] = {}
        owner = self

        class _Response(LogsResponse):
            @property
            def logs_backend(self) -> LogsBackend:
                return owner.backend(self.region)

        self._response_class = _Response

    def backend(self, region: str) -> LogsBackend:
        if region not in self._backends:
            self._backends[region] = LogsBackend(region, self.account_id)
        return self._backends[region]

    def reset(self) -> None:
        """Forget every log group of every region (moto's ``POST /moto-api/reset``)."""
        with self.lock:
            self._backends = {}

    def put(self, region: str, group: str, stream: str, events: list[tuple[float, str]]) -> None:
        """Append ``(epoch seconds, message)`` events to ``group``/``stream``, creating both."""
        with self.lock:
            backend = self.backend(region)
            backend.ensure_log_group(group)
            log_group = backend.groups[group]
            if stream not in log_group.streams:
                log_group.create_log_stream(stream)
            backend.put_log_events(
                group, stream, [{"timestamp": int(when * 1000), "message": text} for when, text in events]
            )

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """WSGI: one CloudWatch Logs JSON API request."""
        with self.lock:
            status, _, body = self._response_class()._dispatch(_ServerRequest(environ))
        data = body.encode("utf-8") if isinstance(body, str) else body
        start_response(
            f"{int(status)} {HTTPStatus(int(status)).phrase}",
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
        )
        return [data]


def with_logs(app: WsgiApp, logs: LocalLogs) -> WsgiApp:
    """``app`` with CloudWatch Logs requests (``X-Amz-Target: Logs_20140328.*``) sent to ``logs``."""

    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(LOGS_TARGET_PREFIX):
            return logs.app(environ, start_response)
        return app(environ, start_response)

    return routed

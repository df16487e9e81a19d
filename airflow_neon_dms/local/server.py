"""``LocalDms``: the local DMS emulator's HTTP server on 127.0.0.1, in a background thread.

    with LocalDms(port=0, neon=[NeonTarget("ep-local-123", "127.0.0.1", 5432)]) as dms:
        client = boto3.client("dms", endpoint_url=dms.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")

Any credentials work; each region (the one the client signs for) has its own resources.
``timing`` says how long AWS's transitional states last (``state_timing``); CloudWatch Logs and
metrics are served at the same address, metrics published every ``metrics_period_seconds``.
Each ``NeonTarget`` starts a ``NeonProxy`` in front of that PostgreSQL server, and the emulator's
own connections for endpoints whose ServerName:Port is that address go through it, so Neon's
password and TLS rules apply on the wire.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, make_server

from airflow_neon_dms.local.cloudwatch_logs import with_logs
from airflow_neon_dms.local.cloudwatch_metrics import with_metrics
from airflow_neon_dms.local.moto_dms import make_wsgi_app
from airflow_neon_dms.local.neon_proxy import DEFAULT_BACKEND_SSLMODE, NeonProxy, check_backend_sslmode
from airflow_neon_dms.local.neon_rules import check_endpoint_id
from airflow_neon_dms.local.regions import RegionalDms
from airflow_neon_dms.local.s3_buckets import with_s3
from airflow_neon_dms.local.state_timing import AWS_LIKE, StateTiming

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NeonTarget:
    """``ENDPOINT_ID@HOST:PORT``: the PostgreSQL server at HOST:PORT plays Neon endpoint ENDPOINT_ID.

    ``backend_sslmode`` is how the proxy reaches that server: prefer (TLS when it offers it),
    require (TLS or fail, as for a real Neon endpoint) or disable.
    """

    endpoint_id: str
    host: str
    port: int
    backend_sslmode: str = DEFAULT_BACKEND_SSLMODE

    @classmethod
    def parse(cls, text: str, backend_sslmode: str = DEFAULT_BACKEND_SSLMODE) -> NeonTarget:
        endpoint_id, sep, address = text.partition("@")
        host, colon, port = address.rpartition(":")
        if not sep or not colon or not host or not port.isdigit():
            raise ValueError(
                f"--neon {text!r} is not ENDPOINT_ID@HOST:PORT (e.g. ep-local-123@127.0.0.1:5432)"
            )
        return cls(check_endpoint_id(endpoint_id), host, int(port), check_backend_sslmode(backend_sslmode))


class LocalDms:
    """The local DMS emulator serving the DMS API on ``endpoint_url``; a context manager."""

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        neon: list[NeonTarget] | None = None,
        region: str = "us-east-1",
        timing: StateTiming = AWS_LIKE,
        task_creating_seconds: float | None = None,
        metrics_period_seconds: float = 5.0,
    ) -> None:
        self.host = host
        self._port = port
        self.neon_targets = list(neon or [])
        if task_creating_seconds is not None:
            timing = dataclasses.replace(timing, task_creating_seconds=task_creating_seconds)
        #: Every region's resources; ``region`` answers requests that are not SigV4-signed.
        self.service = RegionalDms(
            default_region=region, timing=timing, metrics_period_seconds=metrics_period_seconds
        )
        self.proxies: list[NeonProxy] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalDms is not started")
        return int(self._server.server_port)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalDms:
        try:
            for target in self.neon_targets:
                proxy = NeonProxy(
                    target.endpoint_id, target.host, target.port, backend_sslmode=target.backend_sslmode
                ).start()
                self.proxies.append(proxy)
                self.service.routes[(target.host.lower(), target.port)] = ("127.0.0.1", proxy.port)
            # S3 is tried last: its path-style test would also take CloudWatch's CBOR requests
            # (``/service/GraniteServiceVersion20100801/...``), which the metrics router answers.
            app = with_s3(make_wsgi_app(self.service), self.service.s3)
            app = with_logs(app, self.service.cloudwatch_logs)
            app = with_metrics(app, self.service.cloudwatch_metrics)
            self._server = make_server(self.host, self._port, app, threaded=True)
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-dms-http", daemon=True)
        self._thread.start()
        log.info("Local DMS listening on %s", self.endpoint_url)
        return self

    def stop(self) -> None:
        """Stop the HTTP server, the running tasks and the Neon proxies; safe to call twice."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.service.shutdown()
        for proxy in self.proxies:
            proxy.stop()
        self.proxies = []

    def __enter__(self) -> LocalDms:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""The local DMS's AWS regions: one ``DmsService`` per region, as AWS keeps DMS resources.

AWS DMS is a regional service: a resource's ARN names its region and a client sees only the
resources of the region it signs its requests for. That region is the third part of the SigV4
credential scope (``Credential=AKID/20260101/eu-central-1/dms/aws4_request``; AWS's "Signature
Version 4 signing process", the ``Authorization`` header). An unsigned request gets the default.
"""

from __future__ import annotations

import re
import threading

from airflow_neon_dms.local.api_params import Params, Result
from airflow_neon_dms.local.cloudwatch_logs import LocalLogs
from airflow_neon_dms.local.cloudwatch_metrics import LocalMetrics
from airflow_neon_dms.local.s3_buckets import LocalS3
from airflow_neon_dms.local.service import DmsService
from airflow_neon_dms.local.state_timing import AWS_LIKE, StateTiming

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[a-z0-9-]+)/dms/aws4_request")
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def region_from_authorization(header: str | None, default: str) -> str:
    """The region of a SigV4 ``Authorization`` header's credential scope, else ``default``."""
    match = _CREDENTIAL_SCOPE.search(header or "")
    if match and _REGION_NAME.match(match.group("region")):
        return match.group("region")
    return default


class RegionalDms:
    """Every region's ``DmsService`` of one emulator, created on a region's first request."""

    def __init__(
        self,
        *,
        default_region: str = "us-east-1",
        account_id: str = "123456789012",
        timing: StateTiming = AWS_LIKE,
        metrics_period_seconds: float = 5.0,
    ) -> None:
        self.default_region = default_region
        self.account_id = account_id
        self.timing = timing
        #: ``--neon`` routing, the same for every region.
        self.routes: dict[tuple[str, int], tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._regions: dict[str, DmsService] = {}
        #: CloudWatch Logs of every region (task logs), served at the same address.
        self.cloudwatch_logs = LocalLogs(account_id)
        #: CloudWatch metrics of every region (``AWS/DMS`` task metrics), served at the same address.
        self.cloudwatch_metrics = LocalMetrics(account_id, period_seconds=metrics_period_seconds)
        #: S3 (assessment results), served at the same address; bucket names are global.
        self.s3 = LocalS3(account_id)

    def region(self, name: str | None = None) -> DmsService:
        """The service of region ``name`` (the default region when None)."""
        name = name or self.default_region
        with self._lock:
            service = self._regions.get(name)
            if service is None:
                service = DmsService(
                    region=name,
                    account_id=self.account_id,
                    routes=self.routes,
                    timing=self.timing,
                    cloudwatch_logs=self.cloudwatch_logs,
                    cloudwatch_metrics=self.cloudwatch_metrics,
                    s3=self.s3,
                )
                self._regions[name] = service
            return service

    def call(self, operation: str, params: Params, region: str | None = None) -> Result:
        """Run one API operation in ``region``."""
        return self.region(region).call(operation, params)

    def shutdown(self, timeout: float = 30) -> None:
        """Stop every region's running tasks and wait for their threads."""
        with self._lock:
            services = list(self._regions.values())
        for service in services:
            service.shutdown(timeout)

    def reset(self) -> None:
        """Forget every resource of every region, after stopping the running tasks cleanly
        (moto's ``POST /moto-api/reset``)."""
        with self._lock:
            services = list(self._regions.values())
            self._regions = {}
        for service in services:
            service.shutdown()
        self.cloudwatch_logs.reset()
        self.cloudwatch_metrics.reset()
        self.s3.reset()

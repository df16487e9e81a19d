"""Fails loudly when the moto internals the emulator builds on change (see local/moto_dms.py)."""

from __future__ import annotations

import inspect

import moto
from moto.core.responses import BaseResponse

from airflow_neon_dms.local.cloudwatch_logs import MOTO_LOGS_INTERNALS
from airflow_neon_dms.local.cloudwatch_metrics import MOTO_METRICS_INTERNALS
from airflow_neon_dms.local.moto_dms import MOTO_INTERNALS, MOTO_VERSION, EmulatorResponse
from airflow_neon_dms.local.s3_buckets import MOTO_S3_INTERNALS
from airflow_neon_dms.local.service import OPERATIONS


def test_moto_is_the_version_the_emulator_was_written_for() -> None:
    assert moto.__version__ == MOTO_VERSION, (
        f"moto {moto.__version__} is installed but airflow_neon_dms.local.moto_dms was written against "
        f"{MOTO_VERSION}; re-check MOTO_INTERNALS and the request handling, then update the pin."
    )


def test_every_moto_internal_still_exists() -> None:
    missing = [
        f"{getattr(owner, '__name__', owner)}.{name}"
        for owner, name in (
            *MOTO_INTERNALS,
            *MOTO_LOGS_INTERNALS,
            *MOTO_METRICS_INTERNALS,
            *MOTO_S3_INTERNALS,
        )
        if not hasattr(owner, name)
    ]
    assert missing == [], f"moto internals the emulator relies on are gone: {missing}"


def test_dispatch_signature_and_action_routing_are_unchanged() -> None:
    assert list(inspect.signature(BaseResponse._dispatch).parameters) == [
        "self",
        "request",
        "full_url",
        "headers",
    ]
    call_action = inspect.getsource(BaseResponse.call_action)
    # moto finds the handler method by the snake_case action name and renders HTTPException bodies
    assert "camelcase_to_underscores(self._get_action())" in call_action
    assert "except HTTPException" in call_action
    assert "self.body" in inspect.getsource(BaseResponse.setup_class)
    for operation in OPERATIONS:
        assert callable(getattr(EmulatorResponse, _snake(operation)))


def _snake(name: str) -> str:
    from moto.core.utils import camelcase_to_underscores

    return str(camelcase_to_underscores(name))


def test_cloudwatch_backend_signatures_the_metrics_fixes_override_are_unchanged() -> None:
    from moto.cloudwatch.models import CloudWatchBackend, Statistics

    assert "self.metric_data" in inspect.getsource(Statistics.__init__)

    assert list(inspect.signature(CloudWatchBackend.get_metric_data).parameters) == [
        "self",
        "queries",
        "start_time",
        "end_time",
        "scan_by",
    ]
    assert list(inspect.signature(CloudWatchBackend.get_metric_statistics).parameters) == [
        "self",
        "namespace",
        "metric_name",
        "start_time",
        "end_time",
        "period",
        "stats",
        "dimensions",
        "unit",
    ]
    assert list(inspect.signature(CloudWatchBackend.put_metric_data).parameters) == [
        "self",
        "namespace",
        "metric_data",
    ]

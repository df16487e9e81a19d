"""The one module that touches moto's internals: moto's request handling in front of DmsService.

moto 5.2.5 serves DMS but keeps endpoints ``creating`` forever, never finishes a task, and lacks
DescribeTableStatistics, ReloadTables, ModifyEndpoint and more (see docs/emulator.md). It has no
plugin API, so this module reuses what is sound in it — the request object, the action routing of
``BaseResponse`` and the JSON error rendering of ``JsonRESTError`` — and routes every DMS action to
``DmsService``, the emulator's own implementation. ``MOTO_INTERNALS`` lists every name used here;
``tests/local/test_moto_guard.py`` fails loudly when one of them changes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.request import Request
from moto.core.responses import BaseResponse

from airflow_neon_dms.local.api_params import snake_case as _snake
from airflow_neon_dms.local.api_shapes import request_errors
from airflow_neon_dms.local.faults import DmsFault, InternalFailure, UnknownOperationException
from airflow_neon_dms.local.regions import RegionalDms, region_from_authorization
from airflow_neon_dms.local.service import OPERATIONS

log = logging.getLogger(__name__)

MOTO_VERSION = "5.2.5"
#: (object, attribute) pairs of moto this module relies on (plus ``self.body`` and
#: ``self.headers``, which ``BaseResponse.setup_class`` sets from the request).
MOTO_INTERNALS: tuple[tuple[object, str], ...] = (
    (BaseResponse, "_dispatch"),
    (BaseResponse, "setup_class"),
    (BaseResponse, "call_action"),
    (BaseResponse, "_get_action"),
    (Request, "from_wsgi_server"),
    (JsonRESTError, "get_body"),
)


class _ServerRequest(Request):
    """moto's normalised request, marked as coming from a real WSGI server."""

    from_wsgi_server = True


class EmulatorResponse(BaseResponse):
    """moto's response handler with every DMS action served by the request region's ``DmsService``."""

    service: RegionalDms

    def __init__(self) -> None:
        super().__init__(service_name="dms")

    def _call(self, operation: str) -> str:
        try:
            params = json.loads(self.body or "{}")
        except json.JSONDecodeError as err:
            raise JsonRESTError("SerializationException", f"Request body is not JSON: {err.msg}") from None
        if not isinstance(params, dict):
            raise JsonRESTError("SerializationException", "Request body must be a JSON object.")
        problems = request_errors(operation, params)
        if problems:
            raise JsonRESTError("SerializationException", "; ".join(problems[:5]).replace("$.", ""))
        try:
            region = region_from_authorization(self.headers.get("Authorization"), self.service.default_region)
            result = self.service.call(operation, params, region)
        except DmsFault as fault:
            raise JsonRESTError(fault.code, fault.message) from None
        return json.dumps(result)


def _action(operation: str) -> Callable[[EmulatorResponse], str]:
    def method(self: EmulatorResponse) -> str:
        return self._call(operation)

    method.__name__ = _snake(operation)
    method.__doc__ = f"DMS {operation}."
    return method


for _operation in sorted(OPERATIONS):
    setattr(EmulatorResponse, _snake(_operation), _action(_operation))


def _error(fault: DmsFault) -> tuple[int, dict[str, str], str]:
    body = json.dumps({"__type": fault.code, "message": fault.message})
    return fault.status, {"Content-Type": "application/x-amz-json-1.1"}, body


#: moto's reset path: ``mock_aws`` in server mode and moto-style harnesses POST here between tests.
RESET_PATH = "/moto-api/reset"


def _reset(service: RegionalDms, method: str) -> tuple[int, dict[str, str], str]:
    """``POST /moto-api/reset`` forgets all state (running tasks are stopped first), as moto's
    server does; any other method answers 400 with moto's message."""
    headers = {"Content-Type": "application/json"}
    if method != "POST":
        return 400, headers, json.dumps({"Error": "Need to POST to reset Moto"})
    service.reset()
    log.info("Local DMS reset: every resource of every region is gone")
    return 200, headers, json.dumps({"status": "ok"})


def make_wsgi_app(service: RegionalDms) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI application answering the DMS JSON API for ``service``, plus moto's reset path."""
    handler_class = type("BoundEmulatorResponse", (EmulatorResponse,), {"service": service})

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") == RESET_PATH:
            return _respond(start_response, *_reset(service, environ.get("REQUEST_METHOD", "")))
        request = _ServerRequest(environ)
        if not request.headers.get("X-Amz-Target"):
            status, headers, body = _error(
                UnknownOperationException(
                    "Missing X-Amz-Target header: this is the AWS DMS JSON API "
                    "(use an AWS SDK with endpoint_url pointed here)."
                )
            )
            return _respond(start_response, status, headers, body)
        try:
            status, headers, body = handler_class()._dispatch(request)
        except NotImplementedError:
            target = request.headers.get("X-Amz-Target", "")
            status, headers, body = _error(
                UnknownOperationException(
                    f"The operation {target.rsplit('.', 1)[-1] or '(none)'} is not implemented by "
                    "the local DMS emulator."
                )
            )
        except Exception as err:  # never a traceback or an HTML 500 page to an API client
            log.exception("Unexpected error in the local DMS emulator")
            status, headers, body = _error(InternalFailure(f"{type(err).__name__}: {err}"))
        return _respond(start_response, status, headers, body)

    return app


def _respond(
    start_response: Callable[..., Any], status: int, headers: Any, body: str | bytes
) -> Iterable[bytes]:
    data = body.encode("utf-8") if isinstance(body, str) else body
    skip = ("status", "content-length")
    out = {k: str(v) for k, v in dict(headers).items() if k.lower() not in skip}
    out.setdefault("Content-Type", "application/x-amz-json-1.1")
    out["Content-Length"] = str(len(data))
    start_response(f"{int(status)} {'OK' if int(status) < 400 else 'Error'}", list(out.items()))
    return [data]

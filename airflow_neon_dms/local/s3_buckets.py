"""Amazon S3 at the local DMS's own address, where premigration assessment results land.

AWS DMS writes an assessment run's results to the S3 bucket named by ``ResultLocationBucket``
(botocore's StartReplicationTaskAssessmentRun). Locally, moto's S3 implementation (its ``S3Backend``
and ``S3Response``) serves the S3 REST API on the same ``endpoint_url`` as DMS: ``with_s3`` sends
every request without an ``X-Amz-Target`` header (S3 is a REST API; DMS and CloudWatch Logs are
JSON APIs that name the operation in that header) to it, so boto3's ``s3`` client works unchanged
with ``endpoint_url`` and path-style addressing (moto treats an IP-address host as path-style).

Each emulator keeps its own backend: moto records every bucket name in one process-wide
registry (``s3_backends.bucket_accounts``) to answer cross-account look-ups, so the backend here
keeps its buckets out of it, and two emulators, or moto's own mocks, never share buckets.
``MOTO_S3_INTERNALS`` lists the moto names used (and ``S3Backend.buckets``, an instance
attribute the tests exercise); ``tests/local/test_moto_guard.py`` checks them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from moto.core.request import Request
from moto.s3.models import FakeBucket, S3Backend, s3_backends
from moto.s3.responses import S3Response
from werkzeug.exceptions import HTTPException

MOTO_S3_INTERNALS: tuple[tuple[object, str], ...] = (
    (S3Response, "backend"),
    (S3Response, "bucket_response"),
    (S3Response, "key_response"),
    (S3Response, "ambiguous_response"),
    (S3Backend, "create_bucket"),
    (S3Backend, "put_object"),
    (S3Backend, "get_object"),
    (S3Backend, "get_bucket"),
    (s3_backends, "bucket_accounts"),
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ServerRequest(Request):
    from_wsgi_server = True


class _OwnS3Backend(S3Backend):
    """moto's S3 backend with its bucket names kept out of moto's process-wide registry."""

    def create_bucket(
        self, bucket_name: str, region_name: str, bucket_namespace: str | None = None
    ) -> FakeBucket:
        if bucket_name in self.buckets:
            from moto.s3.exceptions import BucketAlreadyExists

            raise BucketAlreadyExists(bucket=bucket_name)
        registry = s3_backends.bucket_accounts
        before = registry.get(bucket_name)
        registry.pop(bucket_name, None)
        try:
            return super().create_bucket(bucket_name, region_name, bucket_namespace)
        finally:
            registry.pop(bucket_name, None)
            if before is not None:
                registry[bucket_name] = before


class LocalS3:
    """The S3 buckets of one emulator (S3 bucket names are global, so one backend for all regions)."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.lock = threading.RLock()
        self._backend = _OwnS3Backend("aws", account_id)
        owner = self

        class _Response(S3Response):
            @property
            def backend(self) -> S3Backend:
                return owner._backend

        self._response_class = _Response

    def reset(self) -> None:
        """Forget every bucket (moto's ``POST /moto-api/reset``)."""
        with self.lock:
            self._backend = _OwnS3Backend("aws", self.account_id)

    def bucket_exists(self, bucket: str) -> bool:
        with self.lock:
            return bucket in self._backend.buckets

    def create_bucket(self, bucket: str, region: str = "us-east-1") -> None:
        """Create ``bucket`` unless it exists (the local stack's assessment bucket)."""
        with self.lock:
            if bucket not in self._backend.buckets:
                self._backend.create_bucket(bucket, region)

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        encryption: str | None = None,
        kms_key_id: str | None = None,
    ) -> None:
        """Write one object, as DMS writes a result file."""
        with self.lock:
            self._backend.put_object(bucket, key, body, encryption=encryption, kms_key_id=kms_key_id)

    def get(self, bucket: str, key: str) -> bytes:
        with self.lock:
            found = self._backend.get_object(bucket, key)
            if found is None:
                raise KeyError(f"s3://{bucket}/{key}")
            return bytes(found.value)

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """WSGI: one S3 REST API request (path-style)."""
        request = _ServerRequest(environ)
        path = environ.get("PATH_INFO", "") or "/"
        parts = path.lstrip("/").split("/", 1)
        handler = self._response_class()
        if not parts[0]:
            respond = handler.bucket_response
        elif len(parts) == 1 or not parts[1]:
            respond = handler.ambiguous_response
        else:
            respond = handler.key_response
        with self.lock:
            try:
                status, headers, body = respond(request, request.url, request.headers)
            except HTTPException as err:
                status, headers, body = err.code or 500, dict(err.get_headers()), err.get_body()
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        out = {str(k): str(v) for k, v in dict(headers).items() if k.lower() != "status"}
        if environ.get("REQUEST_METHOD") != "HEAD" or not any(k.lower() == "content-length" for k in out):
            out = {k: v for k, v in out.items() if k.lower() != "content-length"}
            out["Content-Length"] = str(len(data))
        if environ.get("REQUEST_METHOD") == "HEAD":
            data = b""
        start_response(f"{int(status)} {HTTPStatus(int(status)).phrase}", list(out.items()))
        return [data]


def is_s3_request(environ: dict[str, Any]) -> bool:
    """An S3 REST request: no ``X-Amz-Target``, and signed for S3 or naming a bucket in its path."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return False
    path = str(environ.get("PATH_INFO", ""))
    if path.startswith("/moto-api"):
        return False
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    query = str(environ.get("QUERY_STRING", ""))
    signed_for_s3 = "/s3/aws4_request" in authorization or "%2Fs3%2Faws4_request" in query
    return signed_for_s3 or path.strip("/") != ""


def with_s3(app: WsgiApp, s3: LocalS3) -> WsgiApp:
    """``app`` with S3 REST requests (see ``is_s3_request``) sent to ``s3``."""

    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_s3_request(environ):
            return s3.app(environ, start_response)
        return app(environ, start_response)

    return routed

"""Raw HTTP with bad input: every answer is an AWS-shaped JSON error, never a 500 page or a traceback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

TARGET = "AmazonDMSv20160101."


def _post(local_dms: Any, body: bytes, target: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = TARGET + target
    request = urllib.request.Request(local_dms.endpoint_url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    ("target", "body", "code", "message"),
    [
        ("DescribeEndpoints", b"{not json", "SerializationException", "not JSON"),
        ("DescribeEndpoints", b"[1, 2]", "SerializationException", "JSON object"),
        ("DescribeEndpoints", b'{"Filters": "x"}', "SerializationException", "Filters: expected a list"),
        (
            "DescribeEndpoints",
            b'{"MaxRecords": "x"}',
            "SerializationException",
            "MaxRecords: expected an integer",
        ),
        (
            "DescribeEndpoints",
            b'{"MaxRecords": 1000}',
            "InvalidParameterValueException",
            "between 20 and 100",
        ),
        ("DescribeEndpoints", b'{"Marker": "zz"}', "InvalidParameterValueException", "Marker"),
        (
            "CreateEndpoint",
            b'{"EndpointIdentifier": "a", "EndpointType": "source", "EngineName": "postgres", "Port": "x"}',
            "SerializationException",
            "Port: expected an integer",
        ),
        ("CreateEndpoint", b"{}", "InvalidParameterValueException", "EndpointIdentifier is required"),
        (
            "ReloadTables",
            b'{"ReplicationTaskArn": "arn:aws:dms:us-east-1:1:task:X", "TablesToReload": [5]}',
            "SerializationException",
            "expected an object",
        ),
        (
            "ReloadTables",
            b'{"ReplicationTaskArn": "arn:aws:dms:us-east-1:1:task:X"}',
            "ResourceNotFoundFault",
            "X",
        ),
        ("AddTagsToResource", b'{"ResourceArn": "nope", "Tags": []}', "ResourceNotFoundFault", "nope"),
        ("DescribeCertificates", b"{}", "UnknownOperationException", "DescribeCertificates"),
        ("NoSuchThing", b"{}", "UnknownOperationException", "NoSuchThing"),
        (None, b"{}", "UnknownOperationException", "X-Amz-Target"),
    ],
)
def test_bad_requests_get_aws_errors(
    local_dms: Any, target: str | None, body: bytes, code: str, message: str
) -> None:
    status, answer = _post(local_dms, body, target)
    assert status == 400
    assert answer["__type"] == code
    assert message in answer["message"]
    assert "Traceback" not in answer["message"]

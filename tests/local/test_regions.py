"""Regions: each SigV4 region has its own resources, with ARNs in that region."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from airflow_neon_dms.local.api_shapes import check_responses
from airflow_neon_dms.local.regions import region_from_authorization
from tests.local.support import new_dms, unique


def _client(endpoint_url: str, region: str) -> Any:
    return check_responses(
        boto3.client(
            "dms",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    )


def test_each_region_has_its_own_resources_and_arns(local_dms: Any) -> None:
    frankfurt = new_dms(_client(local_dms.endpoint_url, "eu-central-1"))
    virginia = new_dms(_client(local_dms.endpoint_url, "us-east-1"))
    assert frankfurt.instance_arn.startswith("arn:aws:dms:eu-central-1:123456789012:rep:")
    assert virginia.instance_arn.startswith("arn:aws:dms:us-east-1:123456789012:rep:")

    endpoint = frankfurt.endpoint("target")
    assert endpoint.startswith("arn:aws:dms:eu-central-1:123456789012:endpoint:")
    seen_in_frankfurt = [e["EndpointArn"] for e in frankfurt.client.describe_endpoints()["Endpoints"]]
    seen_in_virginia = [e["EndpointArn"] for e in virginia.client.describe_endpoints()["Endpoints"]]
    assert endpoint in seen_in_frankfurt
    assert endpoint not in seen_in_virginia
    frankfurt_instances = frankfurt.client.describe_replication_instances()["ReplicationInstances"]
    assert {i["ReplicationInstanceArn"] for i in frankfurt_instances} == {frankfurt.instance_arn}
    assert frankfurt_instances[0]["AvailabilityZone"] == "eu-central-1a"

    with pytest.raises(ClientError) as err:  # another region's ARN is not found
        virginia.client.delete_endpoint(EndpointArn=endpoint)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    # the same identifier may be used in two regions, as on AWS
    name = unique("same")
    fields = {"ServerName": "db.example.invalid", "Port": 5432, "Username": "dms"}
    for client in (frankfurt.client, virginia.client):
        client.create_endpoint(
            EndpointIdentifier=name, EndpointType="source", EngineName="postgres", **fields
        )


@pytest.mark.parametrize(
    ("header", "region"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-central-1/dms/aws4_request, "
            "SignedHeaders=host, Signature=abc",
            "eu-central-1",
        ),
        ("AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-southeast-2/dms/aws4_request", "ap-southeast-2"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20260101/not a region/dms/aws4_request", "us-west-2"),
        (None, "us-west-2"),
    ],
)
def test_region_comes_from_the_credential_scope(header: str | None, region: str) -> None:
    assert region_from_authorization(header, "us-west-2") == region

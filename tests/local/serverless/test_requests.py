"""DMS Serverless requests: AWS's capacity units and other checks (nothing half-created), regions,
and moto's reset."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from airflow_neon_dms.local.api_shapes import check_responses
from airflow_neon_dms.local.replication_models import CAPACITY_UNITS
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from tests.local.serverless.support import create_config, replication, wait_for
from tests.local.support import INCLUDE_ALL_PUBLIC, Dms, unique


def _refused(dms: Dms, **overrides: Any) -> tuple[str, str]:
    """Create a config with ``overrides``; return the error, after checking nothing was created."""
    identifier = unique("refused")
    request: dict[str, Any] = {
        "ReplicationConfigIdentifier": identifier,
        "SourceEndpointArn": dms.endpoint("source"),
        "TargetEndpointArn": dms.endpoint("target"),
        "ComputeConfig": {"MaxCapacityUnits": 2},
        "ReplicationType": "full-load",
        "TableMappings": json.dumps(INCLUDE_ALL_PUBLIC),
        **overrides,
    }
    with pytest.raises(ClientError) as raised:
        dms.client.create_replication_config(**request)
    configs = dms.client.describe_replication_configs()["ReplicationConfigs"]
    assert identifier not in {c["ReplicationConfigIdentifier"] for c in configs}
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("compute", "code", "words"),
    [
        (
            {"MaxCapacityUnits": 3},
            "InvalidParameterValueException",
            "1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384",
        ),
        ({"MaxCapacityUnits": 512}, "InvalidParameterValueException", "MaxCapacityUnits 512"),
        (
            {"MinCapacityUnits": 0, "MaxCapacityUnits": 4},
            "InvalidParameterValueException",
            "MinCapacityUnits 0",
        ),
        ({"MinCapacityUnits": 8, "MaxCapacityUnits": 4}, "InvalidParameterValueException", "greater than"),
        ({"MinCapacityUnits": 2}, "InvalidParameterValueException", "MaxCapacityUnits is required"),
        (
            {"MaxCapacityUnits": 4, "MultiAZ": True, "AvailabilityZone": "us-east-1a"},
            "InvalidParameterCombinationException",
            "MultiAZ",
        ),
    ],
)
def test_capacity_units_outside_aws_values_are_refused(
    dms: Dms, compute: dict[str, Any], code: str, words: str
) -> None:
    answered, message = _refused(dms, ComputeConfig=compute)
    assert answered == code and words in message


def test_every_allowed_capacity_unit_is_accepted(dms: Dms) -> None:
    source, target = dms.endpoint("source"), dms.endpoint("target")
    for units in CAPACITY_UNITS:
        arn = create_config(
            dms.client, source, target, compute={"MinCapacityUnits": 1, "MaxCapacityUnits": units}
        )
        answer = dms.client.describe_replication_configs(
            Filters=[{"Name": "replication-config-arn", "Values": [arn]}]
        )
        assert answer["ReplicationConfigs"][0]["ComputeConfig"]["MaxCapacityUnits"] == units
        dms.client.delete_replication_config(ReplicationConfigArn=arn)


def test_other_bad_requests_name_the_fix(dms: Dms) -> None:
    source = dms.endpoint("source")
    assert "use one of full-load, cdc, full-load-and-cdc" in _refused(dms, ReplicationType="full")[1]
    assert "must be of type SOURCE" in _refused(dms, SourceEndpointArn=dms.endpoint("target"))[1]
    assert "must be of type TARGET" in _refused(dms, TargetEndpointArn=source)[1]
    assert _refused(dms, TableMappings=json.dumps({"rules": [{"rule-type": "x"}]}))[0] == (
        "InvalidParameterValueException"
    )
    assert "Invalid task settings JSON" in _refused(dms, ReplicationSettings="{not json")[1]
    assert "SupplementalSettings" in _refused(dms, SupplementalSettings="[1]")[1]
    assert _refused(dms, ComputeConfig={"MaxCapacityUnits": 2, "ReplicationSubnetGroupId": "nope"})[0] == (
        "ResourceNotFoundFault"
    )
    arn = create_config(dms.client, source, dms.endpoint("target"))
    with pytest.raises(ClientError, match="Give either CdcStartTime or CdcStartPosition"):
        dms.client.start_replication(
            ReplicationConfigArn=arn,
            StartReplicationType="start-replication",
            CdcStartTime=1700000000,
            CdcStartPosition="checkpoint:V1#1",
        )
    with pytest.raises(ClientError, match="PremigrationAssessmentSettings is not valid JSON"):
        dms.client.start_replication(
            ReplicationConfigArn=arn,
            StartReplicationType="start-replication",
            PremigrationAssessmentSettings="{",
        )
    assert replication(dms.client, arn)["Status"] == "created"  # a refused start leaves it as it was
    with pytest.raises(ClientError) as unknown:
        dms.client.describe_replication_configs(Filters=[{"Name": "migration-type", "Values": ["full-load"]}])
    assert unknown.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as duplicate:
        identifier = dms.client.describe_replication_configs(
            Filters=[{"Name": "replication-config-arn", "Values": [arn]}]
        )["ReplicationConfigs"][0]["ReplicationConfigIdentifier"]
        dms.client.create_replication_config(
            ReplicationConfigIdentifier=identifier,
            SourceEndpointArn=source,
            TargetEndpointArn=dms.endpoint("target"),
            ComputeConfig={"MaxCapacityUnits": 2},
            ReplicationType="cdc",
            TableMappings=json.dumps(INCLUDE_ALL_PUBLIC),
        )
    assert duplicate.value.response["Error"]["Code"] == "ResourceAlreadyExistsFault"


def test_modify_before_the_first_start_changes_the_config(dms: Dms) -> None:
    arn = create_config(dms.client, dms.endpoint("source"), dms.endpoint("target"))
    with pytest.raises(ClientError, match="greater than"):  # merged with the stored MaxCapacityUnits
        dms.client.modify_replication_config(ReplicationConfigArn=arn, ComputeConfig={"MinCapacityUnits": 4})
    new_id = unique("renamed")
    answer = dms.client.modify_replication_config(
        ReplicationConfigArn=arn,
        ReplicationConfigIdentifier=new_id,
        ReplicationType="full-load-and-cdc",
        ComputeConfig={"MinCapacityUnits": 2},
        ReplicationSettings=json.dumps({"ValidationSettings": {"EnableValidation": True}}),
    )["ReplicationConfig"]
    assert answer["ReplicationConfigIdentifier"] == new_id
    assert answer["ReplicationType"] == "full-load-and-cdc"
    assert answer["ComputeConfig"] == {"MinCapacityUnits": 2, "MaxCapacityUnits": 2}  # merged
    assert "ReplicationConfigUpdateTime" in answer
    assert json.loads(answer["ReplicationSettings"])["ValidationSettings"]["EnableValidation"] is True
    found = dms.client.describe_replication_configs(
        Filters=[{"Name": "replication-config-id", "Values": [new_id]}]
    )["ReplicationConfigs"]
    assert [c["ReplicationConfigArn"] for c in found] == [arn]
    assert found[0]["ComputeConfig"]["MinCapacityUnits"] == 2  # the refused change left it as it was


@pytest.fixture(scope="module")
def modifying_dms() -> Iterator[LocalDms]:
    """A modified config's replication is ``modifying`` for a second; nothing else is timed."""
    with LocalDms(port=0, timing=dataclasses.replace(INSTANT, modifying_seconds=1.0)) as running:
        yield running


def test_a_modified_config_is_modifying_and_cannot_start_until_it_is_created_again(
    modifying_dms: LocalDms, make_dms: Callable[[str], Dms]
) -> None:
    dms = make_dms(modifying_dms.endpoint_url)
    arn = create_config(dms.client, dms.endpoint("source"), dms.endpoint("target"))
    dms.client.modify_replication_config(ReplicationConfigArn=arn, ComputeConfig={"MaxCapacityUnits": 4})
    assert replication(dms.client, arn)["Status"] == "modifying"
    with pytest.raises(ClientError) as refused:
        dms.client.start_replication(ReplicationConfigArn=arn, StartReplicationType="start-replication")
    assert refused.value.response["Error"]["Code"] == "InvalidResourceStateFault"
    assert "is in MODIFYING state and cannot start" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="can be modified only"):  # not again while modifying
        dms.client.modify_replication_config(ReplicationConfigArn=arn, ReplicationType="cdc")
    wait_for(dms.client, arn, lambda r: r["Status"] == "created", "created again")
    assert (
        dms.client.describe_replication_configs(
            Filters=[{"Name": "replication-config-arn", "Values": [arn]}]
        )["ReplicationConfigs"][0]["ComputeConfig"]["MaxCapacityUnits"]
        == 4
    )


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


def test_replication_configs_belong_to_their_region(local_dms: Any, dms: Dms) -> None:
    arn = create_config(dms.client, dms.endpoint("source"), dms.endpoint("target"))
    assert ":us-east-1:" in arn
    frankfurt = _client(local_dms.endpoint_url, "eu-central-1")
    assert arn not in {
        c["ReplicationConfigArn"] for c in frankfurt.describe_replication_configs()["ReplicationConfigs"]
    }
    with pytest.raises(ClientError) as other_region:
        frankfurt.describe_replications(Filters=[{"Name": "replication-config-arn", "Values": [arn]}])
    assert other_region.value.response["Error"]["Code"] == "ResourceNotFoundFault"
    config = replication(dms.client, arn)
    with pytest.raises(ClientError) as endpoints:  # its endpoints are us-east-1's too
        create_config(frankfurt, config["SourceEndpointArn"], config["TargetEndpointArn"])
    assert endpoints.value.response["Error"]["Code"] == "ResourceNotFoundFault"


@pytest.fixture
def own_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=INSTANT) as running:
        yield running


def test_moto_reset_forgets_replication_configs_and_replications(
    own_dms: LocalDms, make_dms: Callable[[str], Dms]
) -> None:
    dms = make_dms(own_dms.endpoint_url)
    arn = create_config(dms.client, dms.endpoint("source"), dms.endpoint("target"))
    dms.client.add_tags_to_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert len(dms.client.describe_replications()["Replications"]) == 1
    assert requests.post(f"{own_dms.endpoint_url}/moto-api/reset", timeout=60).status_code == 200
    assert dms.client.describe_replication_configs()["ReplicationConfigs"] == []
    assert dms.client.describe_replications()["Replications"] == []
    with pytest.raises(ClientError) as gone:
        dms.client.list_tags_for_resource(ResourceArn=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundFault"

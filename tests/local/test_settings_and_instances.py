"""Task settings merged into DMS's full default document; instances keep their security groups,
subnet groups and modifications (ModifyReplicationInstance)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.support import Dms, unique

SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"]


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_given_settings_are_merged_into_the_full_default_document(dms: Dms) -> None:
    given = {
        "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"},
        "Logging": {
            "EnableLogging": True,
            "LogComponents": [{"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_DETAILED_DEBUG"}],
        },
    }
    task = dms.task(dms.endpoint("source"), dms.endpoint("target"), settings=given)
    settings = json.loads(dms.describe_task(task)["ReplicationTaskSettings"])
    for section in (
        "TargetMetadata", "FullLoadSettings", "Logging", "ControlTablesSettings", "StreamBufferSettings",
        "ChangeProcessingTuning", "ChangeProcessingDdlHandlingPolicy", "ErrorBehavior", "ValidationSettings",
    ):  # fmt: skip
        assert isinstance(settings[section], dict), section
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
    assert settings["FullLoadSettings"]["MaxFullLoadSubTasks"] == 8  # a default next to a given value
    assert settings["TargetMetadata"]["LobMaxSize"] == 32
    assert settings["ErrorBehavior"]["TableErrorPolicy"] == "SUSPEND_TABLE"
    severities = {c["Id"]: c["Severity"] for c in settings["Logging"]["LogComponents"]}
    assert severities["TARGET_LOAD"] == "LOGGER_SEVERITY_DETAILED_DEBUG"
    assert severities["SOURCE_UNLOAD"] == "LOGGER_SEVERITY_DEFAULT"
    assert len(severities) == len(settings["Logging"]["LogComponents"]) >= 15
    assert settings["Logging"]["EnableLogging"] is True
    assert settings["ValidationSettings"]["EnableValidation"] is False

    # ModifyReplicationTask merges into the task's current document, not into the defaults
    dms.client.modify_replication_task(
        ReplicationTaskArn=task,
        ReplicationTaskSettings=json.dumps({"ValidationSettings": {"EnableValidation": True}}),
    )
    modified = json.loads(dms.describe_task(task)["ReplicationTaskSettings"])
    assert modified["ValidationSettings"]["EnableValidation"] is True
    assert modified["ValidationSettings"]["ThreadCount"] == 5
    assert modified["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
    assert modified["Logging"]["EnableLogging"] is True


def test_instance_keeps_its_security_groups_and_subnet_group(dms: Dms) -> None:
    group = unique("subnets")
    created_group = dms.client.create_replication_subnet_group(
        ReplicationSubnetGroupIdentifier=group.upper(),
        ReplicationSubnetGroupDescription="two private subnets",
        SubnetIds=SUBNETS,
    )["ReplicationSubnetGroup"]
    assert created_group["ReplicationSubnetGroupIdentifier"] == group  # stored lowercase
    assert [s["SubnetIdentifier"] for s in created_group["Subnets"]] == SUBNETS
    assert len({s["SubnetAvailabilityZone"]["Name"] for s in created_group["Subnets"]}) == 2
    instance = dms.client.create_replication_instance(
        ReplicationInstanceIdentifier=unique("ri"),
        ReplicationInstanceClass="dms.t3.medium",
        VpcSecurityGroupIds=["sg-0123456789abcdef0", "sg-0fedcba9876543210"],
        ReplicationSubnetGroupIdentifier=group,
    )["ReplicationInstance"]
    expected = [
        {"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"},
        {"VpcSecurityGroupId": "sg-0fedcba9876543210", "Status": "active"},
    ]
    assert instance["VpcSecurityGroups"] == expected
    described = dms.client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [instance["ReplicationInstanceArn"]]}]
    )["ReplicationInstances"][0]
    assert described["VpcSecurityGroups"] == expected
    assert described["ReplicationSubnetGroup"]["ReplicationSubnetGroupIdentifier"] == group

    groups = dms.client.describe_replication_subnet_groups(
        Filters=[{"Name": "replication-subnet-group-id", "Values": [group]}]
    )["ReplicationSubnetGroups"]
    assert [g["ReplicationSubnetGroupDescription"] for g in groups] == ["two private subnets"]
    with pytest.raises(ClientError) as err:  # in use by the instance
        dms.client.delete_replication_subnet_group(ReplicationSubnetGroupIdentifier=group)
    assert _code(err) == "InvalidResourceStateFault"
    with pytest.raises(ClientError) as err:
        dms.client.create_replication_subnet_group(
            ReplicationSubnetGroupIdentifier=group, ReplicationSubnetGroupDescription="d", SubnetIds=SUBNETS
        )
    assert _code(err) == "ResourceAlreadyExistsFault"
    dms.client.delete_replication_instance(ReplicationInstanceArn=instance["ReplicationInstanceArn"])
    dms.client.delete_replication_subnet_group(ReplicationSubnetGroupIdentifier=group)
    with pytest.raises(ClientError) as err:
        dms.client.describe_replication_subnet_groups(
            Filters=[{"Name": "replication-subnet-group-id", "Values": [group]}]
        )
    assert _code(err) == "ResourceNotFoundFault"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"SubnetIds": SUBNETS[:1]}, "ReplicationSubnetGroupDoesNotCoverEnoughAZs"),
        ({"SubnetIds": ["sn-1", SUBNETS[0]]}, "InvalidSubnet"),
        ({"ReplicationSubnetGroupIdentifier": "default"}, "InvalidParameterValueException"),
        ({"ReplicationSubnetGroupDescription": ""}, "InvalidParameterValueException"),
    ],
)
def test_bad_subnet_groups_are_refused(dms: Dms, fields: dict[str, Any], code: str) -> None:
    params = {
        "ReplicationSubnetGroupIdentifier": unique("subnets"),
        "ReplicationSubnetGroupDescription": "d",
        "SubnetIds": SUBNETS,
        **fields,
    }
    with pytest.raises(ClientError) as err:
        dms.client.create_replication_subnet_group(**params)
    assert _code(err) == code


def test_modify_instance_now_or_in_the_maintenance_window(dms: Dms) -> None:
    arn = dms.instance_arn
    later = dms.client.modify_replication_instance(
        ReplicationInstanceArn=arn, ReplicationInstanceClass="dms.r5.large", AllocatedStorage=100
    )["ReplicationInstance"]
    assert later["ReplicationInstanceClass"] == "dms.t3.medium"
    assert later["PendingModifiedValues"] == {
        "ReplicationInstanceClass": "dms.r5.large",
        "AllocatedStorage": 100,
    }
    new_id = unique("renamed")
    now = dms.client.modify_replication_instance(
        ReplicationInstanceArn=arn,
        ReplicationInstanceClass="dms.c5.large",
        ApplyImmediately=True,
        ReplicationInstanceIdentifier=new_id,
        VpcSecurityGroupIds=["sg-0123456789abcdef0"],
    )["ReplicationInstance"]
    assert now["ReplicationInstanceClass"] == "dms.c5.large"
    assert now["PendingModifiedValues"] == {"AllocatedStorage": 100}
    assert now["ReplicationInstanceIdentifier"] == new_id
    assert now["VpcSecurityGroups"] == [{"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}]
    with pytest.raises(ClientError) as err:
        dms.client.modify_replication_instance(
            ReplicationInstanceArn=arn, AllocatedStorage=1, ApplyImmediately=True
        )
    assert _code(err) == "InvalidParameterValueException"


def test_a_new_major_engine_version_needs_allow_major_version_upgrade(dms: Dms) -> None:
    arn = dms.instance_arn
    current = dms.client.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [arn]}]
    )["ReplicationInstances"][0]["EngineVersion"]
    major = int(current.split(".")[0])
    for allow in ({}, {"AllowMajorVersionUpgrade": False}):
        with pytest.raises(ClientError) as err:
            dms.client.modify_replication_instance(
                ReplicationInstanceArn=arn, EngineVersion=f"{major + 1}.0.0", **allow
            )
        assert _code(err) == "InvalidParameterCombinationException"
        assert "AllowMajorVersionUpgrade" in err.value.response["Error"]["Message"]
    minor = dms.client.modify_replication_instance(ReplicationInstanceArn=arn, EngineVersion=f"{major}.99.0")
    assert minor["ReplicationInstance"]["PendingModifiedValues"] == {"EngineVersion": f"{major}.99.0"}
    upgraded = dms.client.modify_replication_instance(
        ReplicationInstanceArn=arn, EngineVersion=f"{major + 1}.0.0", AllowMajorVersionUpgrade=True
    )
    assert upgraded["ReplicationInstance"]["PendingModifiedValues"] == {"EngineVersion": f"{major + 1}.0.0"}

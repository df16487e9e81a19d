"""Console links: region-aware URLs, persisted through XCom."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_neon_dms.links.dms import (
    NeonDmsEndpointLink,
    NeonDmsTableStatisticsLink,
    NeonDmsTaskLink,
    NeonDmsTaskLogsLink,
    persist_task_links,
    task_log_location,
)
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator

TASK_ARN = "arn:aws-cn:dms:cn-north-1:123456789012:task:ABCDEF123"


def test_endpoint_and_task_links_follow_the_region() -> None:
    url = NeonDmsEndpointLink().format_link(
        region_name="eu-west-1", aws_domain="aws.amazon.com", endpoint_id="neon-target"
    )
    assert url == "https://console.aws.amazon.com/dms/v2/home?region=eu-west-1#endpointDetails/neon-target"
    url = NeonDmsTaskLink().format_link(region_name="cn-north-1", aws_domain="amazonaws.cn", task_id="orders")
    assert url == "https://console.amazonaws.cn/dms/v2/home?region=cn-north-1#taskDetails/orders"
    url = NeonDmsTableStatisticsLink().format_link(
        region_name="us-east-2", aws_domain="aws.amazon.com", task_id="orders"
    )
    assert url.endswith("region=us-east-2#taskDetails/orders?tab=table-statistics")


def test_logs_link_names_the_dms_log_group_and_stream() -> None:
    location = task_log_location(TASK_ARN, "my-instance")
    assert location == {"awslogs_group": "dms-tasks-my-instance", "awslogs_stream_name": "dms-task-ABCDEF123"}
    url = NeonDmsTaskLogsLink().format_link(
        region_name="cn-north-1", aws_domain="amazonaws.cn", awslogs_region="cn-north-1", **location
    )
    assert url == (
        "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#logsV2:log-groups/log-group/"
        "dms-tasks-my-instance/log-events/dms-task-ABCDEF123"
    )


def test_missing_fields_give_no_link() -> None:
    assert NeonDmsTaskLink().format_link(region_name="us-east-1", aws_domain="aws.amazon.com") == ""


def test_persist_writes_every_task_link(context_factory: Callable[..., dict[str, Any]]) -> None:
    context = context_factory()
    op = NeonDmsStartTaskOperator(task_id="start", replication_task_arn=TASK_ARN)
    task = {"ReplicationTaskIdentifier": "orders", "ReplicationTaskArn": TASK_ARN}
    persist_task_links(
        context, op, region_name="cn-north-1", partition="aws-cn", task=task, instance_id="ri-1"
    )
    xcom = context["ti"].xcom
    assert xcom["neon_dms_task"] == {
        "region_name": "cn-north-1",
        "aws_domain": "amazonaws.cn",
        "task_id": "orders",
    }
    assert xcom["neon_dms_table_statistics"]["task_id"] == "orders"
    assert xcom["neon_dms_task_logs"]["awslogs_group"] == "dms-tasks-ri-1"
    assert {type(link) for link in op.operator_extra_links} == {
        NeonDmsTaskLink,
        NeonDmsTableStatisticsLink,
        NeonDmsTaskLogsLink,
    }

"""Region-aware AWS console links for DMS endpoints, tasks, table statistics and task logs."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink
from airflow.providers.amazon.aws.links.logs import CloudWatchEventsLink

DMS_CONSOLE = BASE_AWS_CONSOLE_LINK + "/dms/v2/home?region={region_name}"


class NeonDmsEndpointLink(BaseAwsLink):
    """Link to a DMS endpoint in the AWS console."""

    name = "DMS endpoint"
    key = "neon_dms_endpoint"
    format_str = DMS_CONSOLE + "#endpointDetails/{endpoint_id}"


class NeonDmsTaskLink(BaseAwsLink):
    """Link to a DMS replication task in the AWS console."""

    name = "DMS task"
    key = "neon_dms_task"
    format_str = DMS_CONSOLE + "#taskDetails/{task_id}"


class NeonDmsTableStatisticsLink(BaseAwsLink):
    """Link to a replication task's table statistics tab in the AWS console."""

    name = "DMS table statistics"
    key = "neon_dms_table_statistics"
    format_str = DMS_CONSOLE + "#taskDetails/{task_id}?tab=table-statistics"


class NeonDmsTaskLogsLink(CloudWatchEventsLink):
    """Link to a replication task's CloudWatch log stream (``dms-tasks-<instance>``/``dms-task-<id>``)."""

    name = "DMS task logs"
    key = "neon_dms_task_logs"


def task_log_location(task_arn: str, replication_instance_id: str) -> dict[str, str]:
    """CloudWatch log group and stream DMS writes a task's log to."""
    return {
        "awslogs_group": f"dms-tasks-{replication_instance_id}",
        "awslogs_stream_name": f"dms-task-{task_arn.rsplit(':', 1)[-1]}",
    }


def persist_task_links(
    context: Any,
    operator: Any,
    *,
    region_name: str,
    partition: str,
    task: dict[str, Any],
    instance_id: str | None,
) -> None:
    """Store the task, table statistics and (when the instance is known) log links of ``task``."""
    common = {
        "context": context,
        "operator": operator,
        "region_name": region_name,
        "aws_partition": partition,
    }
    task_id = str(task.get("ReplicationTaskIdentifier", ""))
    NeonDmsTaskLink.persist(**common, task_id=task_id)
    NeonDmsTableStatisticsLink.persist(**common, task_id=task_id)
    if instance_id:
        NeonDmsTaskLogsLink.persist(
            **common,
            awslogs_region=region_name,
            **task_log_location(str(task.get("ReplicationTaskArn", "")), instance_id),
        )


OPERATOR_LINKS_FOR_TASK = (NeonDmsTaskLink(), NeonDmsTableStatisticsLink(), NeonDmsTaskLogsLink())

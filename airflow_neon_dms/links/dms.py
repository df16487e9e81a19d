"""Region-aware AWS console links for DMS endpoints, tasks, table statistics and task logs."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink
from airflow.providers.amazon.aws.links.logs import CloudWatchEventsLink

DMS_CONSOLE = BASE_AWS_CONSOLE_LINK + "/dms/v2/home?region={region_name}"

log = logging.getLogger(__name__)
_MARK = "__neon_dms_empty_links_first__"


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


def store_empty_links(context: Any, operator: Any) -> None:
    """Store an empty value under each extra link's XCom key of ``operator``.

    When a task ends, Airflow's task runner calls every extra link's ``get_link``, which reads the
    link's XCom; a key never stored answers 404, logged as "XCom not found" at error level (a
    task that failed or was skipped before it knew the DMS resource). With an empty value stored
    first, ``get_link`` finds it and returns "" (the amazon provider's BaseAwsLink does so for an
    empty value), and the real value overwrites it once the step knows the resource.
    """
    if not getattr(operator, "do_xcom_push", True):
        return
    ti = context["ti"]
    for link in getattr(operator, "operator_extra_links", ()) or ():
        key = getattr(link, "key", None)
        if key:
            try:
                ti.xcom_push(key=key, value={})
            except Exception as err:  # a link is never worth failing the task for
                log.debug("Could not store an empty %s link: %s", key, err)


def _empty_links_first(execute: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(execute)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Once per task process (a subclass's execute may call its parent's); a resumed
        # deferral runs execute_* instead, so the links stored before it stay.
        if not getattr(self, "_neon_dms_links_reset", False):
            self._neon_dms_links_reset = True
            context = args[0] if args else kwargs.get("context")
            if context is not None:
                store_empty_links(context, self)
        return execute(self, *args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


class EmptyLinksFirstMixin:
    """Makes a subclass's ``execute`` store empty extra-link values first (:func:`store_empty_links`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        execute = vars(cls).get("execute")
        if callable(execute) and not getattr(execute, _MARK, False):
            cls.execute = _empty_links_first(execute)  # type: ignore[attr-defined]

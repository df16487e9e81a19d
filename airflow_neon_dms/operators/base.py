"""Shared plumbing of the DMS operators: AWS connection arguments, the hook, the deferral switch."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf
from airflow.sdk import BaseOperator

from airflow_neon_dms.aws_arguments import AwsArguments
from airflow_neon_dms.exceptions import NeonConfigError
from airflow_neon_dms.links.dms import EmptyLinksFirstMixin
from airflow_neon_dms.operators.fail_fast import FailFastMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_neon_dms.dms.progress import ProgressLog
    from airflow_neon_dms.hooks.dms import NeonDmsHook

AWS_TEMPLATE_FIELDS: tuple[str, ...] = ("aws_conn_id", "region_name", "verify")


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` from the Airflow configuration (False when unset)."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def dag_run_started(context: Mapping[str, Any]) -> datetime | None:
    """When the current DAG run started (aware UTC); a task started after it belongs to this run."""
    dag_run = context.get("dag_run")
    started = getattr(dag_run, "start_date", None)
    if not isinstance(started, datetime):
        return None
    return started if started.tzinfo else started.replace(tzinfo=timezone.utc)


class AwsConnectionMixin(AwsArguments):
    """
    The amazon provider's AWS arguments, shared by the DMS operators and sensors, and the hook
    built from them. Its ``__init__`` takes them and passes the rest on to the operator's.

    :param aws_conn_id: Airflow AWS connection (its extra ``endpoint_url`` points at a local DMS).
    :param region_name: AWS region; the connection's or boto3's default when None.
    :param verify: TLS verification for the AWS API (bool or a CA bundle path).
    :param botocore_config: botocore ``Config`` keyword arguments.
    """

    def __init__(
        self,
        *,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    @cached_property
    def hook(self) -> NeonDmsHook:
        # boto3 and the amazon hook load when a task runs, not when the DAG file is parsed.
        from airflow_neon_dms.hooks.dms import NeonDmsHook

        return NeonDmsHook(**self.aws_kwargs)


class NeonDmsBaseOperator(EmptyLinksFirstMixin, FailFastMixin, AwsConnectionMixin, BaseOperator):
    """
    Base of the DMS operators: holds the amazon provider's AWS arguments and builds the hook
    (see :class:`AwsConnectionMixin` for the arguments). Errors no retry can fix fail the task at
    once (:mod:`~airflow_neon_dms.operators.fail_fast`); ``execute`` stores empty link values first.
    """

    template_fields: Sequence[str] = AWS_TEMPLATE_FIELDS

    def describe_task_with_links(
        self, context: Context, task_arn: str, *, with_settings: bool = False
    ) -> dict[str, Any]:
        """Describe the replication task and store its console links on this task instance."""
        from airflow_neon_dms.links.dms import persist_task_links

        task = self.hook.describe_task(task_arn, with_settings=with_settings)
        persist_task_links(
            context,
            self,
            region_name=self.hook.conn_region_name,
            partition=self.hook.conn_partition,
            task=task,
            instance_id=self.hook.replication_instance_id(str(task.get("ReplicationInstanceArn", ""))),
        )
        return task

    def log_progress(self, progress: ProgressLog, lines: Mapping[str, str]) -> None:
        """Log those of ``lines`` that changed since the last poll of this wait."""
        for line in progress.changes(lines):
            self.log.info("%s", line)

    def log_task_progress(self, progress: ProgressLog, task: Mapping[str, Any], state: str) -> None:
        """Log the wait's state and the task's full-load progress when they changed since the last
        poll. Table statistics only add the row count: when DMS cannot give them, the line goes
        without rows (it must never end the wait)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from airflow_neon_dms.dms.progress import task_progress_lines

        lines = {"state": state}
        if task.get("ReplicationTaskStats"):
            tables = None
            try:
                tables = self.hook.table_statistics(str(task.get("ReplicationTaskArn")))
            except (ClientError, BotoCoreError) as err:
                self.log.debug("No table statistics yet: %s", err)
            lines.update(task_progress_lines(task, tables))
        self.log_progress(progress, lines)


class WaitMixin:
    """Arguments every wait takes, and the rule that turns them into a deadline."""

    def _init_wait(self, *, deferrable: bool | None, waiter_delay: float, max_wait: float) -> None:
        if waiter_delay <= 0 or max_wait <= 0:
            raise NeonConfigError(
                f"waiter_delay ({waiter_delay}) and max_wait ({max_wait}) must be positive "
                "numbers of seconds."
            )
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.waiter_delay = waiter_delay
        self.max_wait = max_wait

    def _deadline(self) -> float:
        """Absolute wall-clock deadline (epoch seconds) for a wait starting now."""
        return time.time() + self.max_wait

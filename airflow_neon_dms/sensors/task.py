"""Sensor: wait for a replication task run to finish, judging its StopReason."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context

from airflow_neon_dms.dms.failure_hints import failure_text
from airflow_neon_dms.dms.wait_events import check_event
from airflow_neon_dms.exceptions import DmsResourceError, ReplicationTaskFailedError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK, EmptyLinksFirstMixin
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS, default_deferrable
from airflow_neon_dms.operators.fail_fast import FailFastMixin

if TYPE_CHECKING:
    from airflow_neon_dms.hooks.dms import NeonDmsHook


class NeonDmsTaskCompletedSensor(EmptyLinksFirstMixin, FailFastMixin, BaseSensorOperator):
    """
    Wait until a replication task's run succeeds: ``stopped`` with a non-error stop reason, or (for
    CDC) running with the full load complete. Fails with StopReason and LastFailureMessage on
    ``failed`` or an error stop. Unlike the amazon provider's sensor it can defer, and never
    counts a FATAL_ERROR stop as success.

    :param replication_task_arn: the task to watch.
    :param wait_for_cdc_stop: for a CDC task, wait until it stops.
    :param deferrable: wait in the triggerer.
    :param poke_interval: seconds between polls (also the trigger's delay).
    :param timeout: seconds before the sensor gives up (also the trigger's deadline).
    """

    template_fields: Sequence[str] = (*AWS_TEMPLATE_FIELDS, "replication_task_arn")
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def __init__(
        self,
        *,
        replication_task_arn: str,
        wait_for_cdc_stop: bool = False,
        deferrable: bool | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 30)
        kwargs.setdefault("timeout", 24 * 3600)
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.wait_for_cdc_stop = wait_for_cdc_stop
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    @cached_property
    def hook(self) -> NeonDmsHook:
        # boto3 and the amazon hook load when the sensor runs, not when the DAG file is parsed.
        from airflow_neon_dms.hooks.dms import NeonDmsHook

        return NeonDmsHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            botocore_config=self.botocore_config,
        )

    def poke(self, context: Context) -> bool:
        from airflow_neon_dms.dms.states import Outcome, classify_task

        task = self.hook.describe_task(self.replication_task_arn)
        verdict = classify_task(task, wait_for_cdc_stop=self.wait_for_cdc_stop)
        if verdict.outcome == Outcome.FAILED:
            raise ReplicationTaskFailedError(failure_text(verdict.message, task))
        self.log.info("%s", verdict.message)
        return verdict.outcome == Outcome.SUCCESS

    def execute(self, context: Context) -> None:
        if not self.deferrable:
            super().execute(context)
            return
        if self.poke(context):
            return
        from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger

        self.defer(
            trigger=NeonDmsTaskCompletionTrigger(
                replication_task_arn=self.replication_task_arn,
                wait_for_cdc_stop=self.wait_for_cdc_stop,
                deadline=time.time() + float(self.timeout),
                waiter_delay=float(self.poke_interval),
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        message = check_event(
            event,
            f"Replication task {self.replication_task_arn}",
            failed=lambda failure: ReplicationTaskFailedError(failure_text(failure)),
            timed_out=lambda detail: DmsResourceError(
                f"Replication task {self.replication_task_arn} wait ended (timeout): {detail}"
            ),
        )
        self.log.info("%s", message)

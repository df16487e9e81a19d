"""Sensor: wait for a replication task run to finish, judging its StopReason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from airflow_neon_dms.dms.failure_hints import failure_text
from airflow_neon_dms.dms.wait_events import check_event
from airflow_neon_dms.exceptions import DmsResourceError, ReplicationTaskFailedError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS
from airflow_neon_dms.sensors.base import NeonDmsBaseSensor


class NeonDmsTaskCompletedSensor(NeonDmsBaseSensor):
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.wait_for_cdc_stop = wait_for_cdc_stop

    def poke(self, context: Context) -> bool:
        from airflow_neon_dms.dms.states import Outcome, classify_task

        task = self.hook.describe_task(self.replication_task_arn)
        verdict = classify_task(task, wait_for_cdc_stop=self.wait_for_cdc_stop)
        if verdict.outcome == Outcome.FAILED:
            raise ReplicationTaskFailedError(failure_text(verdict.message, task))
        self.log.info("%s", verdict.message)
        return verdict.outcome == Outcome.SUCCESS

    def execute(self, context: Context) -> None:
        from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger

        self.poke_or_defer(
            context,
            lambda: NeonDmsTaskCompletionTrigger(
                replication_task_arn=self.replication_task_arn,
                wait_for_cdc_stop=self.wait_for_cdc_stop,
                **self.trigger_timing(),
                **self.aws_kwargs,
            ),
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

"""Sensor: a CDC task has loaded every table and applied the changes cached during the load."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from airflow_neon_dms.dms.wait_events import check_event
from airflow_neon_dms.exceptions import DmsResourceError, ReplicationTaskFailedError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS
from airflow_neon_dms.sensors.base import NeonDmsBaseSensor


class NeonDmsFullLoadDoneSensor(NeonDmsBaseSensor):
    """
    Wait until a ``full-load-and-cdc`` task, which keeps running, has finished its full load: the
    task is ``running`` with FullLoadProgressPercent 100 and no table loading, queued or errored,
    and every table (or each of ``tables``) is ``Table completed``, its cached changes applied.
    Fails when the task fails or stops, or a table errors. Returns the task's summary.

    :param replication_task_arn: the CDC task, or a serverless replication config's ARN (its
        replication judged by DescribeReplications and DescribeReplicationTableStatistics).
    :param tables: the tables that must be completed (``[{"schema", "table"}]`` or ``"s.t"``);
        every table the task reports when None.
    :param deferrable: wait in the triggerer.
    :param poke_interval: seconds between polls (also the trigger's delay).
    :param timeout: seconds before the sensor gives up (also the trigger's deadline).
    """

    template_fields: Sequence[str] = (*AWS_TEMPLATE_FIELDS, "replication_task_arn", "tables")
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def __init__(
        self,
        *,
        replication_task_arn: str,
        tables: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.tables = tables

    def _tables(self) -> list[dict[str, str]] | None:
        from airflow_neon_dms.dms.table_names import parse_tables

        return None if self.tables is None else [t.as_dict() for t in parse_tables(self.tables)]

    def poke(self, context: Context) -> bool:
        from airflow_neon_dms.dms.cdc import full_load_done
        from airflow_neon_dms.dms.states import Outcome
        from airflow_neon_dms.dms.table_names import parse_tables

        wanted = parse_tables(self._tables()) if self.tables is not None else None
        task = self.hook.describe_task(self.replication_task_arn)
        verdict = full_load_done(task, self.hook.table_statistics(self.replication_task_arn, wanted), wanted)
        if verdict.outcome == Outcome.FAILED:
            raise ReplicationTaskFailedError(verdict.message)
        self.log.info("%s", verdict.message)
        return verdict.outcome == Outcome.SUCCESS

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.triggers.full_load import NeonDmsFullLoadDoneTrigger

        self.poke_or_defer(
            context,
            lambda: NeonDmsFullLoadDoneTrigger(
                replication_task_arn=self.replication_task_arn,
                tables=self._tables(),
                **self.trigger_timing(),
                **self.aws_kwargs,
            ),
        )
        return self._summary()  # reached when the wait passed in the worker (defer() raises)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        message = check_event(
            event,
            f"Replication task {self.replication_task_arn}",
            wait="full-load wait",
            failed=ReplicationTaskFailedError,
            timed_out=lambda detail: DmsResourceError(
                f"Replication task {self.replication_task_arn} did not finish its full load within "
                f"{float(self.timeout):.0f} s ({detail}). Raise timeout, or check the table statistics."
            ),
        )
        self.log.info("%s", message)
        return self._summary()

    def _summary(self) -> dict[str, Any]:
        from airflow_neon_dms.dms.states import task_summary

        return task_summary(self.hook.describe_task(self.replication_task_arn))

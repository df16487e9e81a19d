"""Wait for DMS validation to settle, report every table, and fail listing the failed ones."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from airflow_neon_dms.dms.wait_events import check_event
from airflow_neon_dms.exceptions import (
    DmsResourceError,
    ReplicationTaskFailedError,
    TableValidationFailedError,
)
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import (
    AWS_TEMPLATE_FIELDS,
    NeonDmsBaseOperator,
    WaitMixin,
    task_or_config_arn,
)

#: XCom key of the failed tables, in the ``[{"schema", "table"}]`` form the reload operator takes.
FAILED_TABLES_KEY = "failed_tables"


class NeonDmsValidationOperator(NeonDmsBaseOperator, WaitMixin):
    """
    Check a replication task's per-table load and validation results.

    Pages through DescribeTableStatistics (500 a call), waits while any table is loading or
    pending validation, logs a table of every table's rows, TableState, ValidationState and failed
    records, and returns the report (``tables``, ``failed_tables``, ``no_primary_key``,
    ``summary``). The failed tables also go to XCom key ``failed_tables``. Fails listing exactly
    the failed tables unless ``fail_on_failed_tables`` is False. Tables DMS could not validate (no
    primary key, validation not enabled) are reported and, with ``fail_on_unchecked``, fail too.

    :param replication_task_arn: the task to check.
    :param replication_config_arn: instead of a task, a DMS Serverless replication config: the
        same rules through DescribeReplicationTableStatistics and ReloadReplicationTables. (A
        config ARN given as ``replication_task_arn`` works too: the ARN's resource type picks the
        DMS calls, so a DAG can pass whichever ARN its run produced.)
    :param fail_on_failed_tables: raise TableValidationFailedError when any table failed.
    :param fail_on_unchecked: also fail when a table could not be validated.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds before the wait gives up.
    """

    template_fields: Sequence[str] = (*AWS_TEMPLATE_FIELDS, "replication_task_arn", "replication_config_arn")
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def __init__(
        self,
        *,
        replication_task_arn: str | None = None,
        replication_config_arn: str | None = None,
        fail_on_failed_tables: bool = True,
        fail_on_unchecked: bool = False,
        deferrable: bool | None = None,
        waiter_delay: float = 60,
        max_wait: float = 12 * 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # One code path for both: the hook picks the DMS calls by the ARN's resource type.
        self.replication_task_arn = task_or_config_arn(replication_task_arn, replication_config_arn)
        self.replication_config_arn = replication_config_arn
        self.fail_on_failed_tables = fail_on_failed_tables
        self.fail_on_unchecked = fail_on_unchecked
        self._init_wait(deferrable=deferrable, waiter_delay=waiter_delay, max_wait=max_wait)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.states import TASK_FAILED
        from airflow_neon_dms.triggers.table_statistics import NeonDmsTableStatisticsTrigger

        task = self.describe_task_with_links(context, self.replication_task_arn)
        if str(task.get("Status")) in TASK_FAILED:
            raise ReplicationTaskFailedError(
                f"Replication task {task.get('ReplicationTaskIdentifier')} is {task.get('Status')}: "
                f"{task.get('LastFailureMessage') or task.get('StopReason')}. Fix the load before validating."
            )
        deadline = self._deadline()
        rows = self.hook.table_statistics(self.replication_task_arn)
        pending = _still_pending(rows)
        if pending and self.deferrable:
            self.defer(
                trigger=NeonDmsTableStatisticsTrigger(
                    replication_task_arn=self.replication_task_arn,
                    deadline=deadline,
                    waiter_delay=self.waiter_delay,
                    **self.aws_kwargs,
                ),
                method_name="execute_complete",
            )
        while pending and time.time() < deadline:
            self.log.info("%d of %d table(s) still loading or validating", len(pending), len(rows))
            time.sleep(self.waiter_delay)
            rows = self.hook.table_statistics(self.replication_task_arn)
            pending = _still_pending(rows)
        if pending:
            raise self._timeout_error(f"{len(pending)} table(s) still pending, e.g. {', '.join(pending[:5])}")
        return self._report(context, rows)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        check_event(
            event,
            f"Table statistics of {self.replication_task_arn}",
            wait="validation wait",
            timed_out=self._timeout_error,
        )
        return self._report(context, self.hook.table_statistics(self.replication_task_arn))

    def _timeout_error(self, detail: str) -> DmsResourceError:
        return DmsResourceError(
            f"Validation of replication task {self.replication_task_arn} did not settle within "
            f"{self.max_wait:.0f} s: {detail}. Raise max_wait, or check the task's CloudWatch log."
        )

    def _report(self, context: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
        from airflow_neon_dms.dms.validation_report import ValidationReport

        report = ValidationReport.from_statistics(rows)
        self.log.info("Validation of %s:\n%s", self.replication_task_arn, report.render())
        result = {"replication_task_arn": self.replication_task_arn, **report.to_xcom()}
        context["ti"].xcom_push(key=FAILED_TABLES_KEY, value=result["failed_tables"])
        if report.unchecked:
            self.log.warning(
                "%d table(s) were not validated by DMS (%s); compare them another way.",
                len(report.unchecked),
                ", ".join(f"{t.ref} ({t.validation_state})" for t in report.unchecked),
            )
        if not rows:
            raise TableValidationFailedError(
                f"Replication task {self.replication_task_arn} reports no tables: its table mappings "
                "selected nothing, or it has not run. Check the selection rules."
            )
        if report.failed and self.fail_on_failed_tables:
            raise TableValidationFailedError(report.failure_message(self.replication_task_arn))
        if report.unchecked and self.fail_on_unchecked:
            raise TableValidationFailedError(
                f"Replication task {self.replication_task_arn}: {len(report.unchecked)} table(s) could not "
                f"be validated: {', '.join(str(t.ref) for t in report.unchecked)}. Add primary keys "
                "or enable validation, or set fail_on_unchecked=False."
            )
        return result


def _still_pending(rows: list[dict[str, Any]]) -> list[str]:
    """Tables still loading or validating; no statistics at all means the task has not begun."""
    from airflow_neon_dms.dms.states import pending_tables

    if not rows:
        return ["no table statistics yet"]
    return [str(t) for t in pending_tables(rows)]

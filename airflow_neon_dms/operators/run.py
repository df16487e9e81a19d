"""Start a replication task (idempotently) and wait until its run succeeds or fails."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_neon_dms.dms.failure_hints import failure_text as with_failure_hints
from airflow_neon_dms.dms.wait_events import check_startable_event
from airflow_neon_dms.exceptions import NeonConfigError
from airflow_neon_dms.lineage import DmsTaskLineageMixin
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import (
    AWS_TEMPLATE_FIELDS,
    NeonDmsBaseOperator,
    dag_run_started,
)
from airflow_neon_dms.operators.run_wait import RunWaitMixin

if TYPE_CHECKING:
    from airflow.triggers.base import BaseTrigger

    from airflow_neon_dms.dms.progress import ProgressLog
    from airflow_neon_dms.dms.states import StartType, TaskOutcome

#: StartReplicationTaskType of a first run (``StartType.START_REPLICATION``).
START_REPLICATION = "start-replication"
#: Without a DAG run start, a run counts as ours when it began after our StartReplicationTask call
#: less this margin for a worker clock ahead of AWS's.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=1)


class NeonDmsStartTaskOperator(DmsTaskLineageMixin, RunWaitMixin, NeonDmsBaseOperator):
    """
    Start a replication task and wait for its run to finish.

    Success: a full-load task ``stopped`` with FULL_LOAD_ONLY_FINISHED (or another non-error stop
    reason); a task with CDC ``running`` with its full load complete. Failure (with StopReason and
    LastFailureMessage): ``failed`` or an error stop reason. A retry never starts a second run: an
    already running task, or one started since this DAG run began, is only waited for.
    Returns the task summary (ARN, status, stop reason, progress, tables loaded and errored).

    :param replication_task_arn: the task to start.
    :param start_type: start-replication, resume-processing or reload-target.
    :param wait_for_completion: False returns right after the start.
    :param wait_for_cdc_stop: for a CDC task, wait until it stops instead of until CDC begins.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds before the wait gives up.
    :param settle_timeout: seconds to wait for a new task to leave ``creating`` before starting
        (deferred to the triggerer when ``deferrable``).
    :param neon_conn_id: Neon connection; only read for OpenLineage, to list the columns of the
        Neon tables in the column-lineage facet (see :mod:`airflow_neon_dms.lineage`).
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_task_arn",
        "start_type",
        "neon_conn_id",
    )
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def __init__(
        self,
        *,
        replication_task_arn: str,
        start_type: StartType | str = START_REPLICATION,
        wait_for_completion: bool = True,
        wait_for_cdc_stop: bool = False,
        deferrable: bool | None = None,
        waiter_delay: float = 30,
        max_wait: float = 24 * 3600,
        settle_timeout: float = 600,
        neon_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.neon_conn_id = neon_conn_id
        self.start_type = start_type.value if isinstance(start_type, Enum) else start_type
        self.wait_for_completion = wait_for_completion
        self.wait_for_cdc_stop = wait_for_cdc_stop
        self.settle_timeout = settle_timeout
        self._init_wait(deferrable=deferrable, waiter_delay=waiter_delay, max_wait=max_wait)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.states import TASK_SETTLING

        start_type = self._start_type()
        task = self.describe_task_with_links(context, self.replication_task_arn)
        if self.deferrable and str(task.get("Status", "")) in TASK_SETTLING:
            self._defer_until_startable(task)
        return self._start_and_wait(context, start_type)

    def _start_type(self) -> StartType:
        from airflow_neon_dms.dms.states import StartType

        try:
            return StartType(self.start_type)
        except ValueError:
            raise NeonConfigError(
                f"start_type {self.start_type!r} is not one of {', '.join(s.value for s in StartType)}."
            ) from None

    def _defer_until_startable(self, task: dict[str, Any]) -> None:
        from airflow_neon_dms.triggers.task_startable import NeonDmsTaskStartableTrigger

        self.log.info(
            "Replication task %s is %s; waiting in the triggerer until it can be started",
            task.get("ReplicationTaskIdentifier", self.replication_task_arn),
            task.get("Status"),
        )
        self.defer(
            trigger=NeonDmsTaskStartableTrigger(
                replication_task_arn=self.replication_task_arn,
                deadline=time.time() + self.settle_timeout,
                waiter_delay=min(self.waiter_delay, 10),
                **self.aws_kwargs,
            ),
            method_name="execute_startable",
        )

    def execute_startable(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the task became startable: start it (unless a run is under way) and wait."""
        start_type = self._start_type()
        check_startable_event(event, self.replication_task_arn, self.settle_timeout)
        return self._start_and_wait(context, start_type)

    def _start_and_wait(self, context: Context, start_type: StartType) -> dict[str, Any]:
        from airflow_neon_dms.dms.states import task_summary

        run_started = dag_run_started(context)
        call_time = datetime.now(timezone.utc) - CLOCK_SKEW_ALLOWANCE
        started, task = self.hook.start_task(
            self.replication_task_arn,
            start_type,
            started_since=run_started,
            settle_timeout=self.settle_timeout,
            settle_delay=min(self.waiter_delay, 10),
        )
        if not self.wait_for_completion:
            return {**task_summary(task), "started": started}
        started_after = _judged_run_start(started, task, run_started, call_time)
        return self.wait_for_run(task, started=started, started_after=started_after)

    # -- what RunWaitMixin asks of a replication task ------------------------------------------

    def run_name(self, run: Mapping[str, Any] | None = None) -> str:
        return str((run or {}).get("ReplicationTaskIdentifier") or self.replication_task_arn)

    def read_run(self) -> dict[str, Any]:
        return self.hook.describe_task(self.replication_task_arn)

    def judge_run(self, run: Mapping[str, Any], started_after: datetime | None) -> TaskOutcome:
        from airflow_neon_dms.dms.states import classify_task

        return classify_task(run, wait_for_cdc_stop=self.wait_for_cdc_stop, started_after=started_after)

    def run_trigger(self, started_after: datetime | None, deadline: float) -> BaseTrigger:
        from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger

        return NeonDmsTaskCompletionTrigger(
            replication_task_arn=self.replication_task_arn,
            wait_for_cdc_stop=self.wait_for_cdc_stop,
            started_after=started_after.timestamp() if started_after else None,
            deadline=deadline,
            waiter_delay=self.waiter_delay,
            **self.aws_kwargs,
        )

    def run_summary(self, run: Mapping[str, Any]) -> dict[str, Any]:
        from airflow_neon_dms.dms.states import task_summary

        return task_summary(run)

    def failure_text(self, message: str, run: Mapping[str, Any]) -> str:
        return with_failure_hints(
            f"{message} Check the task's CloudWatch log (link on this task instance) "
            "and the endpoints' connection tests.",
            run,
        )

    def log_wait(self, progress: ProgressLog, run: Mapping[str, Any], state: str) -> None:
        self.log_task_progress(progress, run, state)


def _judged_run_start(
    started: bool, task: dict[str, Any], run_started: datetime | None, call_time: datetime
) -> datetime | None:
    """The earliest start of the run the wait may judge; a stop left by an earlier run never counts.

    This step started the task: the DAG run's start (else the call's time). It found the task
    already started in this DAG run: the DAG run's start. It found a run under way (``starting``,
    ``running``, ``stopping``): that run is the one, whenever it began (None: no date check).
    """
    from airflow_neon_dms.dms.states import TASK_ACTIVE

    if started:
        return run_started or call_time
    if str(task.get("Status", "")) in TASK_ACTIVE:
        return None
    return run_started

"""Cutover: once the application has stopped writing, wait until the target has caught up, then stop the task.

How no change is lost (docs/operators.md, "Cutover"): the wait counts only CloudWatch datapoints
stamped after the cutover began, and passes when CDCIncomingChanges is 0 and both latencies are
at or under ``max_lag_seconds`` for ``catch_up_seconds``. Every change the application committed
before the cutover began was then captured and applied. Only then is StopReplicationTask sent. A
change committed later (a writer that did not stop) is not lost either: the stopped task keeps its
checkpoint, the final data diff shows the difference, and ``resume-processing`` applies it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import Context

from airflow_neon_dms.dms.lag import DEFAULT_PERIOD
from airflow_neon_dms.dms.wait_events import check_event
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, ReplicationTaskFailedError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS, NeonDmsBaseOperator, WaitMixin
from airflow_neon_dms.sensors.lag import MetricsWindowWait

#: XCom key of the cutover's progress (facts so far and the deadline), which crosses each deferral:
#: ``dag.test()`` resumes a deferred task without the ``defer(kwargs=...)``.
PROGRESS_KEY = "cutover_progress"


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


class NeonDmsCutoverOperator(MetricsWindowWait, NeonDmsBaseOperator, WaitMixin):
    """
    Stop a running CDC task at cutover, after proving the target has caught up.

    Run it once the application has stopped writing to the source (after an approval or
    :class:`~airflow_neon_dms.sensors.lag.NeonDmsQuiescenceSensor`). It records when the cutover
    began and, with ``source_conn_id``, the source's WAL/binary log position; waits until the
    task's CloudWatch metrics, counting only datapoints after that moment, show no incoming changes
    and latency at or under ``max_lag_seconds`` for ``catch_up_seconds``; then stops the task and
    waits for ``stopped``. Returns the cutover facts for the closing report: ``requested_at``,
    ``caught_up_at``, ``stop_requested_at``, ``stopped_at``, ``stop_reason``, the source position
    at the request and after the stop. Run the final data diff and the sequence sync after it.

    :param replication_task_arn: the running CDC task, or a serverless replication config's ARN
        (StopReplication instead of StopReplicationTask).
    :param source_conn_id: the source's Airflow connection, to record its change-stream position.
    :param max_lag_seconds: the latency the target may still show when caught up.
    :param catch_up_seconds: how long the task must show nothing to apply.
    :param replication_instance_identifier: the instance's identifier (read from the task when None).
    :param metric_dimensions: the CloudWatch dimensions to read (see the lag sensors).
    :param period: CloudWatch period in seconds (DMS publishes every 60).
    :param deferrable: wait in the triggerer.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds the whole cutover may take before it fails (the task keeps running).
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_task_arn",
        "source_conn_id",
        "replication_instance_identifier",
        "max_lag_seconds",
        "catch_up_seconds",
    )
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def __init__(
        self,
        *,
        replication_task_arn: str,
        source_conn_id: str | None = None,
        max_lag_seconds: float = 0,
        catch_up_seconds: float = DEFAULT_PERIOD,
        replication_instance_identifier: str | None = None,
        metric_dimensions: list[dict[str, str]] | None = None,
        period: int = DEFAULT_PERIOD,
        deferrable: bool | None = None,
        waiter_delay: float = 30,
        max_wait: float = 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(period) <= 0:
            raise NeonConfigError(f"period ({period}) must be a positive number of seconds (CloudWatch: 60).")
        self.replication_task_arn = replication_task_arn
        self.source_conn_id = source_conn_id
        self.max_lag_seconds = max_lag_seconds
        self.catch_up_seconds = catch_up_seconds
        self.replication_instance_identifier = replication_instance_identifier
        self.metric_dimensions = metric_dimensions
        self.period = int(period)
        self._init_wait(deferrable=deferrable, waiter_delay=waiter_delay, max_wait=max_wait)

    # -- steps ---------------------------------------------------------------------------------

    def _limits(self) -> dict[str, float]:
        from airflow_neon_dms.dms.lag import caught_up_limits

        try:
            if float(self.catch_up_seconds) < 0:
                raise ValueError(f"catch_up_seconds ({self.catch_up_seconds}) must be 0 or more.")
            return caught_up_limits(float(self.max_lag_seconds))
        except ValueError as err:
            raise NeonConfigError(f"Cutover of {self.replication_task_arn}: {err}") from None

    def _source_position(self) -> dict[str, Any] | None:
        if not self.source_conn_id:
            return None
        from airflow_neon_dms.operators.db_endpoints import source_endpoint
        from airflow_neon_dms.source_position import read_source_position

        source = source_endpoint(self.source_conn_id)
        conn = source.open()
        try:
            return read_source_position(conn, source.engine)
        finally:
            conn.close()

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.cdc import cutover_stop, not_replicating
        from airflow_neon_dms.dms.states import Outcome

        limits = self._limits()
        task = self.describe_task_with_links(context, self.replication_task_arn)
        if cutover_stop(task).outcome == Outcome.SUCCESS:
            # A retry after the stop went through: nothing to stop, report what the task says.
            self.log.info("Replication task %s is already stopped; reporting it", self.replication_task_arn)
            return self._facts({"requested_at": None, "caught_up_at": None, "stop_requested_at": None})
        stopped = not_replicating(task)
        if stopped is not None:
            raise ReplicationTaskFailedError(f"Cutover of {self.replication_task_arn}: {stopped}")
        deadline = self._deadline()
        requested_at = time.time()
        facts: dict[str, Any] = {
            "requested_at": _iso(requested_at),
            "source_position_at_request": self._source_position(),
        }
        self.log.info("Cutover of %s began at %s", self.replication_task_arn, facts["requested_at"])
        window = float(self.catch_up_seconds)
        if self.deferrable:
            self._carry(context, facts, deadline)
            self.defer(
                trigger=self.window_trigger(
                    limits, window, deadline=deadline, waiter_delay=self.waiter_delay, not_before=requested_at
                ),
                method_name="execute_stop",
                kwargs={"facts": facts, "deadline": deadline},
            )
        verdict = self.check_window(limits, window, not_before=requested_at)
        while not verdict.satisfied and time.time() < deadline:
            self.log.info("%s", verdict.message)
            time.sleep(self.waiter_delay)
            verdict = self.check_window(limits, window, not_before=requested_at)
        if not verdict.satisfied:
            raise self._timeout_error("catch up", verdict.message)
        return self._stop(context, facts, deadline, verdict.message)

    def _carry(self, context: Context, facts: dict[str, Any], deadline: float) -> None:
        context["ti"].xcom_push(key=PROGRESS_KEY, value={"facts": facts, "deadline": deadline})

    def _carried(
        self, context: Context, facts: dict[str, Any] | None, deadline: float | None
    ) -> tuple[dict[str, Any], float]:
        """The facts and deadline from ``defer(kwargs=...)``, or from XCom when they were dropped."""
        if facts is None or deadline is None:
            saved = context["ti"].xcom_pull(task_ids=self.task_id, key=PROGRESS_KEY) or {}
            facts = facts if facts is not None else dict(saved.get("facts") or {})
            deadline = deadline if deadline is not None else saved.get("deadline")
        return facts, float(deadline if deadline is not None else self._deadline())

    def execute_stop(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        facts: dict[str, Any] | None = None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        message = check_event(
            event,
            f"Cutover of {self.replication_task_arn}",
            wait="catch-up wait",
            failed=lambda failure: ReplicationTaskFailedError(
                f"Cutover of {self.replication_task_arn}: {failure}"
            ),
            timed_out=lambda detail: self._timeout_error("catch up", detail),
        )
        return self._stop(context, *self._carried(context, facts, deadline), message)

    def _stop(
        self, context: Context, facts: dict[str, Any], deadline: float, caught_up: str
    ) -> dict[str, Any]:
        from airflow_neon_dms.dms.cdc import cutover_stop
        from airflow_neon_dms.dms.states import Outcome

        self.log.info("Target caught up: %s", caught_up)
        facts = {**facts, "caught_up_at": _iso(time.time()), "stop_requested_at": _iso(time.time())}
        # StopReplicationTask, or StopReplication for a serverless replication; refused when it is
        # stopped or stopping already (a retry, or a stop from the console): judged below.
        self.hook.request_stop(self.replication_task_arn)
        verdict = cutover_stop(self.hook.describe_task(self.replication_task_arn))
        if verdict.outcome == Outcome.WAITING and self.deferrable:
            from airflow_neon_dms.triggers.cutover import NeonDmsTaskStoppedTrigger

            self._carry(context, facts, deadline)
            self.defer(
                trigger=NeonDmsTaskStoppedTrigger(
                    replication_task_arn=self.replication_task_arn,
                    deadline=deadline,
                    waiter_delay=self.waiter_delay,
                    **self.aws_kwargs,
                ),
                method_name="execute_complete",
                kwargs={"facts": facts},
            )
        while verdict.outcome == Outcome.WAITING and time.time() < deadline:
            time.sleep(self.waiter_delay)
            verdict = cutover_stop(self.hook.describe_task(self.replication_task_arn))
        if verdict.outcome == Outcome.FAILED:
            raise ReplicationTaskFailedError(verdict.message)
        if verdict.outcome == Outcome.WAITING:
            raise self._timeout_error("stop", verdict.message)
        return self._facts(facts)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, facts: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        check_event(
            event,
            f"Cutover of {self.replication_task_arn}",
            wait="stop wait",
            failed=ReplicationTaskFailedError,
            timed_out=lambda detail: self._timeout_error("stop", detail),
        )
        return self._facts(self._carried(context, facts, None)[0])

    def _facts(self, facts: dict[str, Any]) -> dict[str, Any]:
        from airflow_neon_dms.dms.cdc import stop_facts

        task = self.hook.describe_task(self.replication_task_arn)
        return {
            "replication_task_arn": self.replication_task_arn,
            **facts,
            **stop_facts(task),
            "source_position_after_stop": self._source_position(),
        }

    def _timeout_error(self, step: str, detail: str) -> DmsResourceError:
        return DmsResourceError(
            f"Cutover of {self.replication_task_arn}: the {step} did not happen within {self.max_wait:.0f} s "
            f"({detail}). Nothing is lost: the task keeps its checkpoint. Check that the application "
            "stopped writing and the task in the DMS console, then clear this task, or raise max_wait."
        )

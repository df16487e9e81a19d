"""The one start-and-wait loop of a DMS run: a replication task's or a serverless replication's.

:class:`RunWaitMixin` holds what the two start operators (operators/run.py and
operators/serverless.py) share after the start call: judge the run, defer to a trigger while it
is on its way (or poll in the worker), resume from the trigger's event, and turn the verdict into
the summary, a failure or a wait that gave up. Each operator says only what differs: how to read
its run, judge it, summarise it, and which trigger waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_neon_dms.dms.wait_events import event_outcome
from airflow_neon_dms.exceptions import DmsResourceError, ReplicationTaskFailedError
from airflow_neon_dms.operators.base import WaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_neon_dms.dms.progress import ProgressLog
    from airflow_neon_dms.dms.states import TaskOutcome


class RunWaitMixin(WaitMixin):
    """Wait for a started run until it succeeds, fails or ``max_wait`` passes (see the module)."""

    #: What the messages call the run, e.g. "Replication task" or "Replication".
    run_kind = "Replication task"
    #: Appended to a failure's message: where to look.
    failure_hint = ""

    # -- what each operator says -------------------------------------------------------------------

    def run_name(self, run: Mapping[str, Any] | None = None) -> str:
        """The run's name in messages (from ``run`` when given)."""
        raise NotImplementedError

    def read_run(self) -> dict[str, Any]:
        """Describe the run now."""
        raise NotImplementedError

    def judge_run(self, run: Mapping[str, Any], started_after: datetime | None) -> TaskOutcome:
        """The verdict on ``run`` (a stop left by a run begun before ``started_after`` waits)."""
        raise NotImplementedError

    def run_trigger(self, started_after: datetime | None, deadline: float) -> BaseTrigger:
        """The trigger that waits for the run in the triggerer."""
        raise NotImplementedError

    def run_summary(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """The XCom summary of the run."""
        raise NotImplementedError

    def failure_text(self, message: str, run: Mapping[str, Any]) -> str:
        """The failure's message (the verdict's and the hint by default)."""
        return f"{message} {self.failure_hint}".strip()

    def log_wait(self, progress: ProgressLog, run: Mapping[str, Any], state: str) -> None:
        """Log the state at each poll in the worker."""
        self.log.info("%s", state)  # type: ignore[attr-defined]

    # -- the shared loop -----------------------------------------------------------------------

    def wait_for_run(
        self, run: dict[str, Any], *, started: bool, started_after: datetime | None
    ) -> dict[str, Any]:
        """Judge ``run``; defer while it is on its way (``deferrable``), else poll until it ends."""
        from airflow_neon_dms.dms.progress import ProgressLog
        from airflow_neon_dms.dms.states import Outcome

        verdict = self.judge_run(run, started_after)
        deadline = self._deadline()
        if verdict.outcome == Outcome.WAITING and self.deferrable:
            self.log.info("%s Waiting in the triggerer.", verdict.message)  # type: ignore[attr-defined]
            self.defer(  # type: ignore[attr-defined]
                trigger=self.run_trigger(started_after, deadline),
                method_name="execute_complete",
                kwargs={"started": started},
            )
        progress = ProgressLog()
        while verdict.outcome == Outcome.WAITING and time.time() < deadline:
            self.log_wait(progress, run, verdict.message)
            time.sleep(self.waiter_delay)
            run = self.read_run()
            verdict = self.judge_run(run, started_after)
        return self.finish_run(verdict, run, started)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, started: bool = True
    ) -> dict[str, Any]:
        """Resume after the trigger's event: the same result as the synchronous wait."""
        from airflow_neon_dms.dms.states import Outcome, TaskOutcome

        outcome, message = event_outcome(event, f"{self.run_kind} {self.run_name()}")
        return self.finish_run(TaskOutcome(Outcome(outcome), message), self.read_run(), started)

    def finish_run(self, verdict: TaskOutcome, run: dict[str, Any], started: bool) -> dict[str, Any]:
        """The summary on success; raise on a failure or a wait that gave up."""
        from airflow_neon_dms.dms.states import Outcome

        if verdict.outcome == Outcome.SUCCESS:
            self.log.info("%s", verdict.message)  # type: ignore[attr-defined]
            return {**self.run_summary(run), "started": started}
        if verdict.outcome == Outcome.FAILED:
            raise ReplicationTaskFailedError(self.failure_text(verdict.message, run))
        raise DmsResourceError(
            f"{self.run_kind} {self.run_name(run)} did not finish within {self.max_wait:.0f} s "
            f"({verdict.message}). It keeps running in DMS; raise max_wait, or clear this task to wait "
            "again (it will not start a second run)."
        )

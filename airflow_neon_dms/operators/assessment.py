"""Run a DMS premigration assessment on a replication task and judge its results.

:func:`judge_assessment` is the one judgement of a finished run: the task's run here, and a
serverless replication's run (StartReplication's PremigrationAssessmentSettings) in
operators/serverless.py.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import Context

from airflow_neon_dms.dms.wait_events import check_event, check_startable_event
from airflow_neon_dms.exceptions import PremigrationAssessmentError
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS, NeonDmsBaseOperator, WaitMixin

#: Fixes for the errors StartReplicationTaskAssessmentRun can answer (botocore's DMS model).
_START_ERROR_FIXES = {
    "S3ResourceNotFoundFault": "Create the results bucket (result_bucket) in the task's region.",
    "S3AccessDeniedFault": "Allow the service role s3:PutObject, s3:GetObject, s3:ListBucket and "
    "s3:GetBucketLocation on the results bucket.",
    "AccessDeniedFault": "Allow the caller dms:StartReplicationTaskAssessmentRun and iam:PassRole on "
    "the service role, and let the role trust dms.amazonaws.com.",
    "InvalidResourceStateFault": "Run the assessment when the task is ready, stopped or failed, and "
    "no other assessment run of the task is in progress.",
    "ResourceNotFoundFault": "Create the replication task first (NeonDmsCreateTaskOperator).",
}


def judge_assessment(
    hook: Any, log: logging.Logger | Any, run: Mapping[str, Any], *, fail_on_failed: bool
) -> dict[str, Any]:
    """Read a finished run's individual assessments and result files, log their table, and raise
    PremigrationAssessmentError on a failed one (unless ``fail_on_failed`` is False: then warn) or
    on a run DMS could not finish. Returns the summary for XCom and the closing report."""
    from airflow_neon_dms.dms.assessments import (
        assessment_rows,
        assessment_summary,
        assessment_verdict,
        results_table,
    )

    run_arn = str(run.get("ReplicationTaskAssessmentRunArn", ""))
    individual = hook.individual_assessments(run_arn)
    names = [str(a.get("IndividualAssessmentName", "")) for a in individual]
    rows = assessment_rows(individual, hook.read_assessment_results(dict(run), names))
    log.info("Premigration assessment %s:\n%s", run.get("AssessmentRunName"), results_table(rows))
    verdict = assessment_verdict(run, rows, fail_on_failed=fail_on_failed)
    if not verdict.ok:
        raise PremigrationAssessmentError(verdict.message)
    if any(r.blocking for r in rows):
        log.warning("%s", verdict.message)
    else:
        log.info("%s", verdict.message)
    return assessment_summary(run, rows)


def default_run_name(context: Context) -> str:
    """A run name unique to this DAG run and try (DMS names: letters, digits and hyphens)."""
    ti = context.get("ti")
    try_number = getattr(ti, "try_number", 1) or 1
    base = re.sub(r"[^A-Za-z0-9]+", "-", str(context.get("run_id", "manual"))).strip("-").lower()
    return f"airflow-{base}"[:240] + f"-try{try_number}"


class NeonDmsPremigrationAssessmentOperator(NeonDmsBaseOperator, WaitMixin):
    """
    Run a DMS premigration assessment on a replication task, wait for it, and judge the results.

    Starts StartReplicationTaskAssessmentRun (results go to ``result_bucket``), waits without a
    worker when deferrable, then reads every individual assessment and its result file from S3
    and logs a table of them. Any ``failed`` assessment fails the task unless
    ``fail_on_failed=False`` (then it only warns). Returns a summary: the run ARN, its status,
    the failed assessments, each assessment's status and where the result files are.

    :param replication_task_arn: the task to assess (ready, stopped or failed).
    :param service_access_role_arn: IAM role DMS assumes to write to the bucket (iam:PassRole).
    :param result_bucket: S3 bucket for the results.
    :param result_folder: folder in the bucket.
    :param assessment_run_name: run name; default from the DAG run id and try number.
    :param include_only: run only these individual assessments.
    :param exclude: run every applicable assessment but these.
    :param fail_on_failed: fail on a ``failed`` assessment (False: warn only).
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds before the wait gives up.
    :param settle_timeout: seconds to wait for a new task to leave ``creating`` first (DMS runs an
        assessment only on a ready, stopped or failed task).
    """

    operator_extra_links = OPERATOR_LINKS_FOR_TASK
    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_task_arn",
        "service_access_role_arn",
        "result_bucket",
        "result_folder",
        "assessment_run_name",
        "include_only",
        "exclude",
    )

    def __init__(
        self,
        *,
        replication_task_arn: str,
        service_access_role_arn: str | None,
        result_bucket: str | None,
        result_folder: str = "premigration-assessments",
        assessment_run_name: str | None = None,
        include_only: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        fail_on_failed: bool = True,
        deferrable: bool | None = None,
        waiter_delay: float = 15,
        max_wait: float = 3600,
        settle_timeout: float = 600,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_task_arn = replication_task_arn
        self.service_access_role_arn = service_access_role_arn
        self.result_bucket = result_bucket
        self.result_folder = result_folder
        self.assessment_run_name = assessment_run_name
        self.include_only = include_only
        self.exclude = exclude
        self.fail_on_failed = fail_on_failed
        self.settle_timeout = settle_timeout
        self._init_wait(deferrable=deferrable, waiter_delay=waiter_delay, max_wait=max_wait)
        self._run_arn: str | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.assessments import check_assessment_settings
        from airflow_neon_dms.dms.states import TASK_SETTLING
        from airflow_neon_dms.triggers.task_startable import NeonDmsTaskStartableTrigger

        check_assessment_settings(self.service_access_role_arn, self.result_bucket)
        task = self.describe_task_with_links(context, self.replication_task_arn)
        if str(task.get("Status", "")) in TASK_SETTLING:
            self.log.info("Replication task %s is %s; waiting until it can be assessed", task.get(
                "ReplicationTaskIdentifier"), task.get("Status"))  # fmt: skip
            if self.deferrable:
                self.defer(
                    trigger=NeonDmsTaskStartableTrigger(
                        replication_task_arn=self.replication_task_arn,
                        deadline=time.time() + self.settle_timeout,
                        waiter_delay=min(self.waiter_delay, 10),
                        **self.aws_kwargs,
                    ),
                    method_name="execute_settled",
                )
            self.hook.wait_until_settled(
                self.replication_task_arn, timeout=self.settle_timeout, delay=min(self.waiter_delay, 10)
            )
        return self._assess(context)

    def execute_settled(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume once the new task left ``creating``: start the assessment run."""
        check_startable_event(event, self.replication_task_arn, self.settle_timeout)
        return self._assess(context)

    def _assess(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.assessments import RunOutcome, classify_run
        from airflow_neon_dms.triggers.assessment import NeonDmsAssessmentRunTrigger

        run = self._start(self.assessment_run_name or default_run_name(context))
        run_arn = self._run_arn = str(run["ReplicationTaskAssessmentRunArn"])
        self.log.info(
            "Premigration assessment %s started on %s; results go to s3://%s/%s",
            run.get("AssessmentRunName"),
            self.replication_task_arn,
            self.result_bucket,
            self.result_folder,
        )
        deadline = self._deadline()
        if classify_run(run.get("Status")) == RunOutcome.WAITING and self.deferrable:
            self.defer(
                trigger=NeonDmsAssessmentRunTrigger(
                    assessment_run_arn=run_arn,
                    deadline=deadline,
                    waiter_delay=self.waiter_delay,
                    **self.aws_kwargs,
                ),
                method_name="execute_complete",
            )
        while classify_run(run.get("Status")) == RunOutcome.WAITING and time.time() < deadline:
            time.sleep(self.waiter_delay)
            run = self.hook.describe_assessment_run(run_arn) or {"Status": "deleting"}
        if classify_run(run.get("Status")) == RunOutcome.WAITING:
            raise self._timed_out(str(run.get("Status")))
        return self._judge(run_arn)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        run_arn = str((event or {}).get("assessment_run_arn", ""))
        check_event(
            event,
            f"Premigration assessment run {run_arn or '(unknown)'}",
            failed=lambda message: PremigrationAssessmentError(
                f"Premigration assessment run {run_arn} did not finish: {message}. Check the service "
                "role's access to the results bucket, then run the assessment again."
            ),
            timed_out=self._timed_out,
        )
        return self._judge(run_arn)

    def _start(self, run_name: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return self.hook.start_assessment_run(
                task_arn=self.replication_task_arn,
                run_name=run_name,
                service_access_role_arn=str(self.service_access_role_arn),
                result_bucket=str(self.result_bucket),
                result_folder=self.result_folder,
                include_only=self.include_only,
                exclude=self.exclude,
            )
        except ClientError as err:
            error = err.response.get("Error", {})
            code = str(error.get("Code", ""))
            fix = _START_ERROR_FIXES.get(code, "Check the parameters DMS names.")
            raise PremigrationAssessmentError(
                f"Premigration assessment of replication task {self.replication_task_arn} could not "
                f"start: {code}: {error.get('Message', '')}. {fix}"
            ) from None

    def _timed_out(self, detail: str) -> PremigrationAssessmentError:
        return PremigrationAssessmentError(
            f"Premigration assessment run {self._run_arn or ''} did not finish within "
            f"{self.max_wait:.0f} s ({detail}). Raise max_wait; clearing this task starts a new run."
        )

    def _judge(self, run_arn: str) -> dict[str, Any]:
        run = self.hook.describe_assessment_run(run_arn)
        if run is None:
            raise PremigrationAssessmentError(
                f"Premigration assessment run {run_arn} no longer exists; run the assessment again."
            )
        return judge_assessment(self.hook, self.log, run, fail_on_failed=self.fail_on_failed)

    def on_kill(self) -> None:
        """Cancel the run this task started; log, never raise."""
        if not self._run_arn:
            return
        try:
            self.hook.conn.cancel_replication_task_assessment_run(
                ReplicationTaskAssessmentRunArn=self._run_arn
            )
            self.log.info("Cancelled premigration assessment run %s", self._run_arn)
        except Exception as err:  # on_kill must not raise
            self.log.warning("Could not cancel assessment run %s: %s", self._run_arn, err)

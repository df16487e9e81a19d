"""Trigger: wait for a premigration assessment run to finish."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.dms.assessments import RunOutcome, classify_run
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsAssessmentRunTrigger(NeonDmsPollTrigger):
    """Waits until the assessment run ``assessment_run_arn`` is passed, failed, warning or errored.

    ``success`` means the run completed (its results are read by the operator, which decides);
    ``failed`` means DMS could not finish it (error-*, cancelled, deleted or gone).
    """

    id_key = "assessment_run_arn"

    def __init__(self, *, assessment_run_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assessment_run_arn = assessment_run_arn

    def own_fields(self) -> dict[str, Any]:
        return {"assessment_run_arn": self.assessment_run_arn}

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        run = await hook.describe_assessment_run_async(self.assessment_run_arn)
        if run is None:
            return EVENT_FAILED, f"Assessment run {self.assessment_run_arn} no longer exists."
        status = str(run.get("Status", ""))
        progress = run.get("AssessmentProgress") or {}
        self.last_state = (
            f"assessment run {run.get('AssessmentRunName')} is {status} "
            f"({progress.get('IndividualAssessmentCompletedCount', 0)}/"
            f"{progress.get('IndividualAssessmentCount', '?')} done)"
        )
        outcome = classify_run(status)
        if outcome == RunOutcome.COMPLETED:
            return EVENT_SUCCESS, status
        if outcome == RunOutcome.ERRORED:
            return EVENT_FAILED, f"status {status}: {run.get('LastFailureMessage') or 'no reason given'}"
        if status not in ("starting", "provisioning", "running"):
            self.log.warning(
                "Assessment run %s has a status this provider does not know: %r",
                self.assessment_run_arn,
                status,
            )
        return None

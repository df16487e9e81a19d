"""Premigration assessment results: run states, the verdict and the per-assessment table (pure).

States come from botocore's DMS model (ReplicationTaskAssessmentRun.Status and
ReplicationTaskIndividualAssessment.Status docs). A run is ``failed`` when at least one individual
assessment failed, ``warning`` when one warned or all were skipped, ``passed`` otherwise;
``error-provisioning``/``error-executing`` are DMS's own errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_neon_dms.exceptions import NeonConfigError

#: Run states that are still moving.
RUN_IN_PROGRESS = frozenset({"starting", "provisioning", "running"})
#: Run states that ended with results to read.
RUN_COMPLETED = frozenset({"passed", "failed", "warning"})
#: Run states in which DMS could not produce a result, or someone cancelled or deleted the run.
RUN_ERRORED = frozenset({"error-provisioning", "error-executing", "invalid state", "cancelling", "deleting"})
#: Individual assessment states that block a migration.
ASSESSMENT_BLOCKING = frozenset({"failed"})
#: The IAM role form DMS takes as ServiceAccessRoleArn.
ROLE_ARN_PREFIX = "arn:aws"


class RunOutcome(str, Enum):
    WAITING = "waiting"
    COMPLETED = "completed"
    ERRORED = "errored"


def classify_run(status: str | None) -> RunOutcome:
    """What a run status means for a wait (an unknown status keeps waiting until the deadline)."""
    value = (status or "").lower()
    if value in RUN_COMPLETED:
        return RunOutcome.COMPLETED
    if value in RUN_ERRORED:
        return RunOutcome.ERRORED
    return RunOutcome.WAITING


def check_assessment_settings(service_access_role_arn: str | None, result_bucket: str | None) -> None:
    """Raise, naming the fix, when the service role or the results bucket is missing."""
    if not service_access_role_arn:
        raise NeonConfigError(
            "A premigration assessment needs service_access_role_arn: an IAM role DMS assumes to "
            "write the results to S3 (trusted by dms.amazonaws.com, with s3:PutObject, s3:GetObject, "
            "s3:ListBucket and s3:GetBucketLocation on the results bucket). Create it and pass its "
            "ARN, or set the DAG's Param assessment_role_arn."
        )
    role = str(service_access_role_arn)
    if not role.startswith(ROLE_ARN_PREFIX) or ":role/" not in role:
        raise NeonConfigError(
            f"service_access_role_arn {service_access_role_arn!r} is not an IAM role ARN; pass one "
            "like arn:aws:iam::123456789012:role/dms-assessment."
        )
    if not result_bucket:
        raise NeonConfigError(
            "A premigration assessment needs result_bucket: the S3 bucket DMS writes the results "
            "to. Create the bucket in the task's region and pass its name, or set the DAG's Param "
            "assessment_bucket."
        )


@dataclass(frozen=True)
class AssessmentRow:
    """One individual assessment as reported: name, status and, from its result file, details."""

    name: str
    status: str
    description: str = ""
    objects: int = 0

    @property
    def blocking(self) -> bool:
        return self.status.lower() in ASSESSMENT_BLOCKING


def assessment_rows(
    individual: Iterable[Mapping[str, Any]], results: Mapping[str, Mapping[str, Any]] | None = None
) -> list[AssessmentRow]:
    """Rows from DescribeReplicationTaskIndividualAssessments, with each result file's details."""
    results = results or {}
    rows = []
    for item in individual:
        name = str(item.get("IndividualAssessmentName", ""))
        result = results.get(name) or {}
        objects = result.get("Objects")
        rows.append(
            AssessmentRow(
                name=name,
                status=str(item.get("Status", "")),
                description=str(result.get("Description", "")),
                objects=len(objects) if isinstance(objects, list) else 0,
            )
        )
    return sorted(rows, key=lambda r: (not r.blocking, r.name))


def results_table(rows: Sequence[AssessmentRow]) -> str:
    """A plain-text table of the assessments, failed ones first, for the task log."""
    header = ("assessment", "status", "objects", "detail")
    body = [(r.name, r.status, str(r.objects) if r.objects else "", r.description) for r in rows]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(3)]
    lines = []
    for line in (header, *body):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:3])) + "  " + line[3])
    return "\n".join(lines)


@dataclass(frozen=True)
class AssessmentVerdict:
    """Whether the migration may go on after the assessment, and what to tell the user."""

    ok: bool
    message: str


def assessment_verdict(
    run: Mapping[str, Any], rows: Sequence[AssessmentRow], *, fail_on_failed: bool
) -> AssessmentVerdict:
    """Fail on any ``failed`` assessment (unless warn-only) and on a run DMS could not finish."""
    status = str(run.get("Status", ""))
    name = run.get("AssessmentRunName") or run.get("ReplicationTaskAssessmentRunArn", "")
    if classify_run(status) == RunOutcome.ERRORED:
        reason = run.get("LastFailureMessage") or "no reason given"
        return AssessmentVerdict(
            False,
            f"Premigration assessment {name} ended {status}: {reason}. Check the service role's access "
            "to the results bucket and the endpoints, then run the assessment again.",
        )
    blocking = [r.name for r in rows if r.blocking]
    if not blocking:
        return AssessmentVerdict(True, f"Premigration assessment {name} {status}: no assessment failed.")
    message = (
        f"Premigration assessment {name} failed: {len(blocking)} individual assessment(s) failed "
        f"({', '.join(blocking)}). Fix the source or target as each result describes, or exclude "
        "the assessment, or set fail_on_failed=False to warn only."
    )
    return AssessmentVerdict(not fail_on_failed, message)


def assessment_summary(run: Mapping[str, Any], rows: Sequence[AssessmentRow]) -> dict[str, Any]:
    """What the operator returns (XCom) and the closing report shows: JSON primitives only."""
    return {
        "assessment_run_arn": str(run.get("ReplicationTaskAssessmentRunArn", "")),
        "status": str(run.get("Status", "")),
        "failed": [r.name for r in rows if r.blocking],
        "assessments": {r.name: r.status for r in rows},
        "result_location": result_location(run),
    }


def result_location(run: Mapping[str, Any]) -> str:
    """``s3://bucket/folder/run-id/`` where the run's result files are."""
    bucket = run.get("ResultLocationBucket", "")
    folder = str(run.get("ResultLocationFolder") or "").strip("/")
    run_id = str(run.get("ReplicationTaskAssessmentRunArn", "")).rsplit(":", 1)[-1]
    return f"s3://{bucket}/" + "/".join(p for p in (folder, run_id) if p) + "/"


def result_key(run: Mapping[str, Any], assessment_name: str) -> str:
    """The S3 key of one individual assessment's result file."""
    prefix = result_location(run).split("/", 3)[3]
    return f"{prefix}{assessment_name}/{assessment_name}-result.json"

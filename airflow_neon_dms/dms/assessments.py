"""Premigration assessment results: run states, the verdict and the per-assessment table (pure).

States come from botocore's DMS model (ReplicationTaskAssessmentRun.Status,
PremigrationAssessmentStatus.Status and ReplicationTaskIndividualAssessment.Status docs). A run
is ``failed`` when at least one individual assessment failed, ``warning`` when one warned or all
were skipped, ``passed`` otherwise; ``error-provisioning``/``error-executing`` are DMS's own
errors. A serverless replication's run (StartReplication's PremigrationAssessmentSettings) is
judged by the same functions through :func:`premigration_run`.
"""

from __future__ import annotations

import json
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
#: The keys of StartReplication's PremigrationAssessmentSettings (botocore's doc; DMS Serverless).
SERVERLESS_SETTING_KEYS = (
    "ResultLocationFolder",
    "ResultEncryptionMode",
    "ResultKmsKeyArn",
    "IncludeOnly",
    "Exclude",
    "FailOnAssessmentFailure",
)
#: ResultEncryptionMode values (botocore's doc).
ENCRYPTION_MODES = ("SSE_S3", "SSE_KMS")


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
    if status.lower() == "failed" and not blocking:  # DMS says failed: never read that as a pass
        blocking = ["(DMS named none)"]
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


def checked_premigration_settings(value: Mapping[str, Any] | str | None) -> dict[str, Any] | None:
    """StartReplication's PremigrationAssessmentSettings as a dict, checked before any AWS call.

    None or "" means no assessment; ``{}`` every applicable one. ``IncludeOnly``/``Exclude`` may
    be lists; ``FailOnAssessmentFailure`` is made explicit (AWS's default: true). Sources:
    botocore's doc and the user guide's "AWS DMS Serverless premigration" (no service role, no
    bucket: DMS uses a system-managed bucket)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise NeonConfigError(f"premigration_assessment_settings is not valid JSON: {err}.") from None
    if not isinstance(value, Mapping):
        raise NeonConfigError("premigration_assessment_settings must be a JSON object (a dict).")
    settings = dict(value)
    misplaced = [k for k in ("ServiceAccessRoleArn", "ResultLocationBucket") if k in settings]
    if misplaced:
        raise NeonConfigError(
            f"premigration_assessment_settings has {', '.join(misplaced)}, which DMS Serverless does "
            "not take: it writes the assessment results to a system-managed S3 bucket. Remove them "
            "(ResultLocationFolder names the folder)."
        )
    unknown = sorted(set(settings) - set(SERVERLESS_SETTING_KEYS))
    if unknown:
        raise NeonConfigError(
            f"premigration_assessment_settings has unknown key(s) {', '.join(unknown)}; use "
            f"{', '.join(SERVERLESS_SETTING_KEYS)}."
        )
    for key in ("IncludeOnly", "Exclude"):
        names = settings.get(key)
        if isinstance(names, (list, tuple)):
            settings[key] = " ".join(str(n) for n in names)
        if not settings.get(key):
            settings.pop(key, None)
    if "IncludeOnly" in settings and "Exclude" in settings:
        raise NeonConfigError("premigration_assessment_settings: give IncludeOnly or Exclude, not both.")
    mode = settings.get("ResultEncryptionMode")
    if mode is not None and mode not in ENCRYPTION_MODES:
        raise NeonConfigError(
            f"premigration_assessment_settings: ResultEncryptionMode {mode!r} is not one of "
            f"{', '.join(ENCRYPTION_MODES)}."
        )
    if settings.get("ResultKmsKeyArn") and mode != "SSE_KMS":
        raise NeonConfigError(
            "premigration_assessment_settings: ResultKmsKeyArn needs ResultEncryptionMode SSE_KMS."
        )
    fail = settings.get("FailOnAssessmentFailure", True)
    if isinstance(fail, str) and fail.lower() in ("true", "false"):
        fail = fail.lower() == "true"
    if not isinstance(fail, bool):
        raise NeonConfigError(
            f"premigration_assessment_settings: FailOnAssessmentFailure {fail!r} must be true or false."
        )
    settings["FailOnAssessmentFailure"] = fail
    return settings


def latest_premigration_status(replication: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The newest of a Replication's PremigrationAssessmentStatuses (by creation date), or None."""
    statuses = [s for s in replication.get("PremigrationAssessmentStatuses") or [] if isinstance(s, Mapping)]
    if not statuses:
        return None
    dated = [s for s in statuses if s.get("PremigrationAssessmentRunCreationDate") is not None]
    if len(dated) == len(statuses):
        return max(dated, key=lambda s: s["PremigrationAssessmentRunCreationDate"])
    return statuses[-1]


def premigration_run(status: Mapping[str, Any], replication_name: str) -> dict[str, Any]:
    """A PremigrationAssessmentStatus in the shape of a ReplicationTaskAssessmentRun, so that the
    serverless path is judged and reported by the same functions as the instance path."""
    run = {
        "ReplicationTaskAssessmentRunArn": status.get("PremigrationAssessmentRunArn", ""),
        "AssessmentRunName": f"of replication {replication_name}",
    }
    for key in ("Status", "LastFailureMessage", "ResultLocationBucket", "ResultLocationFolder",
                "AssessmentProgress", "ResultStatistic"):  # fmt: skip
        if key in status:
            run[key] = status[key]
    return run

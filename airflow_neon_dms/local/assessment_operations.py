"""Premigration assessment runs of the local DMS, as botocore's DMS model describes them.

StartReplicationTaskAssessmentRun, DescribeReplicationTaskAssessmentRuns,
DescribeReplicationTaskIndividualAssessments, DescribeApplicableIndividualAssessments,
CancelReplicationTaskAssessmentRun and DeleteReplicationTaskAssessmentRun. A run goes
``starting`` -> ``running`` -> ``passed`` | ``failed`` | ``warning`` | ``error-executing`` (the
statuses of botocore's ReplicationTaskAssessmentRun.Status), runs its individual assessments
(``assessment_checks``) against the real databases on a background thread, and writes each result
and a summary as JSON to the ``ResultLocationBucket`` of the emulator's S3 (``s3_buckets``):

    <ResultLocationFolder>/<run id>/<assessment name>/<assessment name>-result.json
    <ResultLocationFolder>/<run id>/summary.json
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    paginate,
    parse_filters,
    required,
    resource_id,
    with_marker,
)
from airflow_neon_dms.local.assessment_checks import (
    ERROR,
    FAILED,
    SKIPPED,
    WARNING,
    AssessedTask,
    CheckResult,
    SourceSnapshot,
    applicable_assessments,
    run_check,
)
from airflow_neon_dms.local.faults import (
    DmsFault,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    InvalidResourceStateFault,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.premigration_settings import (
    ENCRYPTION_MODES,
    PremigrationSettings,
    system_bucket,
)
from airflow_neon_dms.local.s3_buckets import LocalS3
from airflow_neon_dms.local.service_state import ServiceState
from airflow_neon_dms.local.table_mappings import parse_table_mappings

#: An IAM role ARN (AWS IAM user guide, "IAM ARNs": arn:aws:iam::account:role/path/name).
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
#: Task states in which a run can start: the task exists and is not moving data.
_ASSESSABLE_TASK_STATES = ("ready", "stopped", "failed")


class S3ResourceNotFoundFault(DmsFault):
    """The results bucket does not exist (botocore: StartReplicationTaskAssessmentRun errors)."""

    code = "S3ResourceNotFoundFault"


@dataclass
class IndividualAssessment:
    arn: str
    run_arn: str
    name: str
    status: str = "pending"
    started: float | None = None
    result: CheckResult | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ReplicationTaskIndividualAssessmentArn": self.arn,
            "ReplicationTaskAssessmentRunArn": self.run_arn,
            "IndividualAssessmentName": self.name,
            "Status": self.status,
        }
        if self.started is not None:
            out["ReplicationTaskIndividualAssessmentStartDate"] = self.started
        return out


@dataclass
class AssessmentRun:
    arn: str
    task_arn: str
    name: str
    role_arn: str
    bucket: str
    folder: str
    encryption_mode: str
    kms_key_arn: str
    created: float = field(default_factory=time.time)
    status: str = "starting"
    last_failure: str = ""
    assessments: list[IndividualAssessment] = field(default_factory=list)
    cancelled: bool = False
    #: True once every assessment ended and the results are written (or could not be).
    finished: bool = False
    #: A serverless replication's run (StartReplication's PremigrationAssessmentSettings): its
    #: config, and whether a failed assessment keeps the replication from starting.
    config_arn: str = ""
    fail_on_assessment_failure: bool = True

    @property
    def run_id(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    def result_prefix(self) -> str:
        folder = self.folder.strip("/")
        return f"{folder}/{self.run_id}" if folder else self.run_id

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for a in self.assessments if a.status == s) for s in
                ("passed", "failed", "error", "warning", "cancelled", "skipped")}  # fmt: skip

    def to_api(self, *, latest: bool) -> dict[str, Any]:
        done = sum(1 for a in self.assessments if a.status not in ("pending", "running"))
        counts = self.counts()
        out: dict[str, Any] = {
            "ReplicationTaskAssessmentRunArn": self.arn,
            "ReplicationTaskArn": self.task_arn,
            "Status": self.status,
            "ReplicationTaskAssessmentRunCreationDate": self.created,
            "AssessmentProgress": {
                "IndividualAssessmentCount": len(self.assessments),
                "IndividualAssessmentCompletedCount": done,
            },
            "ServiceAccessRoleArn": self.role_arn,
            "ResultLocationBucket": self.bucket,
            "ResultLocationFolder": self.folder,
            "AssessmentRunName": self.name,
            "IsLatestTaskAssessmentRun": latest,
            "ResultStatistic": {
                "Passed": counts["passed"],
                "Failed": counts["failed"],
                "Error": counts["error"],
                "Warning": counts["warning"],
                "Cancelled": counts["cancelled"],
                "Skipped": counts["skipped"],
            },
        }
        if self.last_failure:
            out["LastFailureMessage"] = self.last_failure
        if self.encryption_mode:
            out["ResultEncryptionMode"] = self.encryption_mode
        if self.kms_key_arn:
            out["ResultKmsKeyArn"] = self.kms_key_arn
        return out

    def premigration_status(self) -> dict[str, Any]:
        """The PremigrationAssessmentStatus shape (a Replication's PremigrationAssessmentStatuses)."""
        run = self.to_api(latest=True)
        out = {
            "PremigrationAssessmentRunArn": self.arn,
            "FailOnAssessmentFailure": self.fail_on_assessment_failure,
            "PremigrationAssessmentRunCreationDate": self.created,
        }
        for name in (
            "Status",
            "AssessmentProgress",
            "LastFailureMessage",
            "ResultLocationBucket",
            "ResultLocationFolder",
            "ResultEncryptionMode",
            "ResultKmsKeyArn",
            "ResultStatistic",
        ):
            if name in run:
                out[name] = run[name]
        return out  # fmt: skip


def run_status(statuses: list[str]) -> str:
    """The run's final status from its assessments' (botocore's ReplicationTaskAssessmentRun.Status:
    failed if any failed; warning if any warned or all were skipped; else passed)."""
    if FAILED in statuses:
        return "failed"
    if ERROR in statuses:
        return "error-executing"
    if WARNING in statuses or (statuses and all(s == SKIPPED for s in statuses)):
        return "warning"
    return "passed"


def _names(value: Any, parameter: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValueException(f"{parameter} must be a list of individual assessment names.")
    return [name for item in value for name in item.split()]


class AssessmentOperations(ServiceState):
    """The premigration assessment operations; results go to ``s3`` (shared by every region)."""

    def __init__(self, *, s3: LocalS3 | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.s3 = s3 if s3 is not None else LocalS3(self.account_id)
        self.assessment_runs: dict[str, AssessmentRun] = {}
        #: Runs started by StartReplication's PremigrationAssessmentSettings, by run ARN. They are
        #: not replication task runs: DescribeReplicationTaskAssessmentRuns does not list them.
        self.premigration_runs: dict[str, AssessmentRun] = {}

    def _assessed(self, task_arn: str) -> AssessedTask:
        task = self._task(task_arn)
        return AssessedTask(
            source=self.address(self._endpoint(task.source_arn)),
            target=self.address(self._endpoint(task.target_arn)),
            mappings=parse_table_mappings(task.table_mappings),
            migration_type=task.migration_type,
            settings_json=task.settings,
        )

    def _applicable(self, task_arn: str) -> list[str]:
        task = self._task(task_arn)
        source, target = self._endpoint(task.source_arn), self._endpoint(task.target_arn)
        return applicable_assessments(source.engine_name, target.engine_name, task.migration_type)

    def describe_applicable_individual_assessments(self, params: Params) -> Result:
        modelled = ("ReplicationInstanceArn", "SourceEngineName", "TargetEngineName", "MigrationType")
        if params.get("ReplicationConfigArn"):
            raise ResourceNotFoundFault(f"Replication config {params['ReplicationConfigArn']} not found.")
        if params.get("ReplicationTaskArn"):
            names = self._applicable(params["ReplicationTaskArn"])
        elif any(params.get(k) for k in modelled):
            missing = [k for k in modelled if not params.get(k)]
            if missing:
                raise InvalidParameterCombinationException(
                    "Give ReplicationTaskArn alone, or all of ReplicationInstanceArn, SourceEngineName, "
                    f"TargetEngineName and MigrationType (missing: {', '.join(missing)})."
                )
            self._instance(params["ReplicationInstanceArn"])
            names = applicable_assessments(
                params["SourceEngineName"], params["TargetEngineName"], params["MigrationType"]
            )
        else:
            names = applicable_assessments("postgres", "postgres", "cdc")
            names += [n for n in applicable_assessments("mysql", "postgres", "cdc") if n not in names]
        page, marker = paginate(params, names, DESCRIBE_MAX)
        return with_marker({"IndividualAssessmentNames": page}, marker)

    def start_replication_task_assessment_run(self, params: Params) -> Result:
        task = self._task(required(params, "ReplicationTaskArn"))
        role = required(params, "ServiceAccessRoleArn")
        bucket = required(params, "ResultLocationBucket")
        name = required(params, "AssessmentRunName")
        if not _ROLE_ARN.match(str(role)):
            raise InvalidParameterValueException(
                f"ServiceAccessRoleArn {role!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
            )
        mode = params.get("ResultEncryptionMode") or ""
        kms_key = params.get("ResultKmsKeyArn") or ""
        if mode and mode not in ENCRYPTION_MODES:
            raise InvalidParameterValueException(
                f"Invalid ResultEncryptionMode {mode!r}; use one of {', '.join(ENCRYPTION_MODES)}."
            )
        if kms_key and mode != "SSE_KMS":
            raise InvalidParameterCombinationException("ResultKmsKeyArn needs ResultEncryptionMode SSE_KMS.")
        include, exclude = (
            _names(params.get("IncludeOnly"), "IncludeOnly"),
            _names(params.get("Exclude"), "Exclude"),
        )
        if include and exclude:
            raise InvalidParameterCombinationException("You can't set both IncludeOnly and Exclude.")
        applicable = self._applicable(task.arn)
        unknown = [n for n in (*include, *exclude) if n not in applicable]
        if unknown:
            raise InvalidParameterValueException(
                f"Individual assessment(s) {', '.join(unknown)} do not apply to replication task "
                f"{task.identifier}; DescribeApplicableIndividualAssessments lists those that do."
            )
        if task.status not in _ASSESSABLE_TASK_STATES:
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; an assessment can run when the "
                "task is ready, stopped or failed."
            )
        runs = [r for r in self.assessment_runs.values() if r.task_arn == task.arn]
        if any(r.name == name for r in runs):
            raise ResourceAlreadyExistsFault(
                f"Assessment run {name} already exists for task {task.identifier}."
            )
        if any(not r.finished for r in runs):
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} already has an assessment run in progress."
            )
        if not self.s3.bucket_exists(bucket):
            raise S3ResourceNotFoundFault(
                f"The S3 bucket {bucket} does not exist; create it, or name an existing ResultLocationBucket."
            )
        names = include or [n for n in applicable if n not in exclude]
        run = AssessmentRun(
            arn=self._arn("assessment-run", resource_id()),
            task_arn=task.arn,
            name=name,
            role_arn=role,
            bucket=bucket,
            folder=params.get("ResultLocationFolder") or "",
            encryption_mode=mode,
            kms_key_arn=kms_key,
        )
        run.assessments = [
            IndividualAssessment(self._arn("individual-assessment", resource_id()), run.arn, n) for n in names
        ]
        self.assessment_runs[run.arn] = run
        self._tag(run.arn, params.get("Tags"))
        assessed = self._assessed(task.arn)
        self._spawn(f"assessment-{name}", lambda: self._execute(run, assessed))
        return {"ReplicationTaskAssessmentRun": self._run_api(run)}

    def start_premigration_run(
        self, config_arn: str, name: str, settings: PremigrationSettings
    ) -> AssessmentRun:
        """A serverless replication's run (not yet executing): results go to the system-managed
        bucket, created on first use."""
        bucket = system_bucket(self.account_id, self.region)
        self.s3.create_bucket(bucket, self.region)
        run = AssessmentRun(
            arn=self._arn("assessment-run", resource_id()),
            task_arn="",
            name=name,
            role_arn="",
            bucket=bucket,
            folder=settings.folder,
            encryption_mode=settings.encryption_mode,
            kms_key_arn=settings.kms_key_arn,
            config_arn=config_arn,
            fail_on_assessment_failure=settings.fail_on_assessment_failure,
        )
        run.assessments = [
            IndividualAssessment(self._arn("individual-assessment", resource_id()), run.arn, n)
            for n in settings.names
        ]
        self.premigration_runs[run.arn] = run
        return run

    def premigration_statuses(self, config_arn: str) -> list[dict[str, Any]]:
        """The PremigrationAssessmentStatuses of a replication: its runs, oldest first."""
        runs = sorted((r for r in self.premigration_runs.values() if r.config_arn == config_arn),
                      key=lambda r: r.created)  # fmt: skip
        return [r.premigration_status() for r in runs]

    def forget_premigration_runs(self, config_arn: str) -> None:
        for arn in [a for a, r in self.premigration_runs.items() if r.config_arn == config_arn]:
            del self.premigration_runs[arn]

    def _execute(self, run: AssessmentRun, task: AssessedTask) -> None:
        """Run every individual assessment, then write the results (a task thread)."""
        with self.lock:
            run.status = "running"
        snapshot = SourceSnapshot(task)
        for assessment in run.assessments:
            with self.lock:
                if run.cancelled:
                    assessment.status = "cancelled"
                    continue
                assessment.status, assessment.started = "running", time.time()
            result = run_check(assessment.name, snapshot)
            with self.lock:
                assessment.result = result
                assessment.status = result.status
                if result.status in (FAILED, ERROR):
                    run.last_failure = f"{assessment.name}: {result.description}"
        with self.lock:
            try:
                self._write_results(run)
            except Exception as err:  # the bucket was deleted or reset meanwhile
                run.status, run.last_failure = "error-executing", f"Results could not be written: {err}"
                run.finished = True
                return
            if run.cancelled:
                run.status = "cancelling"
            else:
                run.status = run_status([a.status for a in run.assessments])
            run.finished = True

    def _write_results(self, run: AssessmentRun) -> None:
        encryption = ENCRYPTION_MODES.get(run.encryption_mode)
        prefix = run.result_prefix()
        for assessment in run.assessments:
            result = assessment.result
            document = {
                "IndividualAssessmentName": assessment.name,
                "ReplicationTaskIndividualAssessmentArn": assessment.arn,
                "ReplicationTaskAssessmentRunArn": run.arn,
                **_owner(run),
                "Status": assessment.status,
                "Description": result.description if result else "",
                "Objects": result.objects if result else [],
            }
            key = f"{prefix}/{assessment.name}/{assessment.name}-result.json"
            self.s3.put(run.bucket, key, json.dumps(document, indent=2).encode(), encryption=encryption,
                        kms_key_id=run.kms_key_arn or None)  # fmt: skip
        summary = {
            "AssessmentRunName": run.name,
            "ReplicationTaskAssessmentRunArn": run.arn,
            **_owner(run),
            "Status": run_status([a.status for a in run.assessments]) if not run.cancelled else "cancelling",
            "IndividualAssessments": [{"Name": a.name, "Status": a.status} for a in run.assessments],
        }
        self.s3.put(run.bucket, f"{prefix}/summary.json", json.dumps(summary, indent=2).encode(),
                    encryption=encryption, kms_key_id=run.kms_key_arn or None)  # fmt: skip

    def _run(self, arn: str) -> AssessmentRun:
        try:
            return self.assessment_runs[arn]
        except KeyError:
            raise ResourceNotFoundFault(f"Assessment run {arn} not found.") from None

    def _any_run(self, arn: str) -> AssessmentRun:
        return self.assessment_runs.get(arn) or self.premigration_runs[arn]

    def _run_api(self, run: AssessmentRun) -> dict[str, Any]:
        latest = max(
            (r for r in self.assessment_runs.values() if r.task_arn == run.task_arn), key=lambda r: r.created
        )
        return run.to_api(latest=latest is run)

    def describe_replication_task_assessment_runs(self, params: Params) -> Result:
        filters = parse_filters(
            params,
            {
                "replication-task-assessment-run-arn": lambda r: r.arn,
                "replication-task-arn": lambda r: r.task_arn,
                "replication-instance-arn": lambda r: (
                    self.tasks[r.task_arn].instance_arn if r.task_arn in self.tasks else ""
                ),
                "status": lambda r: r.status,
            },
        )
        runs = apply_filters(sorted(self.assessment_runs.values(), key=lambda r: r.created), filters)
        if filters and not runs:
            raise ResourceNotFoundFault("No assessment runs found matching the filters.")
        page, marker = paginate(params, runs, DESCRIBE_MAX)
        return with_marker({"ReplicationTaskAssessmentRuns": [self._run_api(r) for r in page]}, marker)

    def describe_replication_task_individual_assessments(self, params: Params) -> Result:
        filters = parse_filters(
            params,
            {
                "replication-task-assessment-run-arn": lambda a: a.run_arn,
                "replication-task-arn": lambda a: self._any_run(a.run_arn).task_arn,
                "status": lambda a: a.status,
            },
        )
        # a serverless replication's run is found by its PremigrationAssessmentRunArn too
        runs = [*self.assessment_runs.values(), *self.premigration_runs.values()]
        every = [a for r in sorted(runs, key=lambda r: r.created) for a in r.assessments]
        items = apply_filters(every, filters)
        if filters and not items:
            raise ResourceNotFoundFault("No individual assessments found matching the filters.")
        page, marker = paginate(params, items, DESCRIBE_MAX)
        return with_marker({"ReplicationTaskIndividualAssessments": [a.to_api() for a in page]}, marker)

    def cancel_replication_task_assessment_run(self, params: Params) -> Result:
        run = self._run(required(params, "ReplicationTaskAssessmentRunArn"))
        if run.finished or run.cancelled:
            raise InvalidResourceStateFault(
                f"Assessment run {run.name} is {run.status}; it cannot be cancelled."
            )
        run.cancelled = True
        run.status = "cancelling"
        for assessment in run.assessments:
            if assessment.status == "pending":
                assessment.status = "cancelled"
        return {"ReplicationTaskAssessmentRun": self._run_api(run)}

    def delete_replication_task_assessment_run(self, params: Params) -> Result:
        run = self._run(required(params, "ReplicationTaskAssessmentRunArn"))
        if not run.finished and not run.cancelled:
            raise InvalidResourceStateFault(
                f"Assessment run {run.name} is {run.status}; cancel it before deleting it."
            )
        shown = self._run_api(run)
        shown["Status"] = "deleting"
        # DMS removes its record of the run; the result files in S3 stay (botocore's doc).
        del self.assessment_runs[run.arn]
        self.tags.pop(run.arn, None)
        return {"ReplicationTaskAssessmentRun": shown}

    def _forget_task(self, task: Any) -> None:
        super()._forget_task(task)
        for arn in [a for a, r in self.assessment_runs.items() if r.task_arn == task.arn]:
            del self.assessment_runs[arn]


def _owner(run: AssessmentRun) -> dict[str, str]:
    """What a result file names as the assessed resource: the task, or the replication config."""
    return (
        {"ReplicationConfigArn": run.config_arn} if run.config_arn else {"ReplicationTaskArn": run.task_arn}
    )

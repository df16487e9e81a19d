"""Premigration assessment calls of ``NeonDmsHook`` (a mixin over the amazon provider's DmsHook)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from airflow_neon_dms.dms.assessments import result_key
from airflow_neon_dms.dms.paging import MarkerPages


def _run_filter(run_arn: str) -> list[dict[str, Any]]:
    return [{"Name": "replication-task-assessment-run-arn", "Values": [run_arn]}]


def _not_found(err: ClientError) -> bool:
    return str(err.response.get("Error", {}).get("Code", "")) == "ResourceNotFoundFault"


class AssessmentCalls:
    """StartReplicationTaskAssessmentRun and the reads around it (``self.conn`` is the DMS client)."""

    conn: Any

    if TYPE_CHECKING:  # provided by the amazon provider's AwsBaseHook

        async def get_async_conn(self) -> Any: ...

    def start_assessment_run(
        self,
        *,
        task_arn: str,
        run_name: str,
        service_access_role_arn: str,
        result_bucket: str,
        result_folder: str | None = None,
        include_only: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Start a run, or return the run of that name that already exists (Airflow retries)."""
        existing = self.find_assessment_run(task_arn, run_name)
        if existing is not None:
            return existing
        kwargs: dict[str, Any] = {
            "ReplicationTaskArn": task_arn,
            "ServiceAccessRoleArn": service_access_role_arn,
            "ResultLocationBucket": result_bucket,
            "AssessmentRunName": run_name,
        }
        if result_folder:
            kwargs["ResultLocationFolder"] = result_folder
        if include_only:
            kwargs["IncludeOnly"] = list(include_only)
        if exclude:
            kwargs["Exclude"] = list(exclude)
        return dict(self.conn.start_replication_task_assessment_run(**kwargs)["ReplicationTaskAssessmentRun"])

    def find_assessment_run(self, task_arn: str, run_name: str) -> dict[str, Any] | None:
        """The task's assessment run named ``run_name``, or None."""
        for run in self._assessment_runs([{"Name": "replication-task-arn", "Values": [task_arn]}]):
            if run.get("AssessmentRunName") == run_name:
                return run
        return None

    def describe_assessment_run(self, run_arn: str) -> dict[str, Any] | None:
        runs = self._assessment_runs(_run_filter(run_arn))
        return runs[0] if runs else None

    def _assessment_runs(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        pages = MarkerPages("ReplicationTaskAssessmentRuns", Filters=filters, MaxRecords=100)
        try:
            while (kwargs := pages.next_request()) is not None:
                pages.add(self.conn.describe_replication_task_assessment_runs(**kwargs))
        except ClientError as err:
            if _not_found(err):
                return []
            raise
        return [dict(r) for r in pages.records]

    async def describe_assessment_run_async(self, run_arn: str) -> dict[str, Any] | None:
        """Async describe of one run for the trigger; None when it does not exist."""
        async with await self.get_async_conn() as client:
            try:
                response = await client.describe_replication_task_assessment_runs(
                    Filters=_run_filter(run_arn)
                )
            except ClientError as err:
                if _not_found(err):
                    return None
                raise
        runs = response.get("ReplicationTaskAssessmentRuns", [])
        return dict(runs[0]) if runs else None

    def individual_assessments(self, run_arn: str) -> list[dict[str, Any]]:
        """Every individual assessment of the run (all pages); none when DMS finds none (the
        verdict then rests on the run's Status, see ``assessment_verdict``)."""
        pages = MarkerPages(
            "ReplicationTaskIndividualAssessments", Filters=_run_filter(run_arn), MaxRecords=100
        )
        try:
            while (kwargs := pages.next_request()) is not None:
                pages.add(self.conn.describe_replication_task_individual_assessments(**kwargs))
        except ClientError as err:
            if _not_found(err):
                return []
            raise
        return [dict(r) for r in pages.records]

    def read_assessment_results(self, run: dict[str, Any], names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each assessment's result file from the run's S3 location (the amazon provider's S3Hook,
        on the same AWS connection); a file that is missing or not JSON is left out."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        s3 = S3Hook(
            aws_conn_id=getattr(self, "aws_conn_id", None),
            region_name=getattr(self, "region_name", None),
            verify=getattr(self, "verify", None),
        )
        bucket = str(run.get("ResultLocationBucket", ""))
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            key = result_key(run, name)
            try:
                text = s3.read_key(key, bucket_name=bucket)
                document = json.loads(text)
            except (ClientError, ValueError):
                continue
            if isinstance(document, dict):
                out[name] = document
        return out

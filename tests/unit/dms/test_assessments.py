"""Pure premigration assessment rules: run states, the verdict, the table and the settings check."""

from __future__ import annotations

import pytest

from airflow_neon_dms.dms.assessments import (
    AssessmentRow,
    RunOutcome,
    assessment_rows,
    assessment_summary,
    assessment_verdict,
    check_assessment_settings,
    checked_premigration_settings,
    classify_run,
    latest_premigration_status,
    premigration_run,
    result_key,
    result_location,
    results_table,
)
from airflow_neon_dms.exceptions import NeonConfigError

RUN = {
    "ReplicationTaskAssessmentRunArn": "arn:aws:dms:us-east-1:1:assessment-run:RUN1",
    "AssessmentRunName": "pre",
    "ResultLocationBucket": "b",
    "ResultLocationFolder": "/f/",
}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("starting", RunOutcome.WAITING),
        ("provisioning", RunOutcome.WAITING),
        ("running", RunOutcome.WAITING),
        ("passed", RunOutcome.COMPLETED),
        ("failed", RunOutcome.COMPLETED),
        ("warning", RunOutcome.COMPLETED),
        ("error-provisioning", RunOutcome.ERRORED),
        ("error-executing", RunOutcome.ERRORED),
        ("invalid state", RunOutcome.ERRORED),
        ("cancelling", RunOutcome.ERRORED),
        ("deleting", RunOutcome.ERRORED),
        ("something-new", RunOutcome.WAITING),
    ],
)
def test_every_botocore_run_status_is_classified(status: str, outcome: RunOutcome) -> None:
    assert classify_run(status) == outcome


def test_failed_assessment_fails_unless_warn_only() -> None:
    rows = [AssessmentRow("a", "passed"), AssessmentRow("b", "failed")]
    strict = assessment_verdict({**RUN, "Status": "failed"}, rows, fail_on_failed=True)
    assert not strict.ok and "(b)" in strict.message and "fail_on_failed=False" in strict.message
    assert assessment_verdict({**RUN, "Status": "failed"}, rows, fail_on_failed=False).ok


def test_warning_and_skipped_do_not_block_but_an_errored_run_does() -> None:
    rows = [AssessmentRow("a", "warning"), AssessmentRow("b", "skipped")]
    assert assessment_verdict({**RUN, "Status": "warning"}, rows, fail_on_failed=True).ok
    errored = assessment_verdict(
        {**RUN, "Status": "error-executing", "LastFailureMessage": "boom"}, [], fail_on_failed=False
    )
    assert not errored.ok and "boom" in errored.message


def test_rows_take_details_from_result_files_and_list_failures_first() -> None:
    individual = [
        {"IndividualAssessmentName": "z-ok", "Status": "passed"},
        {"IndividualAssessmentName": "m-bad", "Status": "failed"},
    ]
    rows = assessment_rows(individual, {"m-bad": {"Description": "two tables", "Objects": [{}, {}]}})
    assert [(r.name, r.objects, r.description) for r in rows] == [("m-bad", 2, "two tables"), ("z-ok", 0, "")]
    table = results_table(rows).splitlines()
    assert table[0].split() == ["assessment", "status", "objects", "detail"]
    assert table[1].split()[:3] == ["m-bad", "failed", "2"]


def test_result_location_and_keys_follow_the_run() -> None:
    assert result_location(RUN) == "s3://b/f/RUN1/"
    assert result_key(RUN, "x") == "f/RUN1/x/x-result.json"
    assert result_key({**RUN, "ResultLocationFolder": ""}, "x") == "RUN1/x/x-result.json"
    summary = assessment_summary({**RUN, "Status": "failed"}, [AssessmentRow("b", "failed")])
    assert summary == {
        "assessment_run_arn": RUN["ReplicationTaskAssessmentRunArn"],
        "status": "failed",
        "failed": ["b"],
        "assessments": {"b": "failed"},
        "result_location": "s3://b/f/RUN1/",
    }


@pytest.mark.parametrize(
    ("role", "bucket", "fix"),
    [
        (None, "b", "Param assessment_role_arn"),
        ("", "b", "trusted by dms.amazonaws.com"),
        ("dms-role", "b", "is not an IAM role ARN"),
        ("arn:aws:iam::123456789012:role/r", "", "Param assessment_bucket"),
    ],
)
def test_missing_role_or_bucket_names_the_fix(role: str | None, bucket: str, fix: str) -> None:
    with pytest.raises(NeonConfigError, match=fix):
        check_assessment_settings(role, bucket)
    check_assessment_settings("arn:aws:iam::123456789012:role/r", "b")


def test_a_failed_run_without_named_assessments_still_fails() -> None:
    verdict = assessment_verdict({**RUN, "Status": "failed"}, [], fail_on_failed=True)
    assert not verdict.ok


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"ResultLocationBucket": "mine"}, "system-managed S3 bucket"),
        ({"ServiceAccessRoleArn": "arn:aws:iam::1:role/r"}, "does not take"),
        ({"Folder": "x"}, "unknown key"),
        ({"IncludeOnly": ["a"], "Exclude": "b"}, "not both"),
        ({"ResultEncryptionMode": "PLAIN"}, "SSE_S3"),
        ({"ResultKmsKeyArn": "arn:aws:kms:k"}, "SSE_KMS"),
        ({"FailOnAssessmentFailure": "maybe"}, "true or false"),
        ("{not json", "not valid JSON"),
        ("[1]", "JSON object"),
    ],
)
def test_serverless_settings_refuse_what_dms_serverless_does_not_take(settings: object, words: str) -> None:
    with pytest.raises(NeonConfigError, match=words):
        checked_premigration_settings(settings)  # type: ignore[arg-type]


def test_serverless_settings_default_to_failing_on_a_failed_assessment() -> None:
    assert checked_premigration_settings(None) is None
    assert checked_premigration_settings({"IncludeOnly": ["a", "b"]}) == {
        "IncludeOnly": "a b",
        "FailOnAssessmentFailure": True,
    }
    assert checked_premigration_settings('{"FailOnAssessmentFailure": "false"}') == {
        "FailOnAssessmentFailure": False
    }


def test_a_premigration_status_is_judged_as_a_run() -> None:
    older = {"PremigrationAssessmentRunArn": "arn:aws:dms:us-east-1:1:assessment-run:OLD", "Status": "passed",
             "PremigrationAssessmentRunCreationDate": 1.0}  # fmt: skip
    newer = {"PremigrationAssessmentRunArn": "arn:aws:dms:us-east-1:1:assessment-run:NEW", "Status": "failed",
             "PremigrationAssessmentRunCreationDate": 2.0, "ResultLocationBucket": "sys",
             "ResultLocationFolder": "pre", "LastFailureMessage": "x"}  # fmt: skip
    latest = latest_premigration_status({"PremigrationAssessmentStatuses": [newer, older]})
    assert latest is newer
    run = premigration_run(newer, "cfg")
    assert run["ReplicationTaskAssessmentRunArn"].endswith(":NEW")
    assert result_location(run) == "s3://sys/pre/NEW/"
    assert assessment_summary(run, [])["status"] == "failed"
    assert latest_premigration_status({"Status": "running"}) is None

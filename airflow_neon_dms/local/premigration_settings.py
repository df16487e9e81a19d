"""StartReplication's ``PremigrationAssessmentSettings`` (DMS Serverless), as AWS documents them.

Sources: botocore's ``StartReplicationMessage.PremigrationAssessmentSettings`` doc (a JSON string
with ``ResultLocationFolder``, ``ResultEncryptionMode`` SSE_KMS | SSE_S3, ``ResultKmsKeyArn`` with
SSE_KMS, ``IncludeOnly`` and ``Exclude`` as space-separated names, ``FailOnAssessmentFailure``
true by default) and AWS's user guide, "AWS DMS Serverless premigration": unlike a replication
task's run, a serverless assessment takes no service role and no bucket; DMS "automatically stores
pre-migration assessment results in a system-managed Amazon S3 bucket". Where the guide is silent
(the emulator's choices are listed in docs/emulator.md): an unknown key is refused, and the
system-managed bucket is ``system_bucket(account, region)`` in the emulator's S3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow_neon_dms.local.faults import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
)

#: ResultEncryptionMode values (botocore's doc) and the S3 server-side encryption each means.
ENCRYPTION_MODES = {"SSE_S3": "AES256", "SSE_KMS": "aws:kms"}
#: The keys botocore's doc lists for PremigrationAssessmentSettings.
SETTING_KEYS = (
    "ResultLocationFolder",
    "ResultEncryptionMode",
    "ResultKmsKeyArn",
    "IncludeOnly",
    "Exclude",
    "FailOnAssessmentFailure",
)


def system_bucket(account_id: str, region: str) -> str:
    """The emulator's stand-in for the system-managed bucket DMS Serverless writes results to."""
    return f"dms-serverless-premigration-{account_id}-{region}"


@dataclass(frozen=True)
class PremigrationSettings:
    """Checked PremigrationAssessmentSettings of one StartReplication."""

    folder: str
    encryption_mode: str
    kms_key_arn: str
    names: tuple[str, ...]
    fail_on_assessment_failure: bool


def _names(document: dict[str, Any], key: str) -> list[str]:
    value = document.get(key)
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        raise InvalidParameterValueException(
            f"PremigrationAssessmentSettings.{key} must be a space-separated string of individual "
            "assessment names."
        )
    return value.split()


def _fail_flag(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidParameterValueException(
        f"PremigrationAssessmentSettings.FailOnAssessmentFailure {value!r} must be true or false."
    )


def parse_premigration_settings(text: Any, applicable: list[str]) -> PremigrationSettings | None:
    """``text`` checked as DMS checks it, or None when StartReplication carries no settings;
    ``applicable`` are the individual assessments that apply to the replication."""
    if text is None or text == "":
        return None
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as err:
        raise InvalidParameterValueException(
            f"PremigrationAssessmentSettings is not valid JSON: {err}."
        ) from None
    if not isinstance(document, dict):
        raise InvalidParameterValueException("PremigrationAssessmentSettings must be a JSON object.")
    unknown = sorted(set(document) - set(SETTING_KEYS))
    if unknown:
        raise InvalidParameterValueException(
            f"PremigrationAssessmentSettings has unknown key(s) {', '.join(unknown)}; the settings are "
            f"{', '.join(SETTING_KEYS)}."
        )
    mode = str(document.get("ResultEncryptionMode") or "")
    kms_key = str(document.get("ResultKmsKeyArn") or "")
    if mode and mode not in ENCRYPTION_MODES:
        raise InvalidParameterValueException(
            f"Invalid ResultEncryptionMode {mode!r}; use one of {', '.join(ENCRYPTION_MODES)}."
        )
    if kms_key and mode != "SSE_KMS":
        raise InvalidParameterCombinationException("ResultKmsKeyArn needs ResultEncryptionMode SSE_KMS.")
    include, exclude = _names(document, "IncludeOnly"), _names(document, "Exclude")
    if include and exclude:
        raise InvalidParameterCombinationException("You can't set both IncludeOnly and Exclude.")
    unknown_names = [n for n in (*include, *exclude) if n not in applicable]
    if unknown_names:
        raise InvalidParameterValueException(
            f"Individual assessment(s) {', '.join(unknown_names)} do not apply to this replication; "
            "DescribeApplicableIndividualAssessments lists those that do."
        )
    names = include or [n for n in applicable if n not in exclude]
    return PremigrationSettings(
        folder=str(document.get("ResultLocationFolder") or ""),
        encryption_mode=mode,
        kms_key_arn=kms_key,
        names=tuple(names),
        fail_on_assessment_failure=_fail_flag(document.get("FailOnAssessmentFailure")),
    )

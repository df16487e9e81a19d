"""Every StopReason the botocore DMS model documents, judged per migration type.

The list of values is read from the installed botocore's service model, so a botocore upgrade that
documents a new reason fails ``test_every_documented_reason_is_classified`` until it is classified.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest

from airflow_neon_dms.dms.states import STOP_REASONS, Outcome, classify_task


def _documented_stop_reasons() -> list[str]:
    model = botocore.session.get_session().get_service_model("dms")
    doc = model.shape_for("ReplicationTask").members["StopReason"].documentation
    return sorted(set(re.findall(r'"Stop Reason ([A-Z_]+)"', doc)))


DOCUMENTED = _documented_stop_reasons()
MIGRATION_TYPES = ("full-load", "full-load-and-cdc", "cdc")

#: What a careful reader of botocore and the user guide expects: the (reason, migration type)
#: pairs that mean "this run finished and the target is consistent". Every other pair fails.
EXPECTED_SUCCESS = {
    # "The task completed successfully."
    ("NORMAL", "full-load"),
    ("NORMAL", "full-load-and-cdc"),
    ("NORMAL", "cdc"),
    # Full load phase completed (cached changes applied when StopTaskCachedChangesApplied).
    ("FULL_LOAD_ONLY_FINISHED", "full-load"),
    ("FULL_LOAD_ONLY_FINISHED", "full-load-and-cdc"),
    # Full load completed, cached changes NOT applied: complete only when there is no CDC.
    ("STOPPED_AFTER_FULL_LOAD", "full-load"),
    # Full load completed with cached changes applied.
    ("STOPPED_AFTER_CACHED_EVENTS", "full-load"),
    ("STOPPED_AFTER_CACHED_EVENTS", "full-load-and-cdc"),
    # User-defined CDC stop points.
    ("STOPPED_AFTER_DDL_APPLY", "cdc"),
    ("STOPPED_AFTER_DDL_APPLY", "full-load-and-cdc"),
    ("STOPPED_AT_SERVER_TIME", "cdc"),
    ("STOPPED_AT_SERVER_TIME", "full-load-and-cdc"),
    ("STOPPED_AT_COMMIT_TIME", "cdc"),
    ("STOPPED_AT_COMMIT_TIME", "full-load-and-cdc"),
}


def _stopped(code: str, migration_type: str, **stats: Any) -> dict[str, Any]:
    return {
        "ReplicationTaskIdentifier": "orders",
        "Status": "stopped",
        "StopReason": f"Stop Reason {code}",
        "MigrationType": migration_type,
        "ReplicationTaskStats": {"FullLoadProgressPercent": 100, "TablesErrored": 0, **stats},
    }


def test_the_model_documents_the_reasons_this_suite_knows() -> None:
    assert "NORMAL" in DOCUMENTED
    assert len(DOCUMENTED) >= 14


@pytest.mark.parametrize("code", DOCUMENTED)
def test_every_documented_reason_is_classified(code: str) -> None:
    assert code in STOP_REASONS


@pytest.mark.parametrize("migration_type", MIGRATION_TYPES)
@pytest.mark.parametrize("code", DOCUMENTED)
def test_documented_reason_verdict_per_migration_type(code: str, migration_type: str) -> None:
    verdict = classify_task(_stopped(code, migration_type))
    expected = Outcome.SUCCESS if (code, migration_type) in EXPECTED_SUCCESS else Outcome.FAILED
    assert verdict.outcome == expected, verdict.message
    assert code in verdict.message


def test_normal_is_success() -> None:
    verdict = classify_task(_stopped("NORMAL", "full-load"))
    assert verdict.outcome == Outcome.SUCCESS
    assert "completed successfully" in verdict.message


def test_stopped_after_full_load_with_cdc_names_the_missing_changes_and_the_fix() -> None:
    verdict = classify_task(_stopped("STOPPED_AFTER_FULL_LOAD", "full-load-and-cdc"))
    assert verdict.outcome == Outcome.FAILED
    assert "resume-processing" in verdict.message
    assert "StopTaskCachedChangesNotApplied" in verdict.message


@pytest.mark.parametrize("migration_type", MIGRATION_TYPES)
@pytest.mark.parametrize("reason", ["Stop Reason SOMETHING_NEW", "", None])
def test_undocumented_or_missing_reason_fails_closed(reason: str | None, migration_type: str) -> None:
    task = {**_stopped("X", migration_type), "StopReason": reason}
    verdict = classify_task(task)
    assert verdict.outcome == Outcome.FAILED
    assert "not one the DMS API documents" in verdict.message


def test_success_reason_with_errored_tables_fails() -> None:
    verdict = classify_task(_stopped("NORMAL", "full-load", TablesErrored=1))
    assert verdict.outcome == Outcome.FAILED

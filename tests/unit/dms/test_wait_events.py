"""The one check of a trigger event that every resumed operator and the sensor run."""

from __future__ import annotations

import pytest

from airflow_neon_dms.dms.wait_events import check_event, check_startable_event, event_outcome, event_status
from airflow_neon_dms.exceptions import DmsResourceError, DmsResourceNotFoundError, ReplicationTaskFailedError


def _failed(message: str) -> Exception:
    return ReplicationTaskFailedError(f"failed: {message}")


def _timed_out(message: str) -> Exception:
    return DmsResourceError(f"too slow: {message}")


def test_success_returns_the_message() -> None:
    assert check_event({"status": "success", "message": "done"}, "Task t", failed=_failed) == "done"


@pytest.mark.parametrize("event", [None, {}, {"status": "finished", "message": "?"}])
def test_an_invalid_event_names_the_subject(event: dict[str, str] | None) -> None:
    with pytest.raises(DmsResourceError, match="Task t: the reload wait ended with an invalid event"):
        check_event(event, "Task t", wait="reload wait")


def test_failed_and_timeout_use_their_builders() -> None:
    with pytest.raises(ReplicationTaskFailedError, match="failed: broken"):
        check_event({"status": "failed", "message": "broken"}, "Task t", failed=_failed, timed_out=_timed_out)
    with pytest.raises(DmsResourceError, match="too slow: 3 left"):
        check_event(
            {"status": "timeout", "message": "3 left"}, "Task t", failed=_failed, timed_out=_timed_out
        )


@pytest.mark.parametrize("status", ["error", "failed", "timeout"])
def test_without_a_builder_the_event_cannot_be_read(status: str) -> None:
    with pytest.raises(DmsResourceError, match="Task t could not be read: DMS call failed"):
        check_event({"status": status, "message": "DMS call failed"}, "Task t")


def test_event_status_returns_status_and_message() -> None:
    assert event_status({"status": "timeout", "message": "late"}, "Task t") == ("timeout", "late")


def test_startable_timeout_says_how_to_wait_longer() -> None:
    with pytest.raises(DmsResourceError, match="did not become startable within 60 s .*Raise settle_timeout"):
        check_startable_event({"status": "timeout", "message": "creating"}, "arn:t", 60)
    check_startable_event({"status": "success", "message": "ready"}, "arn:t", 60)


def test_a_gone_event_raises_the_not_found_error() -> None:
    from airflow_neon_dms.dms.wait_events import EVENT_GONE
    from airflow_neon_dms.exceptions import DmsResourceNotFoundError

    with pytest.raises(DmsResourceNotFoundError, match="no longer exists. Trigger a new DAG run"):
        check_event({"status": EVENT_GONE, "message": "Replication task X no longer exists."}, "Task X")


@pytest.mark.parametrize(
    ("status", "outcome"), [("success", "success"), ("failed", "failed"), ("timeout", "waiting")]
)
def test_event_outcome_of_a_run_wait(status: str, outcome: str) -> None:
    assert event_outcome({"status": status, "message": "m"}, "Replication task t") == (outcome, "m")


def test_event_outcome_raises_for_gone_and_error_events() -> None:
    with pytest.raises(DmsResourceNotFoundError):
        event_outcome({"status": "gone", "message": "Replication task t no longer exists."}, "t")
    with pytest.raises(DmsResourceError, match="could not be read"):
        event_outcome({"status": "error", "message": "throttled"}, "Replication task t")
    with pytest.raises(DmsResourceError, match="invalid event"):
        event_outcome(None, "Replication task t")

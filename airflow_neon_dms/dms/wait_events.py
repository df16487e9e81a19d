"""The events a DMS wait's trigger yields, and the one check every resumed operator runs on them.

Pure and cheap to import when a DAG is parsed: constants, and :func:`check_event`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_neon_dms.exceptions import DmsResourceError, DmsResourceNotFoundError

EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
#: The waited-for resource no longer exists: no retry can bring it back.
EVENT_GONE = "gone"
#: Event statuses a trigger yields; operators treat anything else as an invalid event.
EVENT_STATUSES = frozenset({EVENT_SUCCESS, EVENT_FAILED, EVENT_TIMEOUT, EVENT_ERROR, EVENT_GONE})

#: Builds the exception for a ``failed`` or ``timeout`` event from the event's message.
ErrorFor = Callable[[str], Exception]


def event_status(event: Mapping[str, Any] | None, subject: str, wait: str = "wait") -> tuple[str, str]:
    """``(status, message)`` of a trigger event; raise, naming ``subject``, when it is not one."""
    if not event or event.get("status") not in EVENT_STATUSES:
        raise DmsResourceError(f"{subject}: the {wait} ended with an invalid event: {event!r}")
    return str(event["status"]), str(event.get("message", ""))


def check_event(
    event: Mapping[str, Any] | None,
    subject: str,
    *,
    wait: str = "wait",
    failed: ErrorFor | None = None,
    timed_out: ErrorFor | None = None,
) -> str:
    """The message of a ``success`` event; raise for every other event.

    ``failed`` and ``timed_out`` build the exception for those statuses; an ``error`` event (DMS
    could not be read), or a status without a builder, raises :class:`DmsResourceError`; a
    ``gone`` event raises :class:`DmsResourceNotFoundError`, which fails without retries.
    """
    status, message = event_status(event, subject, wait)
    if status == EVENT_SUCCESS:
        return message
    if status == EVENT_GONE:
        raise DmsResourceNotFoundError(
            f"{message} Trigger a new DAG run, or clear the step that creates it together with this one."
        )
    if status == EVENT_FAILED and failed is not None:
        raise failed(message)
    if status == EVENT_TIMEOUT and timed_out is not None:
        raise timed_out(message)
    raise DmsResourceError(f"{subject} could not be read: {message}")


def check_startable_event(event: Mapping[str, Any] | None, task_arn: str, settle_timeout: float) -> None:
    """Raise unless ``event`` (from NeonDmsTaskStartableTrigger) says the task can be started."""
    check_event(
        event,
        f"Replication task {task_arn}",
        wait="wait to become startable",
        failed=lambda message: DmsResourceError(
            f"{message} Create the task again (NeonDmsCreateTaskOperator)."
        ),
        timed_out=lambda message: DmsResourceError(
            f"Replication task {task_arn} did not become startable within {settle_timeout:.0f} s "
            f"({message}). Raise settle_timeout, or check the task in the DMS console; "
            "clearing this task waits again."
        ),
    )


def event_outcome(event: Mapping[str, Any] | None, subject: str) -> tuple[str, str]:
    """``(outcome, message)`` of a run wait's event: ``success``, ``failed``, or ``waiting`` after a
    timeout (the caller reports it as a wait that gave up). A ``gone`` event raises
    :class:`DmsResourceNotFoundError` and an ``error`` event :class:`DmsResourceError`, as
    :func:`check_event` does."""
    status, message = event_status(event, subject)
    outcomes = {EVENT_SUCCESS: "success", EVENT_FAILED: "failed", EVENT_TIMEOUT: "waiting"}
    if status not in outcomes:
        check_event(event, subject)  # raises for gone and error
    return outcomes[status], message

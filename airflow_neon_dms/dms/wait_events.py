"""The statuses a DMS trigger's event carries: constants only, cheap to import when a DAG is parsed."""

from __future__ import annotations

EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
#: Event statuses a trigger yields; operators treat anything else as an invalid event.
EVENT_STATUSES = frozenset({EVENT_SUCCESS, EVENT_FAILED, EVENT_TIMEOUT, EVENT_ERROR})

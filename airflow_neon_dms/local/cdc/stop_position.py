"""``CdcStopPosition``: when a CDC task stops by itself, and the StopReason it reports.

botocore's DMS model (StartReplicationTask / CreateReplicationTask ``CdcStopPosition``) gives the
two forms ``server_time:2018-02-09T12:12:12`` and ``commit_time:2018-02-09T12:12:12``; the
ReplicationTask ``StopReason`` list gives ``Stop Reason STOPPED_AT_SERVER_TIME`` ("User-defined
server time for stopping task") and ``Stop Reason STOPPED_AT_COMMIT_TIME`` ("User-defined commit
time for stopping task"). The time has no zone; the local DMS reads it as UTC, the clock of the
replication instance.

What the guide leaves open, chosen here: ``server_time`` stops at the first check after the
replication instance's clock reaches the time, between two source transactions; ``commit_time``
applies every source transaction that committed at or before the time and stops before the first
one that committed after it (or once the source's clock is past the time and everything before it
is applied).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from airflow_neon_dms.local.cdc.errors import CdcStopPositionError

StopKind = Literal["server_time", "commit_time"]

#: The StopReason a task reports when it stops at each kind of CdcStopPosition (botocore).
STOP_REASONS: dict[str, str] = {
    "server_time": "Stop Reason STOPPED_AT_SERVER_TIME",
    "commit_time": "Stop Reason STOPPED_AT_COMMIT_TIME",
}

_POSITION_RE = re.compile(r"^(server_time|commit_time):(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)$")


@dataclass(frozen=True)
class CdcStopPosition:
    """A parsed ``CdcStopPosition``: its kind and the UTC time it names."""

    kind: StopKind
    at: datetime

    @property
    def stop_reason(self) -> str:
        return STOP_REASONS[self.kind]

    def __str__(self) -> str:
        return f"{self.kind}:{self.at.strftime('%Y-%m-%dT%H:%M:%S')}"

    def server_time_reached(self, now: datetime) -> bool:
        """True for a ``server_time`` position once the replication instance's clock is at it."""
        return self.kind == "server_time" and now >= self.at

    def after_commit_time(self, commit_time: datetime | None) -> bool:
        """True for a ``commit_time`` position when a transaction committed after it."""
        return self.kind == "commit_time" and commit_time is not None and commit_time > self.at


def parse_cdc_stop_position(value: str) -> CdcStopPosition:
    """``"server_time:2026-01-01T00:00:00"`` -> CdcStopPosition; a clear error for anything else."""
    text = value.strip()
    match = _POSITION_RE.match(text)
    if not match:
        raise CdcStopPositionError(
            f"CdcStopPosition {value!r} is not valid. Use server_time:YYYY-MM-DDTHH:MM:SS or "
            "commit_time:YYYY-MM-DDTHH:MM:SS (UTC), e.g. server_time:2026-01-01T00:00:00."
        )
    kind: StopKind = "server_time" if match.group(1) == "server_time" else "commit_time"
    try:
        at = datetime.strptime(match.group(2), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError as err:
        raise CdcStopPositionError(f"CdcStopPosition {value!r} names no real time: {err}.") from None
    return CdcStopPosition(kind, at)


def check_not_past(position: CdcStopPosition, now: datetime) -> None:
    """A stop position already behind ``now`` would stop the task at once: reject it."""
    if position.at <= now:
        raise CdcStopPositionError(
            f"CdcStopPosition {position} is in the past (now {now.strftime('%Y-%m-%dT%H:%M:%S')} UTC). "
            "Give a later time, or leave CdcStopPosition out to replicate until the task is stopped."
        )

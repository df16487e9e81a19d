"""CdcStopPosition parsing and the StopReason each form gives (botocore's DMS model)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_neon_dms.local.cdc.errors import CdcStopPositionError
from airflow_neon_dms.local.cdc.stop_position import (
    CdcStopPosition,
    check_not_past,
    parse_cdc_stop_position,
)

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        ("server_time:2026-01-01T00:00:00", "server_time", "Stop Reason STOPPED_AT_SERVER_TIME"),
        ("commit_time:2026-01-01T00:00:00", "commit_time", "Stop Reason STOPPED_AT_COMMIT_TIME"),
        (" commit_time:2026-01-01T00:00:00 ", "commit_time", "Stop Reason STOPPED_AT_COMMIT_TIME"),
    ],
)
def test_parse(text: str, kind: str, reason: str) -> None:
    position = parse_cdc_stop_position(text)
    assert position == CdcStopPosition(kind, datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
    assert position.stop_reason == reason
    assert str(position) == text.strip()


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01T00:00:00",
        "server_time:2026-01-01 00:00:00",
        "server_time:2026-01-01T00:00:00Z",
        "checkpoint:2026-01-01T00:00:00",
        "commit_time:2026-02-30T00:00:00",
        "server_time:",
    ],
)
def test_bad_values_name_the_setting_and_the_form(text: str) -> None:
    with pytest.raises(CdcStopPositionError, match="CdcStopPosition"):
        parse_cdc_stop_position(text)


def test_a_position_in_the_past_is_rejected() -> None:
    position = parse_cdc_stop_position("server_time:2026-01-01T00:00:00")
    with pytest.raises(CdcStopPositionError, match="in the past.*leave CdcStopPosition out"):
        check_not_past(position, datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    check_not_past(position, datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC))


def test_stop_checks() -> None:
    server = parse_cdc_stop_position("server_time:2026-01-01T00:00:00")
    commit = parse_cdc_stop_position("commit_time:2026-01-01T00:00:00")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    later = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert server.server_time_reached(at) and not server.server_time_reached(datetime(2025, 1, 1, tzinfo=UTC))
    assert not commit.server_time_reached(later)
    assert commit.after_commit_time(later) and not commit.after_commit_time(at)
    assert not commit.after_commit_time(None) and not server.after_commit_time(later)

"""The replication-lag window rule: edges, gaps, stale and missing data, and limits per metric."""

from __future__ import annotations

import pytest

from airflow_neon_dms.dms.lag import (
    CDC_INCOMING_CHANGES,
    CDC_LATENCY_SOURCE,
    CDC_LATENCY_TARGET,
    Datapoint,
    caught_up_limits,
    lag_limits,
    query_start,
    quiet_limits,
    task_dimensions,
    task_resource_id,
    window_verdict,
)

P = 60.0
NOW = 100_000 * P  # aligned to the period, like CloudWatch's timestamps
LAG = lag_limits(5)


def points(values: list[float], end: float = NOW - P) -> list[Datapoint]:
    """One datapoint a period, the last one stamped ``end``."""
    return [Datapoint(end - (len(values) - 1 - i) * P, v) for i, v in enumerate(values)]


def both(values: list[float], **kwargs: float) -> dict[str, list[Datapoint]]:
    return {CDC_LATENCY_SOURCE: points(values, **kwargs), CDC_LATENCY_TARGET: points(values, **kwargs)}


def verdict(series: dict[str, list[Datapoint]], window: float = 5 * P, **kwargs: float | None):  # type: ignore[no-untyped-def]
    return window_verdict(series, LAG, window_seconds=window, now=NOW, period=P, **kwargs)  # type: ignore[arg-type]


def test_five_periods_at_or_under_the_threshold_pass() -> None:
    result = verdict(both([5, 4, 0, 1, 5]))
    assert result.satisfied and not result.warning
    assert "CDCLatencySource <= 5" in result.message


def test_only_the_window_counts_older_spikes_do_not() -> None:
    assert verdict(both([900, 900, 1, 1, 1, 1, 1])).satisfied


def test_a_value_above_the_threshold_inside_the_window_waits() -> None:
    result = verdict(both([1, 1, 6, 1, 1]))
    assert not result.satisfied and "6" in result.message


def test_window_edges_the_first_period_of_the_window_counts() -> None:
    assert not verdict(both([9, 1, 1, 1, 1]), window=5 * P).satisfied
    assert verdict(both([9, 1, 1, 1, 1]), window=4 * P).satisfied


def test_too_few_datapoints_for_the_window_wait() -> None:
    result = verdict(both([1, 1, 1]))
    assert not result.satisfied
    assert "missing datapoints" in result.message


def test_a_gap_of_one_missing_period_waits() -> None:
    series = both([1, 1, 1, 1, 1])
    series[CDC_LATENCY_TARGET] = [p for i, p in enumerate(series[CDC_LATENCY_TARGET]) if i != 2]
    result = verdict(series)
    assert not result.satisfied
    assert "CDCLatencyTarget is missing datapoints" in result.message


def test_a_metric_with_no_data_at_all_waits_with_a_warning() -> None:
    result = verdict({CDC_LATENCY_SOURCE: points([0] * 5)})
    assert not result.satisfied and result.warning
    assert "No datapoints for CDCLatencyTarget" in result.message


def test_no_data_at_all_never_passes() -> None:
    result = verdict({})
    assert not result.satisfied and result.warning


def test_stale_data_waits_with_a_warning() -> None:
    result = verdict(both([0] * 5, end=NOW - 10 * P))
    assert not result.satisfied and result.warning and "old" in result.message


def test_recent_but_not_current_data_passes_within_the_delay() -> None:
    assert verdict(both([0] * 5, end=NOW - 3 * P)).satisfied


def test_window_ends_at_the_metric_that_lags_behind() -> None:
    series = {
        CDC_LATENCY_SOURCE: points([0] * 6, end=NOW - P),
        CDC_LATENCY_TARGET: points([0] * 5, end=NOW - 2 * P),
    }
    assert verdict(series).satisfied
    series[CDC_LATENCY_TARGET] = points([0] * 4, end=NOW - 2 * P)
    assert not verdict(series).satisfied


def test_not_before_ignores_datapoints_from_before_the_wait() -> None:
    series = both([0] * 10)
    began = NOW - 3 * P
    result = verdict(series, not_before=began)
    assert not result.satisfied and "since the wait began" in result.message
    assert verdict(series, window=3 * P, not_before=began - P).satisfied


def test_not_before_with_no_datapoint_after_it_waits() -> None:
    result = verdict(both([0] * 5), not_before=NOW)
    assert not result.satisfied and not result.warning
    assert "No datapoints yet" in result.message


def test_a_window_shorter_than_a_period_needs_one_datapoint() -> None:
    assert verdict(both([0]), window=0).satisfied
    assert not verdict(both([7]), window=0).satisfied


def test_quiet_needs_zero_incoming_changes_and_zero_latency() -> None:
    quiet = quiet_limits()
    series = {name: points([0] * 5) for name in quiet}
    assert window_verdict(series, quiet, window_seconds=5 * P, now=NOW, period=P).satisfied
    series[CDC_INCOMING_CHANGES] = points([0, 0, 0, 1, 0])
    result = window_verdict(series, quiet, window_seconds=5 * P, now=NOW, period=P)
    assert not result.satisfied and "CDCIncomingChanges is 1" in result.message
    series[CDC_INCOMING_CHANGES] = points([0] * 5)
    series[CDC_LATENCY_TARGET] = points([0, 0, 0, 0, 0.5])
    assert not window_verdict(series, quiet, window_seconds=5 * P, now=NOW, period=P).satisfied


def test_caught_up_limits_combine_incoming_changes_and_lag() -> None:
    assert caught_up_limits(2) == {CDC_INCOMING_CHANGES: 0, CDC_LATENCY_SOURCE: 2, CDC_LATENCY_TARGET: 2}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"window_seconds": -1}, "window_seconds"), ({"period": 0}, "period")],
)
def test_bad_window_arguments_raise(kwargs: dict[str, float], error: str) -> None:
    args = {"window_seconds": 60.0, "now": NOW, "period": P, **kwargs}
    with pytest.raises(ValueError, match=error):
        window_verdict({}, LAG, **args)  # type: ignore[arg-type]


def test_limits_must_name_a_metric_and_be_non_negative() -> None:
    with pytest.raises(ValueError, match="No metric limits"):
        window_verdict({}, {}, window_seconds=60, now=NOW)
    with pytest.raises(ValueError, match="threshold"):
        lag_limits(-1)


def test_task_dimensions_use_the_resource_id_of_the_arn() -> None:
    arn = "arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOP"
    assert task_resource_id(arn) == "ABCDEFGHIJKLMNOP"
    assert task_dimensions("my-instance", arn) == [
        {"Name": "ReplicationInstanceIdentifier", "Value": "my-instance"},
        {"Name": "ReplicationTaskIdentifier", "Value": "ABCDEFGHIJKLMNOP"},
    ]
    with pytest.raises(ValueError, match="not a replication task ARN"):
        task_resource_id("my-task")


def test_query_start_reaches_back_over_the_window_and_the_delay() -> None:
    assert query_start(NOW, 5 * P, P) == NOW - 5 * P - 4 * P
    assert query_start(NOW, 0, P) == NOW - P - 4 * P


def test_a_serverless_replication_is_read_by_its_replication_config_id() -> None:
    from airflow_neon_dms.dms.lag import replication_config_dimensions

    arn = "arn:aws:dms:eu-west-1:123456789012:replication-config:ABCDEF123"
    assert replication_config_dimensions(arn) == [
        {"Name": "ReplicationConfigId", "Value": "123456789012:ABCDEF123"}
    ]
    for bad in ("arn:aws:dms:eu-west-1:123456789012:task:ABCDEF123", "ABCDEF123", ""):
        with pytest.raises(ValueError, match="not a replication config ARN"):
            replication_config_dimensions(bad)

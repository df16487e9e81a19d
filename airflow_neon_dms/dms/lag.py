"""Replication lag and quiescence: is a window of CloudWatch datapoints at or under its limits? (pure)

AWS DMS publishes task metrics to CloudWatch namespace ``AWS/DMS`` (user guide, "Monitoring AWS
DMS tasks", replication task metrics): ``CDCLatencySource`` and ``CDCLatencyTarget`` in seconds,
``CDCIncomingChanges`` (change events waiting to be applied to the target) and
``FullLoadThroughputRowsTarget``, with the dimensions ``ReplicationInstanceIdentifier`` (the
instance's identifier) and ``ReplicationTaskIdentifier`` (the task's resource id: the last part
of its ARN, not the name given at creation).

A DMS Serverless replication publishes the same metric names in ``AWS/DMS`` under one dimension,
``ReplicationConfigId``, whose value is ``<account id>:<resource id of the config's ARN>`` (see
docs/operators.md, "CloudWatch dimensions of a serverless replication", for the sources and for
``metric_dimensions``, which overrides the dimensions where an account shows other values).

The rule: every metric has a datapoint for every period of the window, none above its limit. The
window ends at the newest datapoint, which must be recent. No data, a gap, or stale data never
passes: the wait goes on, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NAMESPACE = "AWS/DMS"
CDC_LATENCY_SOURCE = "CDCLatencySource"
CDC_LATENCY_TARGET = "CDCLatencyTarget"
CDC_INCOMING_CHANGES = "CDCIncomingChanges"
FULL_LOAD_THROUGHPUT_ROWS_TARGET = "FullLoadThroughputRowsTarget"
INSTANCE_DIMENSION = "ReplicationInstanceIdentifier"
TASK_DIMENSION = "ReplicationTaskIdentifier"
CONFIG_DIMENSION = "ReplicationConfigId"
#: The statistic the waits read: the worst value of each period.
STATISTIC = "Maximum"
#: DMS publishes task metrics once a minute.
DEFAULT_PERIOD = 60
#: How many periods the newest datapoint may lag behind the clock (CloudWatch delivers late).
DEFAULT_STALE_PERIODS = 3


@dataclass(frozen=True)
class Datapoint:
    """One CloudWatch datapoint: epoch seconds of the period's start, and its value."""

    timestamp: float
    value: float


@dataclass(frozen=True)
class WindowVerdict:
    """The verdict on a window: ``satisfied``, why not, and whether a person should look (warning)."""

    satisfied: bool
    message: str
    warning: bool = False


def task_resource_id(task_arn: str) -> str:
    """``arn:aws:dms:us-east-1:123:task:ABCD`` -> ``ABCD``: the task's ReplicationTaskIdentifier dimension."""
    resource = task_arn.rsplit(":", 1)[-1].strip()
    if not task_arn.startswith("arn:") or not resource:
        raise ValueError(
            f"{task_arn!r} is not a replication task ARN (arn:aws:dms:<region>:<account>:task:<id>)."
        )
    return resource


def task_dimensions(instance_identifier: str, task_arn: str) -> list[dict[str, str]]:
    """The CloudWatch dimensions of a replication task's metrics."""
    return [
        {"Name": INSTANCE_DIMENSION, "Value": instance_identifier},
        {"Name": TASK_DIMENSION, "Value": task_resource_id(task_arn)},
    ]


def replication_config_dimensions(config_arn: str) -> list[dict[str, str]]:
    """The CloudWatch dimensions of a DMS Serverless replication's metrics (see the module)."""
    parts = (config_arn or "").split(":")
    if len(parts) < 7 or parts[5] != "replication-config" or not parts[4] or not parts[6]:
        raise ValueError(
            f"{config_arn!r} is not a replication config ARN "
            "(arn:aws:dms:<region>:<account>:replication-config:<id>)."
        )
    return [{"Name": CONFIG_DIMENSION, "Value": f"{parts[4]}:{parts[6]}"}]


def _metric_verdict(
    name: str,
    points: Sequence[Datapoint],
    limit: float,
    *,
    window_start: float,
    window_end: float,
    period: float,
) -> WindowVerdict | None:
    """None when ``points`` cover [window_start, window_end] at or under ``limit``; else why not."""
    inside = sorted(p.timestamp for p in points if window_start <= p.timestamp <= window_end)
    if not inside:
        return WindowVerdict(False, f"{name} has no datapoint in the window yet.")
    worst = max(p.value for p in points if window_start <= p.timestamp <= window_end)
    if worst > limit:
        return WindowVerdict(False, f"{name} is {worst:g}, above {limit:g}, within the window.")
    # Datapoints are one period apart; half a period of slack absorbs clock jitter.
    edges = [window_start - period, *inside, window_end + period]
    gap = max(b - a for a, b in zip(edges, edges[1:], strict=False))
    if gap > 1.5 * period:
        return WindowVerdict(
            False,
            f"{name} is missing datapoints within the window (a gap of {gap - period:g} s); waiting for "
            "more.",
        )
    return None


def window_verdict(
    series: Mapping[str, Sequence[Datapoint]],
    limits: Mapping[str, float],
    *,
    window_seconds: float,
    now: float,
    period: float = DEFAULT_PERIOD,
    not_before: float | None = None,
    stale_periods: float = DEFAULT_STALE_PERIODS,
) -> WindowVerdict:
    """Is every metric of ``limits`` at or under its limit for the last ``window_seconds``?

    ``series`` maps a metric name to its datapoints (one per ``period``, stamped with the
    period's start). The window ends at the newest datapoint of all metrics' oldest newest
    datapoint and reaches back ``window_seconds`` (at least one period). Datapoints stamped before
    ``not_before`` (epoch seconds) do not count, so a window can be required to lie after an event
    such as a cutover request. A metric without datapoints, a gap of a missing period, or a newest
    datapoint older than ``stale_periods`` periods keeps the wait going; a metric with no data at
    all is flagged as a warning (wrong dimensions, or metrics not published).
    """
    if window_seconds < 0 or period <= 0:
        raise ValueError(f"window_seconds ({window_seconds}) must be >= 0 and period ({period}) > 0.")
    if not limits:
        raise ValueError("No metric limits given: name at least one metric and its limit.")
    usable = {
        name: [p for p in series.get(name, ()) if not_before is None or p.timestamp >= not_before]
        for name in limits
    }
    missing = [name for name in limits if not series.get(name)]
    if missing:
        return WindowVerdict(
            False,
            f"No datapoints for {', '.join(missing)}: the run publishes no such metric yet, or the "
            "dimensions (ReplicationInstanceIdentifier and ReplicationTaskIdentifier of a task, "
            "ReplicationConfigId of a serverless replication) do not match it.",
            warning=True,
        )
    empty = [name for name, points in usable.items() if not points]
    if empty:
        return WindowVerdict(False, f"No datapoints yet for {', '.join(empty)} in the time that counts.")
    window_end = min(max(p.timestamp for p in points) for points in usable.values())
    if now - window_end > stale_periods * period:
        return WindowVerdict(
            False,
            f"The newest datapoint is {now - window_end:.0f} s old (more than {stale_periods:g} periods of "
            f"{period:g} s); waiting for fresh metrics.",
            warning=True,
        )
    span = max(window_seconds, period)
    # A window of N periods holds N period starts: window_end and N - 1 before it.
    window_start = window_end - span + period
    if not_before is not None and window_start < not_before:
        return WindowVerdict(
            False,
            f"Only {window_end + period - not_before:g} s of datapoints since the wait began; need "
            f"{span:g} s.",
        )
    for name, limit in limits.items():
        verdict = _metric_verdict(
            name, usable[name], limit, window_start=window_start, window_end=window_end, period=period
        )
        if verdict is not None:
            return verdict
    shown = ", ".join(f"{name} <= {limit:g}" for name, limit in limits.items())
    return WindowVerdict(True, f"{shown} for {span:g} s (up to {window_end:.0f}).")


def lag_limits(threshold_seconds: float) -> dict[str, float]:
    """Limits of the replication-lag wait: source and target latency at or under the threshold."""
    if threshold_seconds < 0:
        raise ValueError(f"The lag threshold ({threshold_seconds}) must be 0 or more seconds.")
    return {CDC_LATENCY_SOURCE: float(threshold_seconds), CDC_LATENCY_TARGET: float(threshold_seconds)}


def quiet_limits() -> dict[str, float]:
    """Limits of the quiescence wait: no incoming changes and zero latency."""
    return {CDC_INCOMING_CHANGES: 0.0, CDC_LATENCY_SOURCE: 0.0, CDC_LATENCY_TARGET: 0.0}


def caught_up_limits(threshold_seconds: float) -> dict[str, float]:
    """Limits of the cutover's catch-up: nothing waiting to be applied, latency under the threshold."""
    return {CDC_INCOMING_CHANGES: 0.0, **lag_limits(threshold_seconds)}


def query_start(
    now: float, window_seconds: float, period: float, stale_periods: float = DEFAULT_STALE_PERIODS
) -> float:
    """Epoch seconds from which to fetch datapoints: the window, plus the delay stale data may have."""
    return now - max(window_seconds, period) - (stale_periods + 1) * period

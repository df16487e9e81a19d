"""The CloudWatch metrics a replication task publishes, named, dimensioned and unit-ed as on AWS.

Sources (AWS DMS User Guide, "Monitoring AWS DMS tasks", section "Replication task metrics"):

- namespace ``AWS/DMS``;
- ``CDCLatencySource``: "the gap, in seconds, between the last event captured from the source
  endpoint and current system time stamp of the AWS DMS instance" (Seconds);
- ``CDCLatencyTarget``: "the gap, in seconds, between the first event timestamp waiting to commit
  on the target and the current timestamp of the AWS DMS instance"; never below the source
  latency (Seconds);
- ``CDCIncomingChanges``: "the total number of change events at a point-in-time that are waiting
  to be applied to the target" (Count);
- ``FullLoadThroughputRowsTarget``: "outgoing changes from a full load for the target in rows per
  second" (Count/Second).

Dimensions of a task on a replication instance: ``ReplicationInstanceIdentifier`` — the
instance's own identifier (``ReplicationInstanceIdentifier`` of DescribeReplicationInstances) — and
``ReplicationTaskIdentifier`` — NOT the task's identifier but its resource id, the last part of
its ARN (``arn:aws:dms:<region>:<account>:task:<resource id>``). That is what AWS's CloudWatch
console lists, what prometheus-community/yet-another-cloudwatch-exporter reads off the task ARN
(``task:(?P<ReplicationTaskIdentifier>[^/]+)``, with the instance identifier looked up through
DescribeReplicationInstances), and what a query with the task's name silently misses.

A DMS Serverless replication publishes the same metrics under one dimension, ``ReplicationConfigId``,
valued ``<account id>:<resource id>`` of its config's ARN (as a public CloudWatch dashboard of a
serverless replication reads them; docs/operators.md names the sources): ``replication_dimensions``.

Publishing from a task's thread:

- ``FullLoadThroughput`` (a context manager around a full load) samples the rows the target has
  accepted and publishes ``FullLoadThroughputRowsTarget`` every period and once at the end;
- ``publish_cdc_progress`` publishes the three CDC metrics at most once per period
  (``LocalMetrics.period_seconds``, 5 s by default);
- ``CdcMetricsSampler`` (a context manager around a CDC stream) calls it every period with a
  reading taken at that moment, from its own thread: a reading taken by the CDC loop itself would
  always come right after an apply, when nothing waits, and CDCLatencyTarget would read 0 while
  changes wait to be committed on the target.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

from airflow_neon_dms.local.cloudwatch_metrics import LocalMetrics
from airflow_neon_dms.local.models import ReplicationTask

NAMESPACE = "AWS/DMS"
CDC_LATENCY_SOURCE = "CDCLatencySource"
CDC_LATENCY_TARGET = "CDCLatencyTarget"
CDC_INCOMING_CHANGES = "CDCIncomingChanges"
FULL_LOAD_THROUGHPUT_ROWS_TARGET = "FullLoadThroughputRowsTarget"
#: CloudWatch's ``StandardUnit`` of each metric (botocore's cloudwatch model names the units).
UNITS = {
    CDC_LATENCY_SOURCE: "Seconds",
    CDC_LATENCY_TARGET: "Seconds",
    CDC_INCOMING_CHANGES: "Count",
    FULL_LOAD_THROUGHPUT_ROWS_TARGET: "Count/Second",
}


def task_dimensions(instance_identifier: str, task_arn: str) -> dict[str, str]:
    """The dimensions AWS DMS publishes a task's metrics under (see the module docstring)."""
    return {
        "ReplicationInstanceIdentifier": instance_identifier,
        "ReplicationTaskIdentifier": task_arn.rsplit(":", 1)[-1],
    }


def replication_dimensions(config_arn: str) -> dict[str, str]:
    """The dimensions a DMS Serverless replication publishes its metrics under (module docstring)."""
    parts = config_arn.split(":")
    return {"ReplicationConfigId": f"{parts[4]}:{parts[-1]}"}


@dataclass(frozen=True)
class TaskMetrics:
    """Publishes one task's metrics into its region of an emulator's ``LocalMetrics``."""

    store: LocalMetrics
    region: str
    task_arn: str
    dimensions: Mapping[str, str]

    def put(self, values: Mapping[str, float], when: float | None = None) -> None:
        """Publish ``{metric name: value}`` now (or at ``when``, epoch seconds)."""
        unknown = sorted(set(values) - set(UNITS))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} is not a task metric the local DMS publishes: {sorted(UNITS)}"
            )
        self.store.put(
            self.region,
            NAMESPACE,
            {name: (float(value), UNITS[name]) for name, value in values.items()},
            self.dimensions,
            when,
        )

    def put_periodically(
        self, kind: str, values: Mapping[str, float], when: float | None = None, *, force: bool = False
    ) -> bool:
        """``put`` when this task's ``kind`` of metrics last went out a period ago (or ``force``)."""
        if not self.store.due((self.task_arn, kind), when) and not force:
            return False
        self.put(values, when)
        return True


def metrics_of(task: ReplicationTask) -> TaskMetrics | None:
    """The publisher of ``task`` (None when the task belongs to no service, e.g. in a unit test)."""
    observer = task.observer
    return observer.task_metrics(task) if observer is not None else None


def publish_cdc_progress(
    task: ReplicationTask,
    source_latency_s: float,
    target_latency_s: float,
    incoming_changes: int,
    *,
    when: float | None = None,
    force: bool = False,
) -> bool:
    """Publish ``CDCLatencySource``, ``CDCLatencyTarget`` and ``CDCIncomingChanges`` of ``task``
    at most once per period (``force`` publishes now, e.g. the last reading before a stop).

    Call it as often as convenient from the CDC loop; returns whether it published. The target
    latency is reported as at least the source latency, as AWS defines it.
    """
    if source_latency_s < 0 or target_latency_s < 0 or incoming_changes < 0:
        raise ValueError(
            f"CDC progress of {task.identifier} must not be negative: source latency "
            f"{source_latency_s}, target latency {target_latency_s}, incoming changes {incoming_changes}"
        )
    metrics = metrics_of(task)
    if metrics is None:
        return False
    values = {
        CDC_LATENCY_SOURCE: source_latency_s,
        CDC_LATENCY_TARGET: max(target_latency_s, source_latency_s),
        CDC_INCOMING_CHANGES: incoming_changes,
    }
    return metrics.put_periodically("cdc", values, when, force=force)


_Publisher = TypeVar("_Publisher", bound="_PeriodicPublisher")


class _PeriodicPublisher:
    """A context manager whose thread calls ``tick()`` every metrics period while it is open,
    and once more when it closes (nothing when the task publishes nowhere)."""

    thread_name = "metrics"

    def __init__(self, task: ReplicationTask) -> None:
        self.task = task
        self.metrics = metrics_of(task)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> object:
        raise NotImplementedError

    def _run(self, period: float) -> None:
        while not self._stop.wait(period):
            self.tick()

    def __enter__(self: _Publisher) -> _Publisher:
        if self.metrics is not None:
            self._thread = threading.Thread(
                target=self._run,
                args=(self.metrics.store.period_seconds,),
                name=self.thread_name,
                daemon=True,
            )
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.tick()


class FullLoadThroughput(_PeriodicPublisher):
    """While a full load runs, publishes ``FullLoadThroughputRowsTarget``: the rows the target
    accepted since the last sample (the tables' ``FullLoadRows``, read under ``lock``), per
    second, every period and once when the load ends.
    """

    thread_name = "full-load-metrics"

    def __init__(self, task: ReplicationTask, lock: threading.RLock) -> None:
        super().__init__(task)
        self.lock = lock
        self._last = (time.time(), 0)

    def rows(self) -> int:
        with self.lock:
            return sum(table.full_load_rows for table in self.task.tables.values())

    def sample(self) -> float | None:
        """Publish the rate since the last sample; returns it (None when nothing to publish to)."""
        now, rows = time.time(), self.rows()
        then, before = self._last
        self._last = (now, rows)
        if self.metrics is None or now <= then:
            return None
        rate = max(rows - before, 0) / (now - then)
        self.metrics.put({FULL_LOAD_THROUGHPUT_ROWS_TARGET: rate}, now)
        return rate

    def tick(self) -> float | None:
        return self.sample()

    def __enter__(self) -> FullLoadThroughput:
        self._last = (time.time(), self.rows())
        return super().__enter__()


#: (CDCLatencySource seconds, CDCLatencyTarget seconds, CDCIncomingChanges) at this moment.
CdcReading = tuple[float, float, int]


class CdcMetricsSampler(_PeriodicPublisher):
    """While a CDC stream runs, publishes ``sample()`` when it starts, every period, and once
    more when it ends."""

    thread_name = "cdc-metrics"

    def __init__(self, task: ReplicationTask, sample: Callable[[], CdcReading]) -> None:
        super().__init__(task)
        self.sample = sample

    def tick(self) -> CdcReading:
        """Take a reading and publish it now; returns it."""
        reading = self.sample()
        publish_cdc_progress(self.task, *reading, force=True)
        return reading

    def __enter__(self) -> CdcMetricsSampler:
        self.tick()
        return super().__enter__()

"""CDCLatencyTarget of the local DMS under a steady load of 1,000 changes a second: p50 and p99.

An embedded PostgreSQL with ``wal_level=logical`` holds the source and the target database; a
``full-load-and-cdc`` task (over boto3 and HTTP) replicates ``bench_lag (id bigint primary key,
v int)``. Once its (empty) full load is done, the source gets 1,000 changes a second for
``--seconds`` (100 transactions a second of 10 inserted rows each, paced against the clock). The
task's CDCLatencyTarget is then read back as AWS publishes it (CloudWatch GetMetricData,
namespace AWS/DMS, dimensions of the task, statistic Maximum, period = the emulator's publishing
period of 1 s) and its p50 and p99 over the load printed, with the achieved load, beside the
delay measured from each source commit to its rows on the target (a reader polling the target
every 20 ms): the metric is a sample, once a period, of how long the oldest change read and not
yet committed on the target has waited, so it should track the measured delay, not read 0.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import psycopg
from psycopg import sql

from airflow_neon_dms.local.embedded import EmbeddedPostgres
from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.stack import LOGICAL_DECODING
from airflow_neon_dms.local.state_timing import INSTANT
from benchmarks._dms_bench import _run

RATE = 1_000
ROWS_PER_TRANSACTION = 10
PERIOD = 1


def _steady_load(dsn: str, seconds: float, commits: list[tuple[float, int]]) -> float:
    """Insert ``RATE`` rows a second for ``seconds``; returns the achieved changes per second.
    Appends ``(commit time, last id)`` of every transaction to ``commits``."""
    per_second = RATE // ROWS_PER_TRANSACTION
    next_id = 1
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * per_second) + 1
            while sent < due:
                with conn.transaction():
                    conn.execute(
                        "INSERT INTO bench_lag SELECT g, 0 FROM generate_series(%s::bigint, %s::bigint) g",
                        [next_id, next_id + ROWS_PER_TRANSACTION - 1],
                    )
                next_id += ROWS_PER_TRANSACTION
                commits.append((time.monotonic(), next_id - 1))
                sent += 1
            time.sleep(max(0.0, (sent / per_second) - (time.monotonic() - started)))
        return (next_id - 1) / (time.monotonic() - started)


def _watch_target(dsn: str, stop: threading.Event, seen: list[tuple[float, int]]) -> None:
    """Every 20 ms, the target's highest applied id (inserts apply in commit order)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute("SELECT coalesce(max(id), 0) FROM bench_lag").fetchone()
            seen.append((time.monotonic(), int(row[0]) if row else 0))
            stop.wait(0.02)


def _apply_delays(commits: list[tuple[float, int]], seen: list[tuple[float, int]]) -> list[float]:
    """Seconds from each source commit to the first look that found its rows on the target."""
    delays, index = [], 0
    for committed, last_id in commits:
        while index < len(seen) and seen[index][1] < last_id:
            index += 1
        if index == len(seen):
            break
        delays.append(max(0.0, seen[index][0] - committed))
    return delays


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per API call
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    seconds = parser.parse_args().seconds
    suffix = uuid.uuid4().hex[:8]
    source_db, target_db = f"bench_lag_src_{suffix}", f"bench_lag_dst_{suffix}"
    with (
        EmbeddedPostgres(settings=LOGICAL_DECODING) as server,
        LocalDms(timing=INSTANT, metrics_period_seconds=PERIOD) as dms,
    ):
        for database in (source_db, target_db):
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            with psycopg.connect(server.dsn(database), autocommit=True) as conn:
                conn.execute("CREATE TABLE bench_lag (id bigint PRIMARY KEY, v int NOT NULL)")
        task = _run(
            dms.endpoint_url, server.dsn, [source_db, target_db], 1, "full-load-and-cdc", serverless=False
        )
        commits: list[tuple[float, int]] = []
        seen: list[tuple[float, int]] = []
        stop = threading.Event()
        watcher = threading.Thread(target=_watch_target, args=(server.dsn(target_db), stop, seen))
        watcher.start()
        began = datetime.now(timezone.utc)
        try:
            achieved = _steady_load(server.dsn(source_db), seconds, commits)
            ended = datetime.now(timezone.utc)
            time.sleep(3 * PERIOD)  # the last period's datapoint, and the last rows applied
        finally:
            stop.set()
            watcher.join()
        resource_id = task.arn.rsplit(":", 1)[-1]
        cloudwatch = boto3.client(
            "cloudwatch",
            endpoint_url=dms.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="b",
            aws_secret_access_key="b",
        )
        data = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "lag",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/DMS",
                            "MetricName": "CDCLatencyTarget",
                            "Dimensions": [
                                {"Name": "ReplicationInstanceIdentifier", "Value": "bench"},
                                {"Name": "ReplicationTaskIdentifier", "Value": resource_id},
                            ],
                        },
                        "Period": PERIOD,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=began,
            EndTime=ended + timedelta(seconds=PERIOD),
        )["MetricDataResults"][0]
    delays = _apply_delays(commits, seen)
    print(
        f"measured apply delay (commit on the source to the row on the target, {len(delays)} of "
        f"{len(commits)} transactions): p50 {statistics.median(delays):.3f} s, "
        f"p99 {_percentile(delays, 0.99):.3f} s"
    )
    values = [float(v) for v in data.get("Values", [])]
    if not values:
        print("cdc_lag: the task published no CDCLatencyTarget datapoints; no figure")
        return 1
    print(f"load: {achieved:.0f} changes/s for {seconds:.0f} s (goal {RATE})")
    print(
        f"CDCLatencyTarget over {len(values)} datapoints of {PERIOD} s: "
        f"p50 {statistics.median(values):.2f} s, "
        f"p99 {_percentile(values, 0.99):.2f} s, max {max(values):.2f} s"
    )
    print(
        f"published vs measured: p50 {statistics.median(values):.2f} s vs "
        f"{statistics.median(delays):.2f} s, p99 {_percentile(values, 0.99):.2f} s vs "
        f"{_percentile(delays, 0.99):.2f} s (the metric is sampled once a period: the oldest change "
        "read and not yet committed on the target)"
    )
    return 0


if __name__ == "__main__":
    stop_on_sigterm()
    raise SystemExit(main())

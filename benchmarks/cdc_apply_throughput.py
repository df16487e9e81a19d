"""CDC apply throughput of the local DMS against native PostgreSQL logical replication.

Two embedded PostgreSQL servers: the source with ``wal_level=logical``, the target plain. Each side
gets a table ``bench_changes (id bigint primary key, v int)``, empty at the start. Two paths take
the same change workload on the source (``--rows`` inserts in transactions of 100 rows, then one
update of each of those rows, again 100 a transaction):

- the local DMS: a ``full-load-and-cdc`` task (over boto3 and HTTP) from the source database to a
  target database, started and past its (empty) full load before the workload begins;
- native logical replication: ``CREATE PUBLICATION`` on another source database and
  ``CREATE SUBSCRIPTION ... WITH (copy_data = false)`` on another target database, its apply
  worker streaming before the workload begins.

Each run is timed from the start of the workload until the target holds every row with its final
value (polled every 10 ms). The workload runs in a child process, as the application writing to
a source would: in the benchmark's own process it would share the interpreter (and its lock)
with the in-process local DMS, a handicap that the native apply worker, a server process, does
not have.

A first round through both paths is not counted: the first run on fresh servers pays for what
later runs find ready (new WAL segments, cold caches), and whichever path ran first paid it.
Then ``--rounds`` rounds alternate which path goes first (each round writes new rows). Prints
changes per second of each round, the medians and the ratio of the medians local/native (goal:
at least 0.5).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.embedded import EmbeddedPostgres
from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.stack import LOGICAL_DECODING
from airflow_neon_dms.local.state_timing import INSTANT
from benchmarks._dms_bench import _run

TABLE = "bench_changes"
BATCH = 100


def _create(dsn: str, database: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _table(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, v int NOT NULL)")


def _workload(dsn: str, first: int, rows: int, ready: Any, go: Any) -> None:
    """Inserts then updates of ``rows`` new rows from id ``first``, ``BATCH`` a transaction, once
    ``go`` is set."""
    last = first + rows - 1
    with psycopg.connect(dsn, autocommit=True) as conn:
        ready.set()
        go.wait()
        for start in range(first, last + 1, BATCH):
            with conn.transaction():
                conn.execute(
                    "INSERT INTO bench_changes SELECT g, 0 FROM generate_series(%s::bigint, %s::bigint) g",
                    [start, min(start + BATCH - 1, last)],
                )
        for start in range(first, last + 1, BATCH):
            with conn.transaction():
                conn.execute(
                    "UPDATE bench_changes SET v = 1 WHERE id BETWEEN %s AND %s",
                    [start, min(start + BATCH - 1, last)],
                )


def _applied(dsn: str, total: int) -> Callable[[], bool]:
    conn = psycopg.connect(dsn, autocommit=True)

    def done() -> bool:
        row = conn.execute("SELECT count(*), coalesce(sum(v), 0) FROM bench_changes").fetchone()
        return row is not None and row[0] == total and row[1] == total

    return done


def _timed(source: str, target: str, first: int, rows: int) -> float:
    """Changes per second of one run: rows ``first`` .. ``first + rows - 1`` (the table already
    holds the ``first - 1`` rows of earlier runs, all updated)."""
    done = _applied(target, first - 1 + rows)
    context = multiprocessing.get_context("spawn")
    ready, go = context.Event(), context.Event()
    writer = context.Process(target=_workload, args=(source, first, rows, ready, go), daemon=True)
    writer.start()
    if not ready.wait(120):
        raise RuntimeError("the workload process did not connect to the source within 2 minutes")
    started = time.perf_counter()
    go.set()
    try:
        while not done():
            time.sleep(0.01)
            if time.perf_counter() - started > 900:
                raise RuntimeError("the changes were not applied within 15 minutes")
    finally:
        writer.join(timeout=60)
    if writer.exitcode != 0:
        raise RuntimeError(f"the workload process failed (exit code {writer.exitcode})")
    return 2 * rows / (time.perf_counter() - started)


def _native(src: EmbeddedPostgres, dst: EmbeddedPostgres, source_db: str, target_db: str) -> None:
    """Publish the source table and subscribe the target to it, without copying; wait until it streams."""
    with psycopg.connect(src.dsn(source_db), autocommit=True) as conn:
        conn.execute(f"CREATE PUBLICATION bench_pub FOR TABLE {TABLE}")
    with psycopg.connect(dst.dsn(target_db), autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE SUBSCRIPTION bench_sub CONNECTION {} PUBLICATION bench_pub WITH (copy_data = false)"
            ).format(sql.Literal(f"host={src.host} port={src.port} user={src.user} dbname={source_db}"))
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = conn.execute("SELECT pid FROM pg_stat_subscription WHERE subname = 'bench_sub'").fetchone()
            if row and row[0]:
                return
            time.sleep(0.2)
    raise RuntimeError("the native subscription did not start streaming within 60 s")


def _drop_subscription(dst: EmbeddedPostgres, target_db: str) -> None:
    with psycopg.connect(dst.dsn(target_db), autocommit=True) as conn:
        conn.execute("DROP SUBSCRIPTION IF EXISTS bench_sub")


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per API call
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows inserted, then updated, per run")
    parser.add_argument("--rounds", type=int, default=4, help="measured rounds (after a warm-up round)")
    args = parser.parse_args()
    rows, rounds = args.rows, args.rounds
    if rows < 100 or rounds < 1:
        parser.error("--rows takes at least 100 (one transaction) and --rounds at least 1")
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"bench_{kind}_{suffix}" for kind in ("dms_src", "dms_dst", "native_src", "native_dst")}
    results: dict[str, list[float]] = {"local": [], "native": []}
    with (
        EmbeddedPostgres(settings=LOGICAL_DECODING) as src,
        EmbeddedPostgres() as dst,
        LocalDms(timing=INSTANT) as dms,
    ):
        for kind, database in names.items():
            server = src if kind.endswith("src") else dst
            _create(server.dsn(), database)
            _table(server.dsn(database))

        def dsn(database: str) -> str:
            return (src if database.startswith("bench_dms_src") else dst).dsn(database)

        _run(
            dms.endpoint_url,
            dsn,
            [names["dms_src"], names["dms_dst"]],
            1,
            "full-load-and-cdc",
            serverless=False,
        )
        _native(src, dst, names["native_src"], names["native_dst"])
        paths = {
            "local": (src.dsn(names["dms_src"]), dst.dsn(names["dms_dst"])),
            "native": (src.dsn(names["native_src"]), dst.dsn(names["native_dst"])),
        }
        try:
            for number in range(rounds + 1):  # round 0 warms both paths up and is not counted
                order = ["local", "native"] if number % 2 == 0 else ["native", "local"]
                for path in order:
                    rate = _timed(*paths[path], first=number * rows + 1, rows=rows)
                    if number:
                        results[path].append(rate)
                if number:
                    print(
                        f"round {number} ({order[0]} first): local {results['local'][-1]:.0f}, "
                        f"native {results['native'][-1]:.0f} changes/s"
                    )
        finally:
            _drop_subscription(dst, names["native_dst"])
    local, native = statistics.median(results["local"]), statistics.median(results["native"])
    print(f"changes a run: {2 * rows} ({rows} inserts, then {rows} updates; {BATCH} rows a transaction)")
    print(f"local DMS CDC apply (median of {rounds}):  {local:10.0f} changes/s")
    print(f"native logical replication (median):   {native:10.0f} changes/s")
    print(f"ratio local/native: {local / native:.2f} (goal >= 0.5)")
    return 0


if __name__ == "__main__":
    stop_on_sigterm()
    raise SystemExit(main())

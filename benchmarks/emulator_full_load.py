"""Benchmark: the local DMS emulator's full load against a plain psycopg COPY pipe.

A 1,000,000-row PostgreSQL table is copied into a fresh database twice per round, on the same
server in the same run: once by the emulator (``neon-dms local-dms`` in its own process, as a user
runs it; a replication task started through boto3 over HTTP, timed from StartReplicationTask until
DescribeReplicationTasks shows ``stopped``, polled every 50 ms), once by psycopg
``COPY ... TO STDOUT`` piped into ``COPY ... FROM STDIN`` (with the same CREATE TABLE and primary
key in the same transaction). Prints both times and the ratio; the target is at most 1.5x.

Uses the PostgreSQL server in NEON_DMS_BENCH_PG_DSN (a superuser libpq URI), else an embedded one.
Set NEON_DMS_BENCH_ROWS to change the row count.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import psycopg
from _common import server, with_database
from psycopg import sql

from airflow_neon_dms.local.embedded import free_port
from airflow_neon_dms.local.foreground import stop_on_sigterm

FULL_ROWS = 1_000_000
ROWS = int(os.environ.get("NEON_DMS_BENCH_ROWS", str(FULL_ROWS)))
ROUNDS = 3
TARGET_RATIO = 1.5
TABLE_DDL = (
    "CREATE TABLE bench_orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), "
    "created_at timestamptz, note text)"
)
FILL = (
    "INSERT INTO bench_orders SELECT g, 'customer ' || (g %% 5000), (g %% 100000) / 100.0, "
    "timestamptz '2024-01-01' + g * interval '1 second', "
    "CASE WHEN g %% 7 = 0 THEN NULL ELSE md5(g::text) END "
    "FROM generate_series(1, %s) g"
)


def copy_pipe(source_dsn: str, target_dsn: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(source_dsn) as source, psycopg.connect(target_dsn) as target:
        with target.transaction(), target.cursor() as tcur:
            tcur.execute(TABLE_DDL)
            with (
                source.cursor() as scur,
                scur.copy("COPY bench_orders TO STDOUT") as out,
                tcur.copy("COPY bench_orders FROM STDIN") as into,
            ):
                for data in out:
                    into.write(data)
    return time.perf_counter() - started


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    """Run ``neon-dms local-dms`` on a free port; yield its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_neon_dms.cli",
            "local-dms",
            "--port",
            str(port),
            "--log-level",
            "WARNING",
            "--instant-states",  # time the load, not AWS's starting/deleting states
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "ready" not in line:
            raise SystemExit(f"the emulator did not start: {line}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def emulator_load(endpoint_url: str, dsn: str, source_db: str, target_db: str) -> float:
    client = boto3.client(
        "dms",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    parts = urlsplit(dsn)
    database = {
        "EngineName": "postgres",
        "ServerName": parts.hostname or "127.0.0.1",
        "Port": parts.port or 5432,
        "Username": parts.username or "postgres",
        "Password": parts.password or "unused",
    }
    suffix = uuid.uuid4().hex[:8]
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier=f"bench-{suffix}", ReplicationInstanceClass="dms.c5.large"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    source = client.create_endpoint(
        EndpointIdentifier=f"src-{suffix}", EndpointType="source", DatabaseName=source_db, **database
    )["Endpoint"]["EndpointArn"]
    target = client.create_endpoint(
        EndpointIdentifier=f"dst-{suffix}", EndpointType="target", DatabaseName=target_db, **database
    )["Endpoint"]["EndpointArn"]
    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "orders",
                "object-locator": {"schema-name": "public", "table-name": "bench_orders"},
                "rule-action": "include",
            }
        ]
    }
    task = client.create_replication_task(
        ReplicationTaskIdentifier=f"bench-{suffix}",
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=instance,
        MigrationType="full-load",
        TableMappings=json.dumps(mappings),
    )["ReplicationTask"]["ReplicationTaskArn"]
    started = time.perf_counter()
    client.start_replication_task(ReplicationTaskArn=task, StartReplicationTaskType="start-replication")
    while True:
        described = client.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [task]}]
        )["ReplicationTasks"][0]
        if described["Status"] in ("stopped", "failed"):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if described["Status"] != "stopped":
        raise SystemExit(f"the emulator's task failed: {described.get('LastFailureMessage')}")
    rows = client.describe_table_statistics(ReplicationTaskArn=task)["TableStatistics"][0]["FullLoadRows"]
    if rows != ROWS:
        raise SystemExit(f"the emulator loaded {rows} rows, expected {ROWS}")
    return elapsed


def main() -> int:
    with server() as dsn, emulator_process() as endpoint_url:
        names = [f"bench_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("src", "pipe", "dms")]
        with psycopg.connect(dsn, autocommit=True) as admin:
            for name in names:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        source_db, pipe_db, dms_db = names
        try:
            with psycopg.connect(with_database(dsn, source_db), autocommit=True) as conn:
                conn.execute(TABLE_DDL)
                conn.execute(FILL, [ROWS])
                conn.execute("VACUUM ANALYZE bench_orders")
            pipe_times, dms_times = [], []
            for _ in range(ROUNDS):
                for db in (pipe_db, dms_db):
                    with psycopg.connect(with_database(dsn, db), autocommit=True) as conn:
                        conn.execute("DROP TABLE IF EXISTS bench_orders")
                pipe_times.append(copy_pipe(with_database(dsn, source_db), with_database(dsn, pipe_db)))
                dms_times.append(emulator_load(endpoint_url, dsn, source_db, dms_db))
        finally:
            with psycopg.connect(dsn, autocommit=True) as admin:
                for name in names:
                    admin.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                    )
    pipe, emulator = min(pipe_times), min(dms_times)
    ratio = emulator / pipe
    print(f"rows: {ROWS:,}; best of {ROUNDS} rounds each")
    print(f"psycopg COPY pipe:        {pipe:7.2f} s")
    print(f"local DMS emulator (API): {emulator:7.2f} s")
    print(f"ratio emulator / pipe:    {ratio:7.2f}x (target <= {TARGET_RATIO}x)")
    if ROWS < FULL_ROWS:  # a smoke run: fixed costs dominate a small load
        print(f"(the target is judged at {FULL_ROWS:,} rows only)")
        return 0
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(main())

"""``make demo``: the example DAG end to end on an embedded local stack.

Starts an embedded source PostgreSQL with the shop database, an embedded PostgreSQL behind the
local Neon proxy (TLS, endpoint id in the password) as the Neon target, and the local DMS emulator;
arms a one-shot fault on the Neon side so one table arrives corrupted; runs
``airflow dags test neon_dms_migration``; checks every table independently (row counts and a
checksum on both sides); prints a summary; stops and removes everything it started.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import psycopg
from psycopg import sql

from airflow_neon_dms.local.demo_faults import install_one_shot_corruption
from airflow_neon_dms.local.embedded import EmbeddedPostgres
from airflow_neon_dms.local.sample_data import MIGRATED_TABLES, create_source, create_target

DAG_ID = "neon_dms_migration"
ENDPOINT_ID = "ep-local-demo"
NEON_ROLE = "neondb_owner"
#: The embedded Neon stand-in trusts local connections; the proxy still demands this password form.
NEON_PASSWORD = "local-demo-password"
INSTANCE_ID = "neon-dms-local"
CORRUPTED_TABLE = "orders"
REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _create_database(server: EmbeddedPostgres, name: str, owner: str | None = None) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        if owner:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner:
            query = sql.SQL("{} OWNER {}").format(query, sql.Identifier(owner))
        conn.execute(query)


def _replication_instance(endpoint_url: str) -> str:
    client = boto3.client(
        "dms",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    arn: str = client.create_replication_instance(
        ReplicationInstanceIdentifier=INSTANCE_ID, ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    client.get_waiter("replication_instance_available").wait(
        Filters=[{"Name": "replication-instance-arn", "Values": [arn]}],
        WaiterConfig={"Delay": 1, "MaxAttempts": 60},
    )
    return arn


def _table_fingerprints(dsn: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every migrated table."""
    result = {}
    with psycopg.connect(dsn) as conn:
        for table in MIGRATED_TABLES:
            query = sql.SQL(
                "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM {} AS t"
            ).format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            assert row is not None
            result[table] = (int(row[0]), str(row[1]))
    return result


def _report_xcom(airflow_home: Path) -> Any:
    db = airflow_home / "airflow.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT task_id, value FROM xcom WHERE dag_id = ? AND key = 'return_value' ORDER BY timestamp",
            (DAG_ID,),
        ).fetchall()
    values = {}
    for task_id, value in rows:
        try:
            values[task_id] = json.loads(value)
        except (TypeError, ValueError):
            values[task_id] = value
    return values


def run() -> int:
    """Run the demo; return the process exit code."""
    started = time.monotonic()
    bin_dir = Path(sys.executable).parent
    workdir = Path(tempfile.mkdtemp(prefix="neon-dms-demo-"))
    airflow_home = workdir / "airflow"
    airflow_home.mkdir()
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        from airflow_neon_dms.local.neon_proxy import NeonProxy
        from airflow_neon_dms.local.server import LocalDms

        _say("starting the source PostgreSQL (embedded) with the shop database")
        source = stack.enter_context(EmbeddedPostgres())
        _create_database(source, "shop")
        counts = create_source(source.dsn("shop"))
        _say("source rows: " + ", ".join(f"{t} {n}" for t, n in counts.items()))

        _say("starting the Neon stand-in: embedded PostgreSQL behind the local Neon proxy (TLS)")
        neon_backend = stack.enter_context(EmbeddedPostgres())
        _create_database(neon_backend, "neondb", owner=NEON_ROLE)
        create_target(neon_backend.dsn("neondb"))
        install_one_shot_corruption(neon_backend.dsn("neondb"), CORRUPTED_TABLE, "total", every=50)
        proxy = stack.enter_context(NeonProxy(ENDPOINT_ID, neon_backend.host, neon_backend.port))
        _say(
            f"Neon endpoint {ENDPOINT_ID} on 127.0.0.1:{proxy.port}; the first load of "
            f"{CORRUPTED_TABLE} will be corrupted on purpose"
        )

        _say("starting the local DMS emulator")
        dms = stack.enter_context(LocalDms(port=0))
        instance_arn = _replication_instance(dms.endpoint_url)

        env = {
            **os.environ,
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW_CONN_DMS_SOURCE": source.dsn("shop"),
            "AIRFLOW_CONN_NEON_TARGET": json.dumps(
                {
                    "conn_type": "neon",
                    "host": "127.0.0.1",
                    "port": proxy.port,
                    "login": NEON_ROLE,
                    "password": NEON_PASSWORD,
                    "schema": "neondb",
                    "extra": {"endpoint_id": ENDPOINT_ID, "sslmode": "require"},
                }
            ),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "login": "local",
                    "password": "local",
                    "extra": {"region_name": REGION, "endpoint_url": dms.endpoint_url},
                }
            ),
        }
        _say("preparing Airflow's metadata database")
        subprocess.run(
            [str(bin_dir / "airflow"), "db", "migrate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        conf = {"replication_instance_arn": instance_arn, "source_schema": "public"}
        _say(f"running: airflow dags test {DAG_ID}")
        log_path = workdir / "dag-test.log"
        with log_path.open("w") as log_file:
            dag_run = subprocess.run(
                [str(bin_dir / "airflow"), "dags", "test", DAG_ID, "-c", json.dumps(conf)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        xcoms = _report_xcom(airflow_home)
        source_prints = _table_fingerprints(source.dsn("shop"))
        target_prints = _table_fingerprints(neon_backend.dsn("neondb"))
        same = [t for t in MIGRATED_TABLES if source_prints[t] == target_prints[t]]
        print()
        print(f"{'table':<14}{'source rows':>12}{'Neon rows':>12}  identical")
        for table in MIGRATED_TABLES:
            mark = "yes" if table in same else "NO"
            print(f"{table:<14}{source_prints[table][0]:>12}{target_prints[table][0]:>12}  {mark}")
        report = xcoms.get("report")
        if report:
            print()
            print("DAG report:", json.dumps(report, indent=2, default=str))
        ok = dag_run.returncode == 0 and len(same) == len(MIGRATED_TABLES)
        print()
        if ok:
            _say(
                f"migration complete and verified in {time.monotonic() - started:.0f} s: "
                f"{len(same)} tables identical on both sides; {CORRUPTED_TABLE} was repaired by reload"
            )
            return 0
        print((log_path.read_text())[-6000:])
        _say("the demo FAILED: see the log above")
        return 1
    return 1


if __name__ == "__main__":
    raise SystemExit(run())

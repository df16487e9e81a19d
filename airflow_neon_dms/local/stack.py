"""The local migration stack: source database, Neon stand-in, DMS emulator, Airflow environment.

``LocalStack`` starts (or reuses) PostgreSQL servers, creates the shop source database and the
Neon-side tables, puts the local Neon proxy (TLS, endpoint id in the password) in front of the
Neon database, starts the DMS emulator with a replication instance, and builds the environment
(``AIRFLOW_CONN_*``, ``AIRFLOW_HOME``) under which ``airflow dags test neon_dms_migration`` runs
against all of it. Used by ``make demo`` and by the end-to-end tests.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import psycopg
from psycopg import sql

from airflow_neon_dms.local.demo_faults import install_one_shot_corruption
from airflow_neon_dms.local.embedded import EmbeddedPostgres
from airflow_neon_dms.local.sample_data import MIGRATED_TABLES, SampleSize, create_source, create_target
from airflow_neon_dms.local.state_timing import AWS_LIKE, StateTiming

if TYPE_CHECKING:
    from airflow_neon_dms.local.source_writer import SourceWriter

DAG_ID = "neon_dms_migration"
ENDPOINT_ID = "ep-local-demo"
NEON_ROLE = "neondb_owner"
REGION = "us-east-1"
INSTANCE_ID = "neon-dms-local"
#: The premigration assessment's service role and results bucket on the local stack (the emulator
#: has no IAM: any role ARN of the right form is accepted; the bucket is created in its S3).
ASSESSMENT_ROLE_ARN = "arn:aws:iam::123456789012:role/neon-dms-assessment"
ASSESSMENT_BUCKET = "neon-dms-assessments"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class StackOptions:
    """What to start. ``server_dsn``: a superuser DSN of a PostgreSQL to reuse (else embedded)."""

    server_dsn: str | None = None
    sample_size: SampleSize = field(default_factory=SampleSize)
    neon_password: str = "local-demo-password"
    #: (table, column) to corrupt on the first load, or None for a clean run.
    corrupt: tuple[str, str] | None = ("orders", "total")
    #: Override the DMS source connection (e.g. an unreachable one, for failure tests).
    source_dsn_override: str | None = None
    #: The password the Airflow Neon connection sends (defaults to ``neon_password``).
    neon_password_in_connection: str | None = None
    poll_seconds: float = 1.0
    #: Start the embedded server with password (SCRAM) logins, so a wrong password really fails.
    password_auth: bool = False
    #: How long the emulator shows AWS's transitional states (creating, starting, deleting).
    timing: StateTiming = AWS_LIKE
    #: Overrides ``timing.task_creating_seconds`` when set (real DMS: about a minute).
    task_creating_seconds: float | None = None
    #: Ready the source for change data capture: its server runs with ``wal_level=logical`` (an
    #: embedded one, as ``server_dsn`` is reused only when it already has that setting) and the
    #: keyless table gets ``REPLICA IDENTITY FULL``, as the CDC pre-flight asks.
    cdc: bool = False
    #: How often the local DMS publishes a task's CloudWatch metrics (AWS: every 60 s).
    metrics_period_seconds: float = 5.0


#: Server settings of a source that DMS reads changes from by logical decoding (AWS DMS user guide,
#: "Using a PostgreSQL database as an AWS DMS source": wal_level logical, replication slots and
#: WAL senders to spare).
LOGICAL_DECODING = {"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}
#: Migrated tables without a primary key: CDC updates and deletes need REPLICA IDENTITY FULL.
KEYLESS_TABLES = ("page_views",)


def replica_identity_full(source_dsn: str) -> None:
    """Give the shop source's keyless tables ``REPLICA IDENTITY FULL``, as the CDC pre-flight asks."""
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        for table in KEYLESS_TABLES:
            conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(sql.Identifier(table)))


def _logical(server_dsn: str) -> bool:
    """True when the server at ``server_dsn`` already runs with ``wal_level=logical``."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        row = conn.execute("SHOW wal_level").fetchone()
    return bool(row and row[0] == "logical")


def _with_database(server_dsn: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(server_dsn)
    netloc = parts.netloc
    if user:
        netloc = f"{user}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


class LocalStack:
    """Everything one local migration run needs; a context manager that removes it all on exit."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.suffix = uuid.uuid4().hex[:8]
        self.source_db = f"shop_{self.suffix}"
        self.neon_db = f"neondb_{self.suffix}"
        self.neon_role = f"{NEON_ROLE}_{self.suffix}"
        self._stack = ExitStack()
        self.workdir = Path(tempfile.mkdtemp(prefix="neon-dms-stack-"))
        self.airflow_home = self.workdir / "airflow"
        self.server_dsn = ""
        self.instance_arn = ""
        self.endpoint_url = ""
        self.proxy_port = 0
        self.source_counts: dict[str, int] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        from airflow_neon_dms.local.neon_proxy import NeonProxy
        from airflow_neon_dms.local.server import LocalDms

        self._stack.callback(shutil.rmtree, self.workdir, True)
        self.airflow_home.mkdir()
        if self.options.server_dsn and (not self.options.cdc or _logical(self.options.server_dsn)):
            self.server_dsn = self.options.server_dsn
        else:
            admin_password = uuid.uuid4().hex if self.options.password_auth else None
            settings = LOGICAL_DECODING if self.options.cdc else None
            server = self._stack.enter_context(EmbeddedPostgres(password=admin_password, settings=settings))
            self.server_dsn = server.dsn()
        admin = psycopg.connect(self.server_dsn, autocommit=True)
        self._stack.callback(admin.close)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.source_db)))
        self._stack.callback(self._drop, "database", self.source_db)
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(self.neon_role), sql.Literal(self.options.neon_password)
            )
        )
        self._stack.callback(self._drop, "role", self.neon_role)
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(self.neon_db), sql.Identifier(self.neon_role)
            )
        )
        self._stack.callback(self._drop, "database", self.neon_db)
        self.source_counts = create_source(self.source_dsn, self.options.sample_size)
        if self.options.cdc:
            replica_identity_full(self.source_dsn)
        create_target(self.neon_owner_dsn)
        if self.options.corrupt:
            table, column = self.options.corrupt
            install_one_shot_corruption(self.neon_owner_dsn, table, column, every=50)
        host, port = urlsplit(self.server_dsn).hostname or "127.0.0.1", urlsplit(self.server_dsn).port or 5432
        proxy = self._stack.enter_context(NeonProxy(ENDPOINT_ID, host, port))
        self.proxy_port = proxy.port
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per API call
        dms = self._stack.enter_context(
            LocalDms(
                port=0,
                region=REGION,
                timing=self.options.timing,
                task_creating_seconds=self.options.task_creating_seconds,
                metrics_period_seconds=self.options.metrics_period_seconds,
            )
        )
        self.endpoint_url = dms.endpoint_url
        self.instance_arn = self._replication_instance()
        self.aws_client("s3").create_bucket(Bucket=ASSESSMENT_BUCKET)

    def _drop(self, kind: str, name: str) -> None:
        statement = {"database": "DROP DATABASE IF EXISTS {} WITH (FORCE)", "role": "DROP ROLE IF EXISTS {}"}[
            kind
        ]
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def source_dsn(self) -> str:
        return _with_database(self.server_dsn, self.source_db)

    @property
    def neon_owner_dsn(self) -> str:
        """Direct to the Neon stand-in's database as the Neon role (trust, no proxy)."""
        parts = urlsplit(self.server_dsn)
        auth = f"{self.neon_role}:{self.options.neon_password}"
        return f"postgresql://{auth}@{parts.hostname}:{parts.port or 5432}/{self.neon_db}"

    @property
    def neon_admin_dsn(self) -> str:
        return _with_database(self.server_dsn, self.neon_db)

    def dms_client(self) -> Any:
        return self.aws_client("dms")

    def aws_client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def _replication_instance(self) -> str:
        client = self.dms_client()
        arn: str = client.create_replication_instance(
            ReplicationInstanceIdentifier=INSTANCE_ID, ReplicationInstanceClass="dms.t3.medium"
        )["ReplicationInstance"]["ReplicationInstanceArn"]
        client.get_waiter("replication_instance_available").wait(
            Filters=[{"Name": "replication-instance-arn", "Values": [arn]}],
            WaiterConfig={"Delay": 1, "MaxAttempts": 60},
        )
        return arn

    # -- Airflow -----------------------------------------------------------------------------
    def airflow_env(self) -> dict[str, str]:
        """The environment ``airflow dags test`` needs to run the example DAG on this stack."""
        password = self.options.neon_password_in_connection or self.options.neon_password
        return {
            **os.environ,
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "NEON_DMS_POLL_SECONDS": str(self.options.poll_seconds),
            "NEON_DMS_METRICS_PERIOD": str(int(self.options.metrics_period_seconds)),
            # CDC: lag under 5 s for two metric periods before the cutover is offered.
            "NEON_DMS_LAG_WINDOW_SECONDS": str(2 * int(self.options.metrics_period_seconds)),
            "NEON_DMS_ASSESSMENT_ROLE_ARN": ASSESSMENT_ROLE_ARN,
            "NEON_DMS_ASSESSMENT_BUCKET": ASSESSMENT_BUCKET,
            # The sample shop's page_views has text columns and no key on purpose, which DMS's
            # assessment reports as failed: the demo shows it in the report instead of stopping.
            "NEON_DMS_ASSESSMENT_FAIL_ON_FAILED": "false",
            "AIRFLOW_CONN_DMS_SOURCE": self.options.source_dsn_override or self.source_dsn,
            "AIRFLOW_CONN_NEON_TARGET": json.dumps(
                {
                    "conn_type": "neon",
                    "host": "127.0.0.1",
                    "port": self.proxy_port,
                    "login": self.neon_role,
                    "password": password,
                    "schema": self.neon_db,
                    "extra": {"endpoint_id": ENDPOINT_ID, "sslmode": "require"},
                }
            ),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "login": "local",
                    "password": "local",
                    "extra": {"region_name": REGION, "endpoint_url": self.endpoint_url},
                }
            ),
        }

    def run_dag(
        self,
        conf: dict[str, Any] | None = None,
        log_path: Path | None = None,
        timeout: float | None = None,
        env_overrides: dict[str, str] | None = None,
    ) -> DagRunResult:
        """Run the example DAG with ``airflow dags test``; return its outcome and XComs.

        ``timeout``: seconds after which the run is killed and counts as failed (None: no limit).
        ``env_overrides``: variables set over ``airflow_env()`` for this run only.
        """
        airflow = str(Path(sys.executable).with_name("airflow"))
        env = {**self.airflow_env(), **(env_overrides or {})}
        subprocess.run(
            [airflow, "db", "migrate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run_conf = {
            "replication_instance_arn": self.instance_arn,
            "source_schema": "public",
            "exclude_tables": ["audit_%"],
            **(conf or {}),
        }
        log_path = log_path or self.workdir / "dag-test.log"
        with log_path.open("w") as log_file:
            try:
                returncode = subprocess.run(
                    [airflow, "dags", "test", DAG_ID, "-c", json.dumps(run_conf)],
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                ).returncode
            except subprocess.TimeoutExpired:
                log_file.write(f"\n[the run did not finish within {timeout:g} s and was stopped]\n")
                returncode = -1
        return DagRunResult(
            succeeded=returncode == 0,
            log=log_path.read_text(),
            xcoms=self._xcoms(),
            task_states=self._task_states(),
        )

    def run_cdc_dag(
        self,
        *,
        quiet_seconds: float,
        write_rate: float = 20.0,
        write_after_load_seconds: float = 10.0,
        conf: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> tuple[DagRunResult, SourceWriter]:
        """Run the example DAG with ``full-load-and-cdc`` and ``cutover=quiet`` while an
        application writes to the source: from before the task starts, through its full load, and
        ``write_after_load_seconds`` after it; then the writer stops and the quiet cutover follows.
        """
        from airflow_neon_dms.local.source_writer import SourceWriter

        run_conf = {
            "migration_type": "full-load-and-cdc",
            "cutover": "quiet",
            "quiet_seconds": quiet_seconds,
            **(conf or {}),
        }
        writer = SourceWriter(self.source_dsn, rate=write_rate)
        with writer:
            writer.stop_when(self.full_load_done, then_seconds=write_after_load_seconds)
            result = self.run_dag(conf=run_conf, timeout=timeout)
        writer.stop()
        return result, writer

    def full_load_done(self) -> bool:
        """True once a task (or a serverless replication) on the local DMS runs with its full load
        at 100 % (CDC goes on)."""
        client = self.dms_client()
        runs = [
            (task["Status"], task.get("ReplicationTaskStats", {}))
            for task in client.describe_replication_tasks()["ReplicationTasks"]
        ] + [
            (replication["Status"], replication.get("ReplicationStats", {}))
            for replication in client.describe_replications()["Replications"]
        ]
        return any(
            status == "running" and stats.get("FullLoadProgressPercent") == 100 for status, stats in runs
        )

    def _metadata(self) -> sqlite3.Connection:
        return sqlite3.connect(self.airflow_home / "airflow.db")

    def _xcoms(self) -> dict[tuple[str, str], Any]:
        with self._metadata() as conn:
            rows = conn.execute(
                "SELECT task_id, key, value FROM xcom WHERE dag_id = ? ORDER BY timestamp", (DAG_ID,)
            ).fetchall()
        values: dict[tuple[str, str], Any] = {}
        for task_id, key, value in rows:
            try:
                values[(task_id, key)] = json.loads(value)
            except (TypeError, ValueError):
                values[(task_id, key)] = value
        return values

    def _task_states(self) -> dict[str, str]:
        with self._metadata() as conn:
            rows = conn.execute(
                "SELECT task_id, state FROM task_instance WHERE dag_id = ?", (DAG_ID,)
            ).fetchall()
        return {task_id: state for task_id, state in rows}

    # -- checks ------------------------------------------------------------------------------
    def fingerprints(self, dsn: str) -> dict[str, tuple[int, str]]:
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

    def sequences(self, dsn: str) -> dict[str, tuple[int, int]]:
        """``{sequence: (the value its next nextval() gives, max of the column it feeds)}`` of the
        migrated tables' serial columns."""
        found: dict[str, tuple[int, int]] = {}
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                "SELECT c.relname, a.attname, seq_ns.nspname, seq.relname "
                "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                "JOIN pg_class seq "
                "ON seq.oid = pg_get_serial_sequence(quote_ident(c.relname), a.attname)::regclass "
                "JOIN pg_namespace seq_ns ON seq_ns.oid = seq.relnamespace "
                "WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace AND a.attnum > 0 "
                "AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL",
                [list(MIGRATED_TABLES)],
            ).fetchall()
            for table, column, seq_schema, seq_name in rows:
                state = conn.execute(
                    sql.SQL("SELECT last_value, is_called FROM {}.{}").format(
                        sql.Identifier(seq_schema), sql.Identifier(seq_name)
                    )
                ).fetchone()
                top = conn.execute(
                    sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
                        sql.Identifier(column), sql.Identifier(table)
                    )
                ).fetchone()
                assert state is not None and top is not None
                next_value = int(state[0]) + (1 if state[1] else 0)
                found[f"{seq_schema}.{seq_name}"] = (next_value, int(top[0]))
        return found


@dataclass
class DagRunResult:
    """What one ``airflow dags test`` run did."""

    succeeded: bool
    log: str
    xcoms: dict[tuple[str, str], Any]
    task_states: dict[str, str]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_id, key))

"""A real Airflow deployment on the local migration stack, driven through Airflow's REST API.

``Deployment`` creates, on one PostgreSQL server, an Airflow metadata database, the shop source
database and the Neon stand-in's database (a role with a password, behind the local Neon proxy:
TLS and the endpoint id in the password); it starts the local DMS emulator as its own process and
then ``airflow db migrate`` followed by the api-server, scheduler (LocalExecutor), dag-processor
and triggerer, each a separate process with one ``AIRFLOW_HOME`` in a temporary directory, and
the connections as ``AIRFLOW_CONN_*`` variables. Every process writes its own log file; ``close``
stops every process group and removes the databases. ``AirflowApi`` is the REST client.

Hooks for more scenarios: ``DeploymentOptions(neon_connection="metadata", password_auth=True)``
plus ``rotate_neon_password()`` between two runs (a password rotation: ``ALTER ROLE`` and the
connection updated through the REST API); ``dms_client()`` to change DMS behind the DAG's back
(e.g. delete the replication task, for an error a retry cannot fix), ``api.tries()`` to count the
tries a task took, ``stop_local_dms()``/``start_local_dms()`` for an outage;
``DeploymentOptions(logical_decoding=True)`` for a CDC run, ``api.respond()`` to answer its
approval once ``worker_exit_seen()``; ``raced_tasks()`` to tell a try lost to Airflow's deferral
race from one the provider spent.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
import psutil
import psycopg
from psycopg import sql

from airflow_neon_dms.local.demo_faults import install_one_shot_corruption
from airflow_neon_dms.local.embedded import EmbeddedPostgres, free_port
from airflow_neon_dms.local.neon_proxy import NeonProxy
from airflow_neon_dms.local.sample_data import SampleSize, create_source, create_target
from airflow_neon_dms.local.stack import (
    ASSESSMENT_BUCKET,
    ASSESSMENT_ROLE_ARN,
    LOGICAL_DECODING,
    replica_identity_full,
)
from tests.deployment.api import AirflowApi, DeploymentError, wait_for

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "neon_dms_migration"
ENDPOINT_ID = "ep-local-demo"
NEON_CONN_ID = "neon_target"
INSTANCE_ID = "neon-dms-local"
REGION = "us-east-1"
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


@dataclass(frozen=True)
class PgAdmin:
    """A PostgreSQL server and a superuser that may create databases and roles on it."""

    host: str
    port: int
    user: str
    password: str = ""

    def dsn(self, database: str = "postgres", driver: str = "postgresql") -> str:
        auth = f"{quote(self.user)}:{quote(self.password)}" if self.password else quote(self.user)
        return f"{driver}://{auth}@{self.host}:{self.port}/{database}"


@dataclass
class DeploymentOptions:
    """What the deployment runs with."""

    sample_size: SampleSize = field(
        default_factory=lambda: SampleSize(
            customers=300, products=60, orders=600, page_views=200, audit_log=20
        )
    )
    #: (table, column) whose first load into Neon is corrupted, or None for a clean load.
    corrupt: tuple[str, str] | None = ("orders", "total")
    poll_seconds: float = 1.0
    #: Seconds a new DMS task stays ``creating`` in the emulator (gives a wait something to wait for).
    task_creating_seconds: float = 0.0
    #: Where ``neon_target`` lives: "env" (an ``AIRFLOW_CONN_*`` variable, fixed for the processes'
    #: lifetime), "metadata" (set through the REST API, so a test can change it between runs:
    #: ``rotate_neon_password``) or "none" (the test creates it, e.g. through the UI's form).
    neon_connection: Literal["env", "metadata", "none"] = "env"
    #: Put every database on an embedded PostgreSQL with SCRAM logins, so a wrong Neon password
    #: really fails (the shared test server may trust every login from 127.0.0.1).
    password_auth: bool = False
    #: Ready the source for change data capture (``migration_type=full-load-and-cdc``): every
    #: database on an embedded PostgreSQL with logical decoding (the shared server is never
    #: reconfigured), the keyless table with ``REPLICA IDENTITY FULL``.
    logical_decoding: bool = False
    #: How often the local DMS publishes a task's CloudWatch metrics; the DAG's CDC waits read
    #: them with this period and want the lag low for two periods (AWS: 60 s).
    metrics_period_seconds: int = 2


@dataclass
class Component:
    """One running process of the deployment and its log file."""

    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped as a whole
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the process group, SIGKILL to whatever is left after ``timeout`` seconds."""
        if self.process is None:
            return
        try:
            family = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(True)]
        except psutil.NoSuchProcess:
            family = []
        _signal_group(self.process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=timeout)
        _signal_group(self.process.pid, signal.SIGKILL)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        self.process.wait(timeout=5)
        self.process = None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Deployment:
    """The local migration stack plus a real Airflow deployment; a context manager."""

    def __init__(self, admin: PgAdmin, options: DeploymentOptions | None = None) -> None:
        self.admin = admin
        self.options = options or DeploymentOptions()
        suffix = uuid.uuid4().hex[:8]
        self.metadata_db = f"airflow_{suffix}"
        self.source_db = f"shop_{suffix}"
        self.neon_db = f"neondb_{suffix}"
        self.neon_role = f"neondb_owner_{suffix}"
        self.neon_password = f"neon-pw-{secrets.token_hex(8)}"
        self.workdir = Path(tempfile.mkdtemp(prefix="neon-dms-deployment-"))
        self.airflow_home = self.workdir / "airflow"
        self.log_dir = self.workdir / "logs"
        self.api_port = free_port()
        self.dms_port = free_port()
        self.log_server_ports = (free_port(), free_port())  # scheduler's and triggerer's
        self.proxy_port = 0
        self._jwt_secret = secrets.token_hex(16)
        self.components: dict[str, Component] = {}
        self.api = AirflowApi(self.api_url)
        self._stack = ExitStack()
        self.keep_workdir = False

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Deployment:
        try:
            self._start()
        except BaseException:
            self.keep_workdir = True
            print(self.log_report())
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()
        self.api.close()
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _start(self) -> None:
        self.airflow_home.mkdir()
        self.log_dir.mkdir()
        if self.options.password_auth or self.options.logical_decoding:
            server = self._stack.enter_context(
                EmbeddedPostgres(
                    password=secrets.token_hex(12) if self.options.password_auth else None,
                    settings=LOGICAL_DECODING if self.options.logical_decoding else None,
                )
            )
            self.admin = PgAdmin(server.host, server.port, server.user, server.password or "")
        self._create_databases()
        create_source(self.source_dsn, self.options.sample_size)
        if self.options.logical_decoding:
            replica_identity_full(self.source_dsn)
        create_target(self.neon_owner_dsn)
        if self.options.corrupt:
            table, column = self.options.corrupt
            install_one_shot_corruption(self.neon_owner_dsn, table, column, every=50)
        proxy = self._stack.enter_context(NeonProxy(ENDPOINT_ID, self.admin.host, self.admin.port))
        self.proxy_port = proxy.port
        self._stack.callback(self._stop_components)
        self.start_local_dms()
        with (self.log_dir / "db-migrate.log").open("wb") as log:
            migrate = subprocess.run(
                [_airflow(), "db", "migrate"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=600,
                check=False,
            )
        if migrate.returncode:
            raise DeploymentError(f"airflow db migrate exited {migrate.returncode}")
        for name in AIRFLOW_COMPONENTS:
            extra = ["--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
            command = [_airflow(), name, *(extra if name == "api-server" else [])]
            self._start_component(name, command)
        wait_for("Airflow healthy", self._healthy, timeout=300, interval=2)
        wait_for(f"DAG {DAG_ID} parsed", lambda: self.api.dag(DAG_ID), timeout=300, interval=2)
        if self.options.neon_connection == "metadata":
            self.api.set_connection(NEON_CONN_ID, self.neon_connection())

    def _start_component(self, name: str, command: list[str]) -> Component:
        component = Component(name, command, self.log_dir / f"{name}.log")
        self.components[name] = component
        component.start(self.env)
        return component

    def _stop_components(self) -> None:
        for component in reversed(list(self.components.values())):
            component.stop()

    def _healthy(self) -> bool:
        for component in self.components.values():
            if not component.running:
                raise DeploymentError(f"{component.name} exited early:\n{component.log_tail()}")
        health = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=10).json()
        return all(part.get("status") == "healthy" for part in health.values())

    # -- the local DMS emulator --------------------------------------------------------------
    def start_local_dms(self) -> None:
        """Start (or start again, on the same port) the local DMS process and wait until it answers."""
        command = [
            str(Path(sys.executable).with_name("neon-dms")),
            "local-dms",
            "--port",
            str(self.dms_port),
            "--replication-instance",
            INSTANCE_ID,
            "--task-creating-seconds",
            str(self.options.task_creating_seconds),
            "--s3-bucket",
            ASSESSMENT_BUCKET,
            "--metrics-period-seconds",
            str(self.options.metrics_period_seconds),
        ]
        component = self._start_component("local-dms", command)
        wait_for(
            "local DMS ready",
            lambda: component.running and "Local DMS ready" in component.log_path.read_text(errors="replace"),
            timeout=120,
            interval=0.5,
        )

    def stop_local_dms(self) -> None:
        self.components["local-dms"].stop()

    # -- databases ---------------------------------------------------------------------------
    def _admin_execute(self, statement: sql.Composable) -> None:
        with psycopg.connect(self.admin.dsn(), autocommit=True) as conn:
            conn.execute(statement)

    def _create_databases(self) -> None:
        for database in (self.metadata_db, self.source_db):
            self._admin_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            self._stack.callback(self._drop_database, database)
        self._admin_execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(self.neon_role), sql.Literal(self.neon_password)
            )
        )
        self._stack.callback(
            self._admin_execute, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.neon_role))
        )
        self._admin_execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(self.neon_db), sql.Identifier(self.neon_role)
            )
        )
        self._stack.callback(self._drop_database, self.neon_db)

    def _drop_database(self, name: str) -> None:
        self._admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @property
    def source_dsn(self) -> str:
        return self.admin.dsn(self.source_db)

    @property
    def neon_owner_dsn(self) -> str:
        """Straight to the Neon stand-in's database (no proxy), as the Neon role."""
        return f"postgresql://{self.neon_role}:{self.neon_password}@{self.admin.host}:{self.admin.port}/{self.neon_db}"

    @property
    def neon_admin_dsn(self) -> str:
        return self.admin.dsn(self.neon_db)

    # -- Airflow -----------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def dms_endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.dms_port}"

    def dms_client(self) -> Any:
        """A boto3 DMS client for the emulator (to change DMS behind the DAG's back)."""
        import boto3

        return boto3.client(
            "dms",
            endpoint_url=self.dms_endpoint_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def rotate_neon_password(self) -> str:
        """``ALTER ROLE ... PASSWORD`` on the Neon stand-in, then the same change in ``neon_target``.

        Needs ``neon_connection="metadata"`` (an ``AIRFLOW_CONN_*`` variable cannot change under
        running processes) and ``password_auth`` (else the old password would go on working).
        Returns the new password (``neon_password`` holds it too).
        """
        if self.options.neon_connection != "metadata" or not self.options.password_auth:
            raise DeploymentError(
                'rotate_neon_password needs DeploymentOptions(neon_connection="metadata", password_auth=True)'
            )
        self.neon_password = f"neon-pw-{secrets.token_hex(8)}"
        self._admin_execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(self.neon_role), sql.Literal(self.neon_password)
            )
        )
        self.api.set_connection(NEON_CONN_ID, self.neon_connection())
        return self.neon_password

    def neon_connection(self, password: str | None = None) -> dict[str, Any]:
        """The ``neon_target`` connection as Airflow's JSON connection form."""
        return {
            "conn_type": "neon",
            "host": "127.0.0.1",
            "port": self.proxy_port,
            "login": self.neon_role,
            "password": password or self.neon_password,
            "schema": self.neon_db,
            "extra": {"endpoint_id": ENDPOINT_ID, "sslmode": "require"},
        }

    @property
    def env(self) -> dict[str, str]:
        """The environment of every Airflow process: configuration and connections."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEON_DMS"))}
        metadata = self.admin.dsn(self.metadata_db, driver="postgresql+psycopg2")
        return {
            **inherited,
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_ports[0]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_server_ports[1]),
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the UI's Test button
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "NEON_DMS_POLL_SECONDS": str(self.options.poll_seconds),
            # CDC: the emulator's metric period, and lag under 5 s for two periods before the cutover.
            "NEON_DMS_METRICS_PERIOD": str(self.options.metrics_period_seconds),
            "NEON_DMS_LAG_WINDOW_SECONDS": str(2 * self.options.metrics_period_seconds),
            "NEON_DMS_REPLICATION_INSTANCE_ARN": INSTANCE_ID,
            "NEON_DMS_EXCLUDE_TABLES": "audit_%",
            # The premigration assessment writes to the emulator's S3; on the demo data (a keyless
            # table with text columns) AWS's check fails, so it only warns, as in the local stack.
            "NEON_DMS_ASSESSMENT_ROLE_ARN": ASSESSMENT_ROLE_ARN,
            "NEON_DMS_ASSESSMENT_BUCKET": ASSESSMENT_BUCKET,
            "NEON_DMS_ASSESSMENT_FAIL_ON_FAILED": "false",
            "AIRFLOW_CONN_DMS_SOURCE": self.source_dsn,
            **(
                {}
                if self.options.neon_connection != "env"
                else {"AIRFLOW_CONN_NEON_TARGET": json.dumps(self.neon_connection())}
            ),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "login": "local",
                    "password": "local",
                    "extra": {"region_name": REGION, "endpoint_url": self.dms_endpoint_url},
                }
            ),
        }

    # -- reporting ---------------------------------------------------------------------------
    def log_report(self, lines: int = 60) -> str:
        """The tail of every component's log (and where the whole logs are)."""
        parts = [f"deployment logs in {self.log_dir}"]
        for path in sorted(self.log_dir.glob("*.log")):
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            parts.append(f"----- {path.name} (last {lines} lines) -----\n{tail}")
        return "\n".join(parts)

    def component_log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_exit_seen(self, task_id: str, run_id: str, try_number: int) -> bool:
        """True once the scheduler has handled the exit of the worker that ran this try.

        A task that parks (deferred, awaiting_input) and is resumed before then can be failed by
        Airflow's race (apache/airflow #67287): answer a human-in-the-loop request only after this,
        as a person reading the request in the UI always does.
        """
        key = f"task_id='{task_id}', run_id='{run_id}', try_number={try_number},"
        return any(
            "Received executor event with state" in line and key in line
            for line in self.component_log("scheduler").splitlines()
        )


def raced_tasks(scheduler_log: str, tasks: Iterable[str], run_id: str | None = None) -> set[str]:
    """Which of ``tasks`` (of the run ``run_id``, or of any run) lost a try to Airflow's deferral
    race (apache/airflow #67287, #72716).

    The scheduler reads the worker's exit after ``defer()`` as the end of the try the trigger has
    already resumed, logs that the task "finished with state success, but the task instance's
    state attribute is" something else, and marks it up_for_retry: one try more, not the task's.
    The line names the task instance as ``<TaskInstance: dag.task run_id [state]>``.
    """
    marker = "finished with state success, but the task instance's state attribute is"
    return {
        task
        for line in scheduler_log.splitlines()
        if marker in line
        for task in tasks
        if f"{DAG_ID}.{task} {run_id or ''}" in line
    }


#: The deployments running now (a failing test attaches their logs to its report).
RUNNING: list[Deployment] = []


def running_deployment(admin: PgAdmin, options: DeploymentOptions | None = None) -> Iterator[Deployment]:
    """Start a deployment with the example DAG unpaused; stop it (no process left) afterwards."""
    with Deployment(admin, options) as deployment:
        deployment.api.unpause(DAG_ID)
        RUNNING.append(deployment)
        try:
            yield deployment
        finally:
            RUNNING.remove(deployment)


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))

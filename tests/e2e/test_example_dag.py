"""The example DAG, run with ``airflow dags test`` against the DMS emulator and real databases."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.embedded import free_port
from airflow_neon_dms.local.sample_data import MIGRATED_TABLES, SampleSize
from airflow_neon_dms.local.stack import DagRunResult, LocalStack, StackOptions
from airflow_neon_dms.local.state_timing import AWS_LIKE
from tests.smtp_sink import SMTP_PASSWORD, SmtpSink, mail_body, running_smtp_sink

pytestmark = pytest.mark.e2e

SMALL = SampleSize(customers=300, products=60, orders=600, page_views=200, audit_log=20)


def _server_dsn() -> str | None:
    return os.environ.get("NEON_DMS_TEST_PG_DSN")


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def migrated(smtp_sink: SmtpSink) -> Iterator[tuple[LocalStack, DagRunResult]]:
    """One full run: the first load of ``orders`` is corrupted on Neon and must be repaired.

    With AWS's transitional states (creating, starting, deleting), as the example DAG meets them.
    The report is mailed to the SMTP sink; the consumer DAG is serialised (and unpaused) first, so
    the run's "verified" asset event queues a run of it.
    """
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_sink.airflow_conn())
        env.setenv("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
        with LocalStack(StackOptions(server_dsn=_server_dsn(), sample_size=SMALL, timing=AWS_LIKE)) as stack:
            airflow = str(Path(sys.executable).with_name("airflow"))
            for command in (["db", "migrate"], ["dags", "reserialize"]):
                subprocess.run([airflow, *command], env=stack.airflow_env(), check=True, capture_output=True)
            yield stack, stack.run_dag(conf={"notify_email": ["dba@example.com"]})


def test_dag_succeeds_and_every_table_is_identical(migrated: tuple[LocalStack, DagRunResult]) -> None:
    stack, result = migrated
    assert result.succeeded, result.log[-4000:]
    source = stack.fingerprints(stack.source_dsn)
    neon = stack.fingerprints(stack.neon_admin_dsn)
    assert source == neon
    assert source["orders"][0] == 600
    with psycopg.connect(stack.neon_admin_dsn) as conn:
        assert conn.execute("SELECT to_regclass('audit_log')").fetchone() == (None,)


def test_corrupted_table_was_found_and_reloaded(migrated: tuple[LocalStack, DagRunResult]) -> None:
    _, result = migrated
    validation = result.xcom("check_validation")
    assert validation["failed_tables"] == [{"schema": "public", "table": "orders"}]
    reload = result.xcom("reload_failed_tables")
    assert reload["tables"] == [{"schema": "public", "table": "orders"}]
    assert result.task_states["reload_failed_tables"] == "success"


def test_report_says_verified(migrated: tuple[LocalStack, DagRunResult]) -> None:
    _, result = migrated
    report = result.xcom("report")
    assert report["verified"] is True
    assert report["reloaded_tables"] == ["public.orders"]
    assert {row["table"] for row in report["tables"]} == {f"public.{t}" for t in MIGRATED_TABLES}
    assert all(row.get("identical") for row in report["tables"])
    assert result.xcom("schema_preflight")["passed"] is True


def _metadata(stack: LocalStack, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(stack.airflow_home / "airflow.db") as db:
        return db.execute(query, args).fetchall()


def test_verified_tables_and_the_verified_migration_are_asset_events(
    migrated: tuple[LocalStack, DagRunResult],
) -> None:
    stack, result = migrated
    assert result.succeeded, result.log[-4000:]
    events = _metadata(
        stack,
        "SELECT asset.uri, asset_event.source_task_id, asset_event.extra FROM asset_event "
        "JOIN asset ON asset.id = asset_event.asset_id WHERE asset_event.source_dag_id = ?",
        "neon_dms_migration",
    )
    tables = sorted(uri for uri, task, _ in events if task == "data_diff")
    prefix = f"postgres://127.0.0.1:{stack.proxy_port}/{stack.neon_db}/public/"
    assert tables == sorted(prefix + table for table in MIGRATED_TABLES)
    verified = [json.loads(extra) for uri, task, extra in events if uri == "neon_dms_migration.verified"]
    assert len(verified) == 1 and [task for _, task, _ in events if task == "report"] == ["report"]
    assert sorted(verified[0]["tables"]) == tables
    assert verified[0]["reloaded_tables"] == ["public.orders"]


def test_the_consumer_dag_is_queued_by_the_verified_migration(
    migrated: tuple[LocalStack, DagRunResult],
) -> None:
    stack, _ = migrated
    queued = _metadata(
        stack,
        "SELECT asset.name, asset_dag_run_queue.target_dag_id FROM asset_dag_run_queue "
        "JOIN asset ON asset.id = asset_dag_run_queue.asset_id",
    )
    assert queued == [("neon_dms_migration.verified", "neon_migration_consumer")]


def test_the_closing_report_is_mailed(migrated: tuple[LocalStack, DagRunResult], smtp_sink: SmtpSink) -> None:
    stack, result = migrated
    assert result.succeeded
    reports = [(to, m) for to, m in smtp_sink.messages if "verified" in str(m["Subject"])]
    assert len(reports) == 1
    to, message = reports[0]
    assert to == ["dba@example.com"]
    count = len(MIGRATED_TABLES)
    assert (
        message["Subject"]
        == f"[neon_dms_migration] Migration into Neon verified, {count} table(s) identical on Neon"
    )
    text = mail_body(message)
    assert all(f"public.{table}" in text for table in MIGRATED_TABLES)
    assert "Every migrated table is identical on the source and on Neon." in text
    raw = message.as_string()
    assert stack.options.neon_password not in raw and SMTP_PASSWORD not in raw


def test_sequences_let_new_rows_in(migrated: tuple[LocalStack, DagRunResult]) -> None:
    stack, result = migrated
    assert result.xcom("sync_sequences")["changed"] >= 3
    with psycopg.connect(stack.neon_admin_dsn) as conn:
        new_id = conn.execute(
            "INSERT INTO customers (email, full_name, created_at, is_active) "
            "VALUES ('new@example.com', 'New', now(), true) RETURNING id"
        ).fetchone()
        conn.rollback()
    assert new_id == (301,)


def test_neon_connection_type_from_the_airflow_cli(migrated: tuple[LocalStack, DagRunResult]) -> None:
    import subprocess
    import sys
    from pathlib import Path

    stack, _ = migrated
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = stack.airflow_env()
    add = [
        airflow,
        "connections",
        "add",
        "neon_cli",
        "--conn-type",
        "neon",
        "--conn-host",
        "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        "--conn-login",
        "neondb_owner",
        "--conn-schema",
        "neondb",
    ]
    subprocess.run(add, env=env, check=True, capture_output=True, timeout=120)
    shown = subprocess.run(
        [airflow, "connections", "get", "neon_cli", "-o", "json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert '"conn_type": "neon"' in shown


def test_secrets_stay_out_of_xcom_and_logs(migrated: tuple[LocalStack, DagRunResult]) -> None:
    stack, result = migrated
    secret = stack.options.neon_password
    assert secret not in repr(result.xcoms)
    assert f"endpoint=ep-local-demo${secret}" not in result.log
    assert secret not in result.log


def test_wrong_neon_password_fails_at_the_first_neon_step() -> None:
    options = StackOptions(
        password_auth=True, sample_size=SMALL, corrupt=None, neon_password_in_connection="Not-The-Password-1"
    )
    with LocalStack(options) as stack:
        result = stack.run_dag()
    assert not result.succeeded
    assert result.task_states["schema_preflight"] == "failed"
    assert "create_replication_task" not in result.task_states or result.task_states[
        "create_replication_task"
    ] not in ("success", "running")
    assert "password authentication failed" in result.log
    assert "Migration step 'schema_preflight' failed: Cannot connect to Neon" in result.log
    assert "Not-The-Password-1" not in result.log


def test_unreachable_source_fails_at_the_first_source_step() -> None:
    closed = free_port()
    options = StackOptions(
        server_dsn=_server_dsn(),
        sample_size=SMALL,
        corrupt=None,
        source_dsn_override=f"postgresql://postgres@127.0.0.1:{closed}/shop",
    )
    with LocalStack(options) as stack:
        result = stack.run_dag()
        endpoints = stack.dms_client().describe_replication_tasks()["ReplicationTasks"]
    assert not result.succeeded
    assert result.task_states["schema_preflight"] == "failed"
    assert f"127.0.0.1:{closed}" in result.log or "Connection refused" in result.log
    assert endpoints == []


def test_premigration_assessment_ran_and_is_in_the_report(migrated: tuple[LocalStack, DagRunResult]) -> None:
    stack, result = migrated
    assessment = result.xcom("premigration_assessment")
    # page_views has text columns and no key: AWS's assessment reports it (warn-only on the stack)
    assert assessment["status"] == "failed"
    assert assessment["failed"] == ["table-with-lob-but-without-primary-key-or-unique-constraint"]
    assert result.xcom("report")["premigration_assessment"] == assessment
    bucket, _, prefix = assessment["result_location"].removeprefix("s3://").partition("/")
    listed = stack.aws_client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert f"{prefix}summary.json" in {o["Key"] for o in listed["Contents"]}
    assert "Premigration assessment: failed, failed: table-with-lob" in result.log

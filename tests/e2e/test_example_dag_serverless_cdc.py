"""The example DAG with ``compute=serverless`` and ``full-load-and-cdc``, under ``airflow dags
test`` against the local stack while the source is being written: a replication config runs the
load and the change capture, the lag and quiet waits read its ``ReplicationConfigId`` metrics, the
cutover stops it with StopReplication, and every table ends identical."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from airflow_neon_dms.local.sample_data import MIGRATED_TABLES, SampleSize
from airflow_neon_dms.local.source_writer import SourceWriter
from airflow_neon_dms.local.stack import DagRunResult, LocalStack, StackOptions

pytestmark = pytest.mark.e2e

SMALL = SampleSize(customers=300, products=60, orders=600, page_views=200, audit_log=20)
METRICS_PERIOD = 2.0
SERVERLESS = {"compute": "serverless", "replication_instance_arn": None, "max_capacity_units": 4}


@pytest.fixture(scope="module")
def cut_over() -> Iterator[tuple[LocalStack, DagRunResult, SourceWriter]]:
    options = StackOptions(
        server_dsn=os.environ.get("NEON_DMS_TEST_PG_DSN"),
        sample_size=SMALL,
        corrupt=None,
        cdc=True,
        metrics_period_seconds=METRICS_PERIOD,
    )
    with LocalStack(options) as stack:
        # a generous limit, so a CDC wait that can never pass fails the test instead of hanging it
        result, writer = stack.run_cdc_dag(
            quiet_seconds=2 * METRICS_PERIOD, write_after_load_seconds=5, conf=SERVERLESS, timeout=900
        )
        yield stack, result, writer


def test_the_serverless_run_cuts_over_and_every_table_is_identical(
    cut_over: tuple[LocalStack, DagRunResult, SourceWriter],
) -> None:
    stack, result, writer = cut_over
    assert result.succeeded, result.log[-6000:]
    assert writer.transactions > 0 and writer.error is None
    source = stack.fingerprints(stack.source_dsn)
    assert source == stack.fingerprints(stack.neon_admin_dsn)
    # the writer's rows are there: more customers and orders than the sample made
    assert source["customers"][0] > SMALL.customers
    assert source["orders"][0] > SMALL.orders
    states = result.task_states
    for step in ("serverless.run_replication", "cdc.wait_full_load_done", "cdc.replication_lag"):
        assert states[step] == "success", step
    for step in ("cdc.wait_until_quiet", "cdc.cutover", "data_diff", "sync_sequences", "report"):
        assert states[step] == "success", step
    for instance_step in ("create_replication_task", "run_full_load", "test_source_connection"):
        assert states[instance_step] == "skipped", instance_step


def test_the_replication_applied_changes_and_was_stopped_by_the_cutover(
    cut_over: tuple[LocalStack, DagRunResult, SourceWriter],
) -> None:
    stack, result, _ = cut_over
    client = stack.dms_client()
    assert client.describe_replication_tasks()["ReplicationTasks"] == []
    [replication] = client.describe_replications()["Replications"]
    assert replication["ReplicationType"] == "full-load-and-cdc"
    assert replication["Status"] == "stopped"
    arn = replication["ReplicationConfigArn"]
    tables = client.describe_replication_table_statistics(ReplicationConfigArn=arn)
    applied = {
        t["TableName"]: t.get("Inserts", 0) + t.get("Updates", 0)
        for t in tables["ReplicationTableStatistics"]
    }
    assert applied["orders"] > 0 and applied["customers"] > 0, applied
    cutover = result.xcom("cdc.cutover")
    assert cutover["replication_task_arn"] == arn
    assert cutover["status"] == "stopped"
    assert cutover["source_position_at_request"]["engine"] == "postgresql"


def test_the_waits_read_the_replications_own_metrics(
    cut_over: tuple[LocalStack, DagRunResult, SourceWriter],
) -> None:
    stack, _, _ = cut_over
    [replication] = stack.dms_client().describe_replications()["Replications"]
    arn = replication["ReplicationConfigArn"]
    account, resource = arn.split(":")[4], arn.split(":")[-1]
    metrics = stack.aws_client("cloudwatch").list_metrics(Namespace="AWS/DMS", MetricName="CDCLatencyTarget")
    dimensions = [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in metrics["Metrics"]]
    assert {"ReplicationConfigId": f"{account}:{resource}"} in dimensions


def test_the_report_is_verified_with_a_cutover_window(
    cut_over: tuple[LocalStack, DagRunResult, SourceWriter],
) -> None:
    _, result, _ = cut_over
    report = result.xcom("report")
    assert report["verified"] is True
    assert {row["table"] for row in report["tables"]} == {f"public.{t}" for t in MIGRATED_TABLES}
    assert report["cutover"]["mode"] == "quiet"

"""The example DAG's CDC path under ``airflow dags test``, against the local stack while the
source is being written: full-load-and-cdc with a quiet cutover ends identical, sequences ahead.
"""

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


@pytest.fixture(scope="module")
def cut_over() -> Iterator[tuple[LocalStack, DagRunResult, SourceWriter]]:
    """One run; the shared server is reused only if it already decodes logically, else embedded."""
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
            quiet_seconds=2 * METRICS_PERIOD, write_after_load_seconds=5, timeout=900
        )
        yield stack, result, writer


def test_the_run_cuts_over_and_every_table_is_identical(
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
    for step in ("cdc.wait_full_load_done", "cdc.replication_lag", "cdc.wait_until_quiet", "cdc.cutover"):
        assert result.task_states[step] == "success", step
    assert result.task_states["cdc.approve_cutover"] == "skipped"


def test_changes_arrived_after_the_full_load(cut_over: tuple[LocalStack, DagRunResult, SourceWriter]) -> None:
    stack, _, _ = cut_over
    stats = stack.dms_client().describe_replication_tasks()["ReplicationTasks"]
    assert [task["Status"] for task in stats] == ["stopped"]
    tables = stack.dms_client().describe_table_statistics(ReplicationTaskArn=stats[0]["ReplicationTaskArn"])
    applied = {t["TableName"]: t.get("Inserts", 0) + t.get("Updates", 0) for t in tables["TableStatistics"]}
    assert applied["orders"] > 0 and applied["customers"] > 0, applied


def test_sequences_are_ahead_of_every_row(cut_over: tuple[LocalStack, DagRunResult, SourceWriter]) -> None:
    stack, result, _ = cut_over
    source = stack.sequences(stack.source_dsn)
    neon = stack.sequences(stack.neon_admin_dsn)
    assert set(neon) == set(source) and source
    for name, (_, source_max) in source.items():
        assert neon[name][0] > source_max, (name, neon[name], source_max)
    assert result.task_states["sync_sequences"] == "success"


def test_the_report_states_the_cutover_window(
    cut_over: tuple[LocalStack, DagRunResult, SourceWriter],
) -> None:
    _, result, _ = cut_over
    report = result.xcom("report")
    assert report["verified"] is True
    assert {row["table"] for row in report["tables"]} == {f"public.{t}" for t in MIGRATED_TABLES}
    window = report["cutover"]
    assert window["mode"] == "quiet"
    assert window["seconds"] > 0 and window["poll_intervals"] > 0
    assert window["writes_stopped_at"] <= window["task_stopped_at"] <= window["verified_at"]
    assert "Cutover window:" in result.log
    cutover = result.xcom("cdc.cutover")
    assert cutover["stop_reason"] and cutover["source_position_at_request"]["engine"] == "postgresql"


def test_a_cutover_with_a_full_load_fails_in_plan_before_anything_exists() -> None:
    with LocalStack(
        StackOptions(server_dsn=os.environ.get("NEON_DMS_TEST_PG_DSN"), sample_size=SMALL)
    ) as stack:
        result = stack.run_dag(conf={"migration_type": "full-load", "cutover": "quiet"})
        assert not result.succeeded
        assert result.task_states["plan"] == "failed"
        assert "Param cutover 'quiet' needs Param migration_type full-load-and-cdc" in result.log
        assert stack.dms_client().describe_endpoints().get("Endpoints", []) == []

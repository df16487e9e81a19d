"""The example DAG's CDC path, as parsed: Params, branches, the approval and the cutover steps.

The run itself (cutover=quiet against the local stack while the source is written) is in
tests/e2e/test_example_dag_cdc.py.
"""

from __future__ import annotations

import copy
import runpy
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.standard.operators.hitl import ApprovalOperator

from airflow_neon_dms.operators.cutover import NeonDmsCutoverOperator
from airflow_neon_dms.sensors.full_load import NeonDmsFullLoadDoneSensor
from airflow_neon_dms.sensors.lag import NeonDmsQuiescenceSensor, NeonDmsReplicationLagSensor

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "neon_dms_migration.py"


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
        return runpy.run_path(str(DAG_FILE))["dag"]


def _branch(dag: Any, task_id: str, plan: dict[str, Any]) -> Any:
    return dag.get_task(task_id).python_callable(plan)


def test_params_default_to_a_full_load_without_cutover(dag: Any) -> None:
    params = dag.params.validate()
    assert params["migration_type"] == "full-load"
    assert params["cutover"] is None


def test_params_refuse_unknown_values(dag: Any) -> None:
    from airflow.exceptions import ParamValidationError

    for name, bad in (("migration_type", "cdc"), ("cutover", "manual")):
        params = copy.deepcopy(dag.params)
        with pytest.raises(ParamValidationError):
            params[name] = bad


def test_the_full_load_path_skips_the_cdc_group(dag: Any) -> None:
    plan = {"cutover": None}
    assert _branch(dag, "load_path", plan) == "check_validation"
    assert _branch(dag, "cutover_path", plan) == "data_diff"


@pytest.mark.parametrize(
    "cutover, gate", [("approval", "cdc.approve_cutover"), ("quiet", "cdc.wait_until_quiet")]
)
def test_the_cdc_path_goes_through_the_group(dag: Any, cutover: str, gate: str) -> None:
    plan = {"cutover": cutover}
    assert _branch(dag, "load_path", plan) == "cdc.wait_full_load_done"
    assert _branch(dag, "cutover_path", plan) == "cdc.replication_lag"
    assert _branch(dag, "cdc.how_to_cut_over", plan) == gate


def test_the_cdc_steps_are_ordered_as_documented(dag: Any) -> None:
    assert isinstance(dag.get_task("cdc.wait_full_load_done"), NeonDmsFullLoadDoneSensor)
    assert isinstance(dag.get_task("cdc.replication_lag"), NeonDmsReplicationLagSensor)
    assert isinstance(dag.get_task("cdc.wait_until_quiet"), NeonDmsQuiescenceSensor)
    assert isinstance(dag.get_task("cdc.cutover"), NeonDmsCutoverOperator)
    assert "check_validation" in dag.get_task("cdc.wait_full_load_done").downstream_task_ids
    assert dag.get_task("cdc.writes_stopped").upstream_task_ids == {
        "cdc.approve_cutover",
        "cdc.wait_until_quiet",
    }
    assert "cdc.writes_stopped" in dag.get_task("cdc.cutover").upstream_task_ids
    assert "cdc.cutover" in dag.get_task("data_diff").upstream_task_ids
    assert dag.get_task("sync_sequences").upstream_task_ids >= {"data_diff"}
    assert {"cdc.cutover", "cdc.writes_stopped", "sync_sequences"} <= dag.get_task("report").upstream_task_ids
    assert dag.get_task("cdc.cutover").source_conn_id == "dms_source"


def test_the_approval_asks_to_confirm_the_writes_stopped(dag: Any) -> None:
    approval = dag.get_task("cdc.approve_cutover")
    assert isinstance(approval, ApprovalOperator)
    assert approval.options == ["Approve", "Reject"]
    assert approval.multiple is False
    assert "Stop every writer to the source database" in approval.body
    # Reject skips everything after it (cutover, diff, sequences, report): the task keeps replicating.
    assert approval.ignore_downstream_trigger_rules is True
    assert approval.fail_on_reject is False
    assert {"cdc.writes_stopped"} == approval.downstream_task_ids


def test_the_task_is_created_with_the_params_migration_type(dag: Any) -> None:
    assert dag.get_task("schema_preflight").migration_type == "{{ params.migration_type }}"
    create = dag.get_task("create_replication_task")
    assert "migration_type" in create.template_fields
    assert "plan" in create.upstream_task_ids


def test_the_cdc_steps_follow_whichever_run_the_compute_chose(dag: Any) -> None:
    # the task's ARN or the serverless replication config's, from migration_run
    for step in ("cdc.wait_full_load_done", "cdc.replication_lag", "cdc.wait_until_quiet", "cdc.cutover"):
        assert "migration_run" in dag.get_task(step).upstream_task_ids, step
    load_path = dag.get_task("load_path")
    assert "migration_run" in load_path.upstream_task_ids
    assert load_path.trigger_rule == "none_failed_min_one_success"  # the skipped compute's run is fine
    create_config = dag.get_task("serverless.create_replication_config")
    assert "replication_type" in create_config.template_fields

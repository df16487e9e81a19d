"""The example DAG runs the premigration assessment after creating the task and before the load."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "neon_dms_migration.py"


@pytest.fixture(scope="module")
def dag_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_dag_for_assessment", DAG_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_assessment_sits_between_task_creation_and_the_full_load(dag_module: ModuleType) -> None:
    dag = dag_module.dag
    assert dag.params["premigration_assessment"] is True
    branch = dag.task_dict["assess_first"]
    assert branch.upstream_task_ids == {"create_replication_task"}
    assert branch.downstream_task_ids == {"premigration_assessment", "run_full_load"}
    full_load = dag.task_dict["run_full_load"]
    assert {"assess_first", "premigration_assessment"} <= full_load.upstream_task_ids
    assert full_load.trigger_rule == "none_failed_min_one_success"  # runs when the assessment is off
    assert "premigration_assessment" in dag.task_dict["report"].upstream_task_ids


@pytest.mark.parametrize(
    ("enabled", "next_task"), [(True, "premigration_assessment"), (False, "run_full_load")]
)
def test_the_param_chooses_whether_to_assess(dag_module: ModuleType, enabled: bool, next_task: str) -> None:
    branch = dag_module.dag.task_dict["assess_first"]
    assert branch.python_callable({"premigration_assessment": enabled}) == next_task


def test_serverless_runs_the_assessment_through_start_replication(dag_module: ModuleType) -> None:
    dag = dag_module.dag
    start = dag.task_dict["serverless.run_replication"]
    # the plan's checked PremigrationAssessmentSettings (None when the Param is off or on instances)
    assert "premigration_assessment_settings" in start.template_fields
    assert "plan" in start.upstream_task_ids
    report_inputs = dag.task_dict["report"].upstream_task_ids
    assert {"premigration_assessment", "serverless.run_replication"} <= report_inputs
    # the serverless run never waits for the task's own assessment run
    assert "premigration_assessment" not in start.get_flat_relative_ids(upstream=True)

"""The deferral switch follows Airflow's [operators] default_deferrable."""

from __future__ import annotations

import pytest

from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.operators.validation import NeonDmsValidationOperator


@pytest.mark.parametrize(("setting", "expected"), [("True", True), ("False", False)])
def test_default_deferrable_comes_from_the_config(
    monkeypatch: pytest.MonkeyPatch, setting: str, expected: bool
) -> None:
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)
    assert NeonDmsStartTaskOperator(task_id="s", replication_task_arn="arn").deferrable is expected
    assert NeonDmsValidationOperator(task_id="v", replication_task_arn="arn").deferrable is expected
    assert NeonDmsValidationOperator(
        task_id="w", replication_task_arn="arn", deferrable=not expected
    ).deferrable is (not expected)

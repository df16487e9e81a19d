"""The example DAG's migration_type and cutover Params, checked together in ``plan``."""

from __future__ import annotations

import pytest

from airflow_neon_dms.dms.cutover_plan import cutover_mode
from airflow_neon_dms.exceptions import NeonConfigError


def test_a_full_load_has_no_cutover() -> None:
    assert cutover_mode("full-load", None) is None


def test_cdc_defaults_to_approval_and_takes_quiet() -> None:
    assert cutover_mode("full-load-and-cdc", None) == "approval"
    assert cutover_mode("full-load-and-cdc", "approval") == "approval"
    assert cutover_mode("full-load-and-cdc", "quiet") == "quiet"


@pytest.mark.parametrize("cutover", ["approval", "quiet"])
def test_a_cutover_with_full_load_names_both_params_and_the_fix(cutover: str) -> None:
    with pytest.raises(NeonConfigError) as raised:
        cutover_mode("full-load", cutover)
    message = str(raised.value)
    assert f"Param cutover {cutover!r}" in message
    assert "migration_type is full-load" in message
    assert "Set migration_type to full-load-and-cdc, or leave cutover empty" in message


def test_unknown_values_name_the_valid_ones() -> None:
    with pytest.raises(NeonConfigError, match="Param migration_type 'cdc' is not one of full-load, "):
        cutover_mode("cdc", None)
    with pytest.raises(NeonConfigError, match="Param cutover 'manual' is not one of approval, quiet"):
        cutover_mode("full-load-and-cdc", "manual")

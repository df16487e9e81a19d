"""Airflow discovers the provider, its hook and the ``neon`` connection type."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
from airflow.providers_manager import ProvidersManager

from airflow_neon_dms.get_provider_info import PACKAGE_NAME, get_provider_info


def test_provider_info_matches_airflow_schema() -> None:
    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    jsonschema.validate(get_provider_info(), json.loads(schema_path.read_text()))


def test_entry_point_returns_provider_info() -> None:
    points = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_neon_dms")
    ]
    assert len(points) == 1
    assert points[0].load()()["package-name"] == PACKAGE_NAME


def test_every_listed_class_and_module_imports() -> None:
    info = get_provider_info()
    modules = [
        m
        for section in ("hooks", "operators", "sensors", "triggers")
        for item in info[section]
        for m in item.get("python-modules", [])
    ]
    for module in modules:
        importlib.import_module(module)
    dotted = [c["hook-class-name"] for c in info["connection-types"]] + list(info["extra-links"])
    dotted += list(info["notifications"])
    for path in dotted:
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), path


def test_providers_manager_finds_package_and_connection_type() -> None:
    manager = ProvidersManager()
    assert PACKAGE_NAME in manager.providers
    assert manager.providers[PACKAGE_NAME].version == get_provider_info()["versions"][0]
    hook = manager.hooks["neon"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_neon_dms.hooks.neon.NeonHook"
    assert hook.connection_id_attribute_name == "neon_conn_id"
    assert "extra__neon__endpoint_id" in manager.connection_form_widgets
    assert manager.field_behaviours["neon"]["relabeling"]["schema"] == "Database"


def test_airflow_cli_lists_the_provider(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    airflow_bin = Path(sys.executable).with_name("airflow")
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    out = subprocess.run(
        [str(airflow_bin), "providers", "list", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    rows = next(line for line in out.splitlines() if line.startswith("[{"))
    listed = {p["package_name"]: p for p in json.loads(rows)}
    assert listed[PACKAGE_NAME]["version"] == get_provider_info()["versions"][0]

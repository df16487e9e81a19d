"""The dms/ package holds pure rules: importing every module of it loads no Airflow module."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import airflow_neon_dms.dms

ROOT = Path(__file__).resolve().parents[3]

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import airflow_neon_dms.dms as package
names = [m.name for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
airflow = sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow."))
print(json.dumps({"modules": names, "airflow": airflow}))
"""


def test_every_dms_module_imports_without_airflow() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {m.name for m in pkgutil.iter_modules(airflow_neon_dms.dms.__path__, "airflow_neon_dms.dms.")}
    assert set(result["modules"]) == expected
    assert "airflow_neon_dms.dms.states" in expected
    assert result["airflow"] == [], f"dms/ imported {result['airflow']}; keep Airflow in the glue modules"

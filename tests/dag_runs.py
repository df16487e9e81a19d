"""Run a test DAG file with ``dag.test()`` in its own process, against a migrated Airflow home.

The home has a SQLite metadata database made by ``airflow db migrate``; connections come from
``AIRFLOW_CONN_*`` variables. The script prints one ``RESULT <json>`` line; the run's stdout,
stderr and every task log file are returned for the assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class DagScriptRun:
    """What one run of a DAG script printed, logged and returned."""

    result: dict[str, Any]
    output: str


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        **extra,
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    return env


def migrated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=airflow_env(home),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home


def run_dag_script(home: Path, name: str, script: str, **env: str) -> DagScriptRun:
    """Write ``script`` as ``dags/<name>.py``, run it, and collect its ``RESULT`` line and logs.

    The logs collected are those of DAG ids that start with ``name``.
    """
    path = home / "dags" / f"{name}.py"
    path.write_text(script)
    proc = subprocess.run(
        [sys.executable, str(path)],
        env=airflow_env(home, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    for log_file in sorted((home / "logs").rglob("*")):
        if log_file.is_file() and f"dag_id={name}" in str(log_file):
            output += log_file.read_text(errors="replace")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, output[-4000:]
    return DagScriptRun(result=json.loads(lines[-1][len("RESULT ") :]), output=output)

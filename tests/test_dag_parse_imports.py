"""Parsing the example DAG must not load what only running its tasks needs.

The DAG processor parses every DAG file often; drivers, boto3, the diff engine and the builders
load inside the operators' methods instead. This checks the modules a fresh interpreter holds
after parsing the file (the timing itself is in benchmarks/dag_parse.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "dags" / "neon_dms_migration.py"

#: Modules (and their sub-modules) only a running task needs.
RUN_TIME_ONLY = (
    "boto3",
    "aiobotocore",
    "psycopg",
    "pymysql",
    "tabulate",
    "airflow.providers.amazon.aws.hooks",
    "airflow_neon_dms.hooks",
    "airflow_neon_dms.diff",
    "airflow_neon_dms.schema",
    "airflow_neon_dms.triggers.base",
    "airflow_neon_dms.dms.states",
    "airflow_neon_dms.dms.mappings",
    "airflow_neon_dms.dms.task_settings",
    "airflow_neon_dms.dms.validation_report",
    "airflow_neon_dms.dms.reload_plan",
    "airflow_neon_dms.sequences",
    # OpenLineage is optional (the openlineage extra): only a finished task asks for its lineage.
    "openlineage",
    "airflow.providers.openlineage",
    "airflow.providers.common.compat.openlineage",
)

PARSE = """
import json, runpy, sys
import airflow.sdk
before = set(sys.modules)
namespace = runpy.run_path(sys.argv[1])
print(json.dumps({"modules": sorted(set(sys.modules) - before), "tasks": sorted(namespace["dag"].task_ids)}))
"""


def test_parsing_the_example_dag_loads_no_run_time_module(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAG_FILE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AIRFLOW_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert "run_full_load" in parsed["tasks"]
    loaded = [
        name
        for name in parsed["modules"]
        if any(name == heavy or name.startswith(heavy + ".") for heavy in RUN_TIME_ONLY)
    ]
    assert loaded == [], f"parsing the DAG file imported {loaded}; import them inside the methods"

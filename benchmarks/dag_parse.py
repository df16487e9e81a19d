"""How long the example DAG file takes to parse, against a DAG that only uses amazon's DMS operators.

Each parse runs in a fresh interpreter that has already imported ``airflow.sdk`` (as Airflow's
DAG processor has), so the figure is what the DAG file itself adds: its imports and its top-level
code. The baseline is a DAG of the same shape built from the amazon provider's DMS operators.
Prints the median of several runs and the ratio (target: at most 1.2).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from airflow_neon_dms.local.foreground import stop_on_sigterm

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "dags" / "neon_dms_migration.py"
RUNS = 9

BASELINE = textwrap.dedent(
    """
    from __future__ import annotations

    import datetime

    from airflow.providers.amazon.aws.operators.dms import (
        DmsCreateTaskOperator,
        DmsDeleteTaskOperator,
        DmsDescribeTasksOperator,
        DmsStartTaskOperator,
    )
    from airflow.providers.amazon.aws.sensors.dms import DmsTaskCompletedSensor
    from airflow.sdk import DAG, Param

    with DAG(
        dag_id="amazon_dms_baseline",
        schedule=None,
        start_date=datetime.datetime(2026, 1, 1),
        catchup=False,
        params={"replication_instance_arn": Param("", type="string")},
    ):
        create = DmsCreateTaskOperator(
            task_id="create_task",
            replication_task_id="baseline",
            source_endpoint_arn="arn:source",
            target_endpoint_arn="arn:target",
            replication_instance_arn="{{ params.replication_instance_arn }}",
            table_mappings={"rules": []},
        )
        start = DmsStartTaskOperator(task_id="start_task", replication_task_arn=create.output)
        wait = DmsTaskCompletedSensor(task_id="wait_task", replication_task_arn=create.output)
        describe = DmsDescribeTasksOperator(task_id="describe")
        delete = DmsDeleteTaskOperator(task_id="delete_task", replication_task_arn=create.output)
        create >> start >> wait >> describe >> delete
    """
)

TIMER = textwrap.dedent(
    """
    import runpy, sys, time
    import airflow.sdk  # the DAG processor has this loaded already
    t = time.perf_counter()
    runpy.run_path(sys.argv[1])
    print(time.perf_counter() - t)
    """
)


def parse_seconds(path: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMER, str(path)], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="fresh interpreters per file")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        baseline_file = Path(tmp) / "amazon_dms_baseline.py"
        baseline_file.write_text(BASELINE)
        ours = parse_seconds(DAG_FILE, runs)
        base = parse_seconds(baseline_file, runs)
    ratio = ours / base
    print(f"DAG parse, median of {runs} fresh interpreters:")
    print(f"  neon_dms_migration        {ours * 1000:8.1f} ms")
    print(f"  amazon DMS operators only {base * 1000:8.1f} ms")
    print(f"  ratio {ratio:.2f} (target <= 1.2): {'met' if ratio <= 1.2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    stop_on_sigterm()
    raise SystemExit(main())

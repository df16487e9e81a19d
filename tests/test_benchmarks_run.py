"""Every Python benchmark script runs at its smallest size and prints its ratio line.

``make bench`` runs them at full size (long); this smoke run (``make test-bench-smoke``, part of
CI) catches a script broken by a change to the code it drives. It asserts the exit code and the
shape of the ratio line, never a figure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: script -> (arguments, extra environment, pattern of its ratio line)
SMOKE = {
    "cdc_apply_throughput.py": (["--rows", "200", "--rounds", "2"], {}, r"^ratio local/native: \d+\.\d\d "),
    "cdc_lag.py": (["--seconds", "2"], {}, r"^published vs measured: p50 \d+\.\d\d s vs \d+\.\d\d s"),
    "dag_parse.py": (["--runs", "1"], {}, r"^  ratio \d+\.\d\d \(target <= 1\.2\): (met|MISSED)$"),
    "data_diff.py": ([], {"NEON_DMS_BENCH_ROWS": "2000"}, r"^Measured: identical \d+\.\d\dx reladiff"),
    "emulator_full_load.py": ([], {"NEON_DMS_BENCH_ROWS": "1000"}, r"^ratio emulator / pipe: +\d+\.\d\dx"),
    "keyless_diff.py": ([], {"NEON_DMS_BENCH_ROWS": "1000"}, r"^Measured: identical \d+\.\d\dx floor"),
    "reload_calls.py": ([], {}, r"^ratio measured/baseline: \d+\.\d\d$"),
    "serverless_table_statistics_calls.py": (
        ["--tables", "20"],
        {},
        r"^ratio serverless/instance: \d+\.\d\d$",
    ),
    "table_statistics_calls.py": (["--tables", "20"], {}, r"^ratio measured/baseline: \d+\.\d\d$"),
    "worker_time.py": (
        ["--no-baseline", "--creating-seconds", "0"],
        {},
        r"^  DAG: worker \d+\.\d\d s, wall \d+\.\d\d s, worker/wall \d+\.\d\d$",
    ),
    "cdc_cutover_window.py": (
        [],
        {},
        r"^after the quiet window, less the diff: \d+\.\d s = \d+\.\d\d metric periods",
    ),
}

#: Scripts not run here, with the reason.
NOT_RUN = {
    "moto_dms_suite.py": "downloads moto's sdist from the package index before it runs",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("NEON_DMS_SLOW_TESTS") != "1",
        reason="benchmark smoke run (minutes): `make test-bench-smoke` runs it (NEON_DMS_SLOW_TESTS=1)",
    ),
]


def test_every_script_is_covered() -> None:
    scripts = {p.name for p in (ROOT / "benchmarks").glob("[a-z]*.py")}
    assert scripts == set(SMOKE) | set(NOT_RUN)


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_runs_at_smallest_size(script: str) -> None:
    arguments, extra_env, ratio_line = SMOKE[script]
    env = {**os.environ, **extra_env}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert re.search(ratio_line, result.stdout, re.MULTILINE), result.stdout[-4000:]


@pytest.mark.parametrize("arguments", [["--rounds", "0"], ["--rows", "10"]])
def test_throughput_benchmark_refuses_sizes_it_cannot_measure(arguments: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cdc_apply_throughput.py"), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "--rows takes at least 100 (one transaction) and --rounds at least 1" in result.stderr

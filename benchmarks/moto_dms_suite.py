"""moto's own DMS test suite, run in server mode against the local DMS emulator.

Fetches the sdist of the moto version the emulator pins (``pip download moto==X --no-binary
:all: --no-deps``) into a temporary directory, starts a ``LocalDms`` on a free port, runs the
sdist's ``tests/test_dms/`` with pytest (``TEST_SERVER_MODE=true``,
``TEST_SERVER_MODE_ENDPOINT`` = the emulator) and prints the passed / failed / skipped counts
and, for every failure, the test and the first line of its error. Nothing of moto's test suite
is kept. docs/emulator.md ("moto's DMS test suite") records the figure and explains each failure.

    python benchmarks/moto_dms_suite.py                  # exit status 0 whatever the counts
    python benchmarks/moto_dms_suite.py -k subnet        # extra arguments go to pytest
    python benchmarks/moto_dms_suite.py --fresh-per-test # a new emulator for every test
    python benchmarks/moto_dms_suite.py --instant-states # no creating/starting/deleting phase

moto's harness calls ``POST /moto-api/reset`` before each test; ``--fresh-per-test`` instead runs
every test against its own new emulator, which shows each test's result without state left by
the tests before it (the two figures agree when the emulator's reset works).

The emulator shows AWS's transitional states (``creating``, ``starting``, ``deleting``) for a few
seconds by default, as AWS does; moto's tests expect the next state at once. ``--instant-states``
starts the emulator with ``INSTANT`` timing to show which failures come from that timing alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.local.moto_dms import MOTO_VERSION
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import AWS_LIKE, INSTANT

SUITE = "tests/test_dms"
PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=")


def fetch_tests(version: str, into: Path) -> Path:
    """Download moto's sdist and unpack only its ``tests/`` package; returns the sdist root."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"moto=={version}", "--no-binary", ":all:",
         "--no-deps", "--quiet", "-d", str(into)],
        check=True,
    )  # fmt: skip
    archive = next(into.glob(f"moto-{version}.tar.gz"))
    root = f"moto-{version}/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(root + "tests/") and m.isfile()]
        keep = [m for m in members if m.name.count("/") == 2 or m.name.startswith(root + SUITE + "/")]
        tar.extractall(into, members=keep, filter="data")
    return into / root


def run_suite(sdist: Path, endpoint_url: str, pytest_args: list[str], report: Path) -> Path:
    """Run the suite in server mode against ``endpoint_url``; returns the JUnit XML report."""
    env = {
        **os.environ,
        "TEST_SERVER_MODE": "true",
        "TEST_SERVER_MODE_ENDPOINT": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    targets = [] if any("::" in arg for arg in pytest_args) else [SUITE]
    subprocess.run(
        [*PYTEST, *targets, "-q", "--junitxml", str(report), *pytest_args], cwd=sdist, env=env, check=False
    )
    return report


def test_ids(sdist: Path, pytest_args: list[str]) -> list[str]:
    """The node ids of the suite's tests."""
    env = {**os.environ, "TEST_SERVER_MODE": "true"}
    command = [*PYTEST, SUITE, "--collect-only", "-q", *pytest_args]
    listed = subprocess.run(command, cwd=sdist, env=env, capture_output=True, text=True, check=False)
    return [line for line in listed.stdout.splitlines() if "::" in line]


def summarise(reports: list[Path]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Counts per outcome and (test, first line of the error) for every failure."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failures = []
    cases = [c for report in reports for c in ElementTree.parse(report).getroot().iter("testcase")]
    for case in cases:
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            counts["failed"] += 1
            failures.append((name, (problem.get("message") or "").splitlines()[0][:200]))
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts, failures


def main(argv: list[str]) -> int:
    fresh = "--fresh-per-test" in argv
    instant = "--instant-states" in argv
    argv = [a for a in argv if a not in ("--fresh-per-test", "--instant-states")]
    with tempfile.TemporaryDirectory(prefix="moto-dms-suite-") as tmp:
        sdist = fetch_tests(MOTO_VERSION, Path(tmp))
        reports = []
        for number, selection in enumerate(test_ids(sdist, argv) if fresh else [None]):
            with LocalDms(port=0, timing=INSTANT if instant else AWS_LIKE) as dms:
                args = [selection] if selection else argv
                reports.append(run_suite(sdist, dms.endpoint_url, args, sdist / f"report-{number}.xml"))
        counts, failures = summarise(reports)
    how = "a new emulator per test" if fresh else "one emulator, as moto's harness runs it"
    how += ", instant states" if instant else ", AWS-like state timing"
    print(f"\nmoto {MOTO_VERSION} {SUITE} against the local DMS (server mode, {how})")
    for name, message in failures:
        print(f"  FAILED {name}: {message}")
    total = sum(counts.values())
    print(f"  {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped of {total}")
    return 0


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(main(sys.argv[1:]))

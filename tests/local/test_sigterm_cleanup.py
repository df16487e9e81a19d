"""SIGTERM ends the demo and the benchmarks as Ctrl-C does: no embedded PostgreSQL is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _postgres_under(directory: Path) -> list[int]:
    """Process ids of the PostgreSQL servers whose data directory is under ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"postgres") and any(str(directory).encode() in a for a in args):
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process list from /proc")
@pytest.mark.parametrize(
    "command",
    [
        ["-m", "airflow_neon_dms.local.demo"],
        ["benchmarks/cdc_apply_throughput.py", "--rows", "10000000"],
    ],
    ids=["demo", "benchmark"],
)
def test_sigterm_stops_the_embedded_postgres(command: list[str], tmp_path: Path) -> None:
    # The embedded servers' data directories go under TMPDIR: this run's own directory.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("NEON_DMS_TEST_PG_DSN", None)
    proc = subprocess.Popen(
        [sys.executable, *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while not _postgres_under(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _postgres_under(tmp_path), "no embedded PostgreSQL started"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = _postgres_under(tmp_path)
    for pid in left:  # leave the machine clean even when an assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"PostgreSQL left running under {tmp_path}: {left}"
    assert proc.returncode == 128 + signal.SIGTERM, stderr.decode(errors="replace")[-3000:]

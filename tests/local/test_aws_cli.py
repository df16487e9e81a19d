"""The AWS CLI (the ``awscli`` package: its own vendored botocore, code not written here) against
the local DMS over HTTP, through ``benchmarks/aws_cli_serverless_check.sh``: a DMS Serverless
lifecycle whose every Status is checked against AWS's list, and a premigration assessment run
with its result files in S3."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "aws_cli_serverless_check.sh"
#: Every serverless transitional state is visible, briefly.
VISIBLE = dataclasses.replace(
    INSTANT,
    serverless_provisioning_seconds=1.5,
    serverless_deprovision_after_seconds=1.0,
    serverless_deprovisioning_seconds=0.5,
    deleting_seconds=0.5,
)


def _aws_cli() -> str:
    """The ``aws`` script of this interpreter's awscli, or a skip that says what is missing."""
    if importlib.util.find_spec("awscli") is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli, or the 'dev' extra)")
    if shutil.which("psql") is None:
        pytest.skip("psql is not on PATH (the script makes its scratch databases with it)")
    script = Path(sys.executable).parent / "aws"
    if not script.exists():
        pytest.skip(f"awscli is importable but its 'aws' script is not at {script}")
    return str(script)


@pytest.fixture(scope="module")
def cli_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=VISIBLE) as running:
        yield running


def test_aws_cli_runs_the_serverless_lifecycle_and_an_assessment(cli_dms: LocalDms, pg_server: Any) -> None:
    aws = _aws_cli()
    env = {**os.environ, "AWS": aws, "PGPASSWORD": pg_server.password}
    done = subprocess.run(
        ["bash", str(SCRIPT), cli_dms.endpoint_url, f"{pg_server.user}@{pg_server.host}:{pg_server.port}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert "serverless and assessment done" in lines[-1]
    loop = next(line for line in lines if line.startswith("start-replication reload-target"))
    assert loop.endswith(" stopped)"), loop  # the script fails on a Status AWS does not list
    individual = next(line for line in lines if line.startswith("describe-replication-task-individual"))
    assert "unsupported-data-types-in-source" in individual

"""Fixtures that start a real Airflow deployment (see ``harness.py``) on the test PostgreSQL server.

A failing test gets the tail of every component's log (api-server, scheduler, dag-processor,
triggerer, local DMS, ``db migrate``) attached to its report, and the deployment's directory is
kept (its path is printed) instead of being removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deployment.api import AirflowApi
from tests.deployment.harness import RUNNING, Deployment, DeploymentOptions, PgAdmin, running_deployment

#: Set to 1 to run the tests marked ``slow`` (``make test-deployment`` does); else they are skipped.
SLOW_TESTS_ENV = "NEON_DMS_SLOW_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SLOW_TESTS_ENV) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"slow real-deployment scenario: `make test-deployment` runs it ({SLOW_TESTS_ENV}=1)"
    )
    for item in items:
        # Only the deployment scenarios: other slow tests (the benchmark smoke runs) skip themselves
        # with their own reason.
        if item.get_closest_marker("slow") and item.get_closest_marker("deployment"):
            item.add_marker(skip)


def start_deployment(pg_server: Any, options: DeploymentOptions | None = None) -> Iterator[Deployment]:
    """A deployment on the session's PostgreSQL server (``pg_server`` fixture)."""
    for driver in ("psycopg2", "asyncpg"):
        pytest.importorskip(driver, reason=f"{driver} is missing: install the 'deployment' extra")
    admin = PgAdmin(pg_server.host, pg_server.port, pg_server.user, pg_server.password)
    yield from running_deployment(admin, options)


@pytest.fixture(scope="module")
def deployment(pg_server: Any) -> Iterator[Deployment]:
    """A running deployment shared by the tests of one module (each triggers its own runs)."""
    yield from start_deployment(pg_server)


@pytest.fixture
def api(deployment: Deployment) -> AirflowApi:
    """The deployment's REST API client."""
    return deployment.api


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for deployment in RUNNING:
            deployment.keep_workdir = True
            report.sections.append(("deployment logs", deployment.log_report()))

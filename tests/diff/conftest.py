"""Fixtures for the diff tests: a source and a target PostgreSQL database on the test server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from airflow_neon_dms.diff.connect import Endpoint, endpoint_from_dsn


@dataclass(frozen=True)
class PgPair:
    """Two fresh databases: the migration's source and its Neon stand-in."""

    source_dsn: str
    target_dsn: str

    @property
    def source(self) -> Endpoint:
        return endpoint_from_dsn(self.source_dsn, "source")

    @property
    def target(self) -> Endpoint:
        return endpoint_from_dsn(self.target_dsn, "target")


@pytest.fixture
def pg_pair(pg_server, make_pg_database: Callable[[], str]) -> PgPair:  # type: ignore[no-untyped-def]
    return PgPair(pg_server.dsn(make_pg_database()), pg_server.dsn(make_pg_database()))

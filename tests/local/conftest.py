"""Fixtures for the local DMS emulator tests: a replication instance and fresh databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.local.support import Dms, new_dms


@pytest.fixture
def dms(dms_client: Any) -> Dms:
    """The emulator's client with a fresh, available replication instance."""
    return new_dms(dms_client)


@pytest.fixture
def make_dms(dms_client_factory: Callable[[str], Any]) -> Callable[[str], Dms]:
    """``make_dms(endpoint_url)``: like ``dms`` for another emulator (e.g. one with ``--neon``)."""
    return lambda endpoint_url: new_dms(dms_client_factory(endpoint_url))


@pytest.fixture
def pg_pair(make_pg_database: Callable[[], str]) -> tuple[str, str]:
    """Two fresh PostgreSQL databases: (source, target)."""
    return make_pg_database(), make_pg_database()

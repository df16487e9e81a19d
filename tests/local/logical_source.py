"""For test modules whose tasks capture changes (``full-load-and-cdc``, ``cdc``): their PostgreSQL
source must have wal_level=logical, so they take the session's logical-decoding server in place of
the plain one. Import both names into such a module:

    from tests.local.logical_source import logical_pair, logical_server  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.logical_postgres import LogicalPg


@pytest.fixture(name="pg_server")
def logical_server(logical_pg: LogicalPg) -> LogicalPg:
    """``pg_server`` of this module: the logical-decoding server (superuser, trust)."""
    return logical_pg


@pytest.fixture(name="pg_pair")
def logical_pair(make_logical_database: Callable[[], str]) -> tuple[str, str]:
    """``pg_pair`` of this module: (source, target) databases on the logical-decoding server."""
    return make_logical_database(), make_logical_database()

"""Fixtures for the schema tests: the session's logical-decoding PostgreSQL (CDC readiness)."""

from __future__ import annotations

from tests.logical_postgres import LogicalPg, logical_pg, make_logical_database

__all__ = ["LogicalPg", "logical_pg", "make_logical_database"]

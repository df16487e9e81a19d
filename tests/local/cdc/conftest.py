"""Fixtures for the CDC engine tests: the session's logical-decoding PostgreSQL."""

from __future__ import annotations

from tests.logical_postgres import LogicalPg, logical_pg, make_logical_database

__all__ = ["LogicalPg", "logical_pg", "make_logical_database"]

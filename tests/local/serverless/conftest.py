"""Fixtures for the DMS Serverless tests: the session's logical-decoding PostgreSQL (a replication
of type full-load-and-cdc keeps running on it whether or not the runner captures changes)."""

from __future__ import annotations

from tests.logical_postgres import LogicalPg, logical_pg, make_logical_database

__all__ = ["LogicalPg", "logical_pg", "make_logical_database"]

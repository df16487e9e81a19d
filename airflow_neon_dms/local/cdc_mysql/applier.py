"""The shared applier (``cdc.apply.ChangeApplier``) set up for a MySQL/MariaDB source's tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from airflow_neon_dms.local.cdc.apply import ChangeApplier, Warn
from airflow_neon_dms.local.cdc.identity import TableIdentity
from airflow_neon_dms.local.cdc.position_table import DEFAULT_CONTROL_SCHEMA
from airflow_neon_dms.local.cdc.stats import ChangeStatistics
from airflow_neon_dms.local.cdc_mysql.changes import TableKey, shape_identity
from airflow_neon_dms.local.sources import TableShape


def binlog_applier(
    target: psycopg.Connection[Any],
    task_name: str,
    shapes: Mapping[TableKey, TableShape],
    *,
    stats: ChangeStatistics | None = None,
    control_schema: str = DEFAULT_CONTROL_SCHEMA,
    handle_truncate: bool = True,
    warn: Warn | None = None,
) -> ChangeApplier:
    """An applier for these source tables: each lands at its shape's target name, rows are found
    by the primary key or, without one, by the whole before image. ``target`` is autocommit."""
    known = dict(shapes)

    def target_name(schema: str, table: str) -> tuple[str, str] | None:
        shape = known.get((schema, table))
        return shape.target if shape else None

    def identity(schema: str, table: str) -> TableIdentity:
        return shape_identity(known[(schema, table)])

    return ChangeApplier(
        target,
        task_name,
        target_name=target_name,
        identity=identity,
        stats=stats or ChangeStatistics(),
        control_schema=control_schema,
        handle_truncate=handle_truncate,
        warn=warn,
    )

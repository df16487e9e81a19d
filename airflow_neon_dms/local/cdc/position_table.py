"""The applied source position of each task, kept on the target with the changes it covers.

AWS DMS's own target control tables are listed under ControlTablesSettings in the DMS user guide
(``awsdms_apply_exceptions``, ``awsdms_status``, ``awsdms_suspended_tables``, ``awsdms_history``,
and ``awsdms_txn_state`` when TaskRecoveryTableEnabled is set); their columns belong to DMS. The
local DMS keeps its resume point in a table of its own, ``awsdms_cdc_position``, in the schema the
task setting ``ControlTablesSettings.ControlSchema`` names (default: the target's default schema,
``public``), so it never claims to be one of DMS's documented tables. One row per task.

The row is written in the same target transaction as the changes of the source transaction it
names, so a stop or a crash at any moment resumes exactly after the last applied transaction:
nothing lost, nothing applied twice. It only moves forward: changes of a table applied from the
full-load cache carry older positions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc.changes import SourcePosition

POSITION_TABLE = "awsdms_cdc_position"
DEFAULT_CONTROL_SCHEMA = "public"


class PositionTable:
    """Load and save one task's applied position in ``<ControlSchema>.awsdms_cdc_position``."""

    def __init__(self, task_name: str, control_schema: str = DEFAULT_CONTROL_SCHEMA) -> None:
        self.task_name = task_name
        self.schema = control_schema or DEFAULT_CONTROL_SCHEMA
        self.table = sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(POSITION_TABLE))

    def ensure(self, target: psycopg.Connection[Any]) -> None:
        """Create the schema and table when missing."""
        with target.transaction():
            target.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            target.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (task_name text PRIMARY KEY, position text NOT NULL, "
                    "sort_major bigint NOT NULL, sort_minor numeric NOT NULL, commit_time timestamptz, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(self.table)
            )

    def load(self, target: psycopg.Connection[Any]) -> str | None:
        """The task's saved position as text, or None before its first applied transaction."""
        row = target.execute(
            sql.SQL("SELECT position FROM {} WHERE task_name = %s").format(self.table), [self.task_name]
        ).fetchone()
        return str(row[0]) if row else None

    def save(
        self, cur: psycopg.Cursor[Any], position: SourcePosition, commit_time: datetime | None = None
    ) -> None:
        """Record ``position`` in the caller's transaction unless a later one is already saved."""
        major, minor = position.sort_key
        cur.execute(
            sql.SQL(
                "INSERT INTO {} AS saved (task_name, position, sort_major, sort_minor, commit_time) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (task_name) DO UPDATE SET "
                "position = excluded.position, sort_major = excluded.sort_major, "
                "sort_minor = excluded.sort_minor, commit_time = excluded.commit_time, applied_at = now() "
                "WHERE (saved.sort_major, saved.sort_minor) < (excluded.sort_major, excluded.sort_minor)"
            ).format(self.table),
            [self.task_name, str(position), major, minor, commit_time],
        )

    def forget(self, target: psycopg.Connection[Any]) -> None:
        """Drop the task's row (a task that starts again from scratch)."""
        with target.transaction():
            target.execute(
                sql.SQL("DELETE FROM {} WHERE task_name = %s").format(self.table), [self.task_name]
            )

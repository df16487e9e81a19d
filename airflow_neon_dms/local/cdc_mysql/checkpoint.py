"""The last applied source position, kept on the target in the same transaction as the changes.

Because the position is committed together with the changes it covers, a stop or a crash at any
moment resumes exactly after the last applied source transaction: nothing lost, nothing applied
twice. The table lives in the schema ``awsdms_control`` (DMS names its own control tables with the
``awsdms_`` prefix, in the schema its ControlSchema setting names); one row per task. The position
only moves forward: cached changes applied after a table's load carry older positions.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition

CONTROL_SCHEMA = "awsdms_control"
CHECKPOINT_TABLE = "awsdms_cdc_position"


class TargetPositionTable:
    """Load and save one task's binlog position in a table on the PostgreSQL target."""

    def __init__(self, task_id: str, schema: str = CONTROL_SCHEMA, table: str = CHECKPOINT_TABLE) -> None:
        self.task_id = task_id
        self.table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        self.schema = schema

    def ensure(self, target: psycopg.Connection[Any]) -> None:
        """Create the schema and table when missing."""
        with target.transaction(), target.cursor() as cur:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (task_id text PRIMARY KEY, binlog_file text NOT NULL, "
                    "file_index bigint NOT NULL, binlog_pos bigint NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(self.table)
            )

    def load(self, target: psycopg.Connection[Any]) -> BinlogPosition | None:
        """The task's saved position, or None before its first applied transaction."""
        row = target.execute(
            sql.SQL("SELECT binlog_file, binlog_pos FROM {} WHERE task_id = %s").format(self.table),
            [self.task_id],
        ).fetchone()
        return BinlogPosition(str(row[0]), int(row[1])) if row else None

    def save(self, cur: psycopg.Cursor[Any], position: BinlogPosition) -> None:
        """Record ``position`` in the caller's transaction unless a later one is already saved."""
        index, pos = position.sort_key
        cur.execute(
            sql.SQL(
                "INSERT INTO {} AS saved (task_id, binlog_file, file_index, binlog_pos) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (task_id) DO UPDATE SET "
                "binlog_file = excluded.binlog_file, file_index = excluded.file_index, "
                "binlog_pos = excluded.binlog_pos, updated_at = now() "
                "WHERE (saved.file_index, saved.binlog_pos) < (excluded.file_index, excluded.binlog_pos)"
            ).format(self.table),
            [self.task_id, position.file, index, pos],
        )

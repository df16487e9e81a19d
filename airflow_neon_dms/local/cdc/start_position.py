"""Where a CDC-only task on a PostgreSQL source starts: AWS DMS's native CDC start point.

AWS's rules, and where they are written:

- ``CdcStartPosition`` with a PostgreSQL source needs a logical replication slot created
  beforehand and named by the source endpoint's ``PostgreSQLSettings.SlotName`` (botocore,
  StartReplicationTask ``CdcStartPosition``: "When you use this task setting with a source
  PostgreSQL database, a logical replication slot should already be created and associated with
  the source endpoint"; ``PostgreSQLSettings.SlotName``: "DMS verifies that the specified logical
  replication slot exists before starting the CDC load task. It also verifies that the task was
  created with a valid setting of CdcStartPosition. If the specified slot doesn't exist or the
  task doesn't have a valid CdcStartPosition setting, DMS raises an error.").
- The position is the source's native start point, an LSN such as ``0/16B3748`` (user guide,
  "Determining a CDC native start point").
- ``CdcStartTime`` is not supported for PostgreSQL: "PostgreSQL as a source doesn't support a
  custom CDC start time. This is because the PostgreSQL database engine doesn't have a way to map a
  timestamp to an LSN or SCN as Oracle and SQL Server do." (AWS Database Migration Guide,
  PostgreSQL to Amazon RDS for PostgreSQL, "Ongoing replication").

Where the guide is silent, the local DMS chooses (docs/emulator.md): the start position applies to
a ``cdc`` task (a full load's snapshot already fixes where its changes start); the slot must use
``test_decoding``, the plugin the local DMS decodes; a position the slot has already moved past
(its ``confirmed_flush_lsn``) or one the source has not written yet is refused, since starting
there would lose or skip changes silently. The slot is advanced to the position, so the first
change applied is the first one committed after it, and it stays the user's: deleting the task
leaves it in place.
"""

from __future__ import annotations

from typing import Any

import psycopg

from airflow_neon_dms.local.cdc.lsn import format_lsn, parse_lsn

#: The output plugin the local DMS reads (``test_decoding``'s text format).
PLUGIN = "test_decoding"

CDC_START_TIME_MESSAGE = (
    "CdcStartTime is not supported for a PostgreSQL source: PostgreSQL as a source doesn't support a "
    "custom CDC start time, because the PostgreSQL database engine doesn't have a way to map a "
    "timestamp to an LSN (AWS Database Migration Guide). Start from a native start point instead: "
    "CdcStartPosition with an LSN, and the source endpoint setting PostgreSQLSettings.SlotName "
    "naming a logical replication slot created beforehand."
)


class StartPositionError(Exception):
    """The task cannot start where it was asked to; the message names the setting and the fix."""


def check_start_request(
    *, migration_type: str, start_position: str, start_time: str, slot_setting: str
) -> int | None:
    """The LSN a PostgreSQL CDC task starts after, or None for "from the task's start".

    Raises StartPositionError for what AWS (or the local DMS, module docstring) refuses.
    """
    if start_time:
        raise StartPositionError(CDC_START_TIME_MESSAGE)
    if slot_setting and not start_position:
        raise StartPositionError(
            f"The source endpoint names the replication slot {slot_setting} (PostgreSQLSettings."
            "SlotName), so the task needs a valid CdcStartPosition: give the slot's native start "
            "point (an LSN such as 0/16B3748, e.g. its confirmed_flush_lsn in pg_replication_slots), "
            "or remove SlotName from the endpoint to let the task create its own slot."
        )
    if not start_position:
        return None
    if not slot_setting:
        raise StartPositionError(
            "CdcStartPosition on a PostgreSQL source needs a logical replication slot created "
            "beforehand and named by the source endpoint setting PostgreSQLSettings.SlotName. Create "
            f"it on the source (SELECT pg_create_logical_replication_slot('<name>', '{PLUGIN}')), "
            "set SlotName on the endpoint, then start the task again."
        )
    if migration_type != "cdc":
        raise StartPositionError(
            f"CdcStartPosition applies to a task with MigrationType cdc, not {migration_type}: a full "
            "load's snapshot already fixes where its changes start. Leave CdcStartPosition out, or "
            "use a cdc task."
        )
    try:
        return parse_lsn(start_position)
    except ValueError:
        raise StartPositionError(
            f"CdcStartPosition {start_position!r} is not a PostgreSQL native start point: give an LSN "
            "(the form 16/B374D848; checkpoint and date forms are not supported for PostgreSQL)."
        ) from None


def position_slot(conn: psycopg.Connection[Any], slot_name: str, start: int) -> None:
    """Check the user's slot and move it to ``start``: changes committed after it are replicated.

    ``conn`` is an autocommit connection to the source database. Raises StartPositionError.
    """
    row = conn.execute(
        "SELECT s.slot_type, s.plugin, s.database, s.active, s.confirmed_flush_lsn::text, "
        "pg_current_wal_flush_lsn()::text, current_database() "
        "FROM pg_replication_slots s WHERE s.slot_name = %s",
        [slot_name],
    ).fetchone()
    if row is None:
        raise StartPositionError(
            f"The replication slot {slot_name} named by the source endpoint setting "
            "PostgreSQLSettings.SlotName does not exist on the source. Create it "
            f"(SELECT pg_create_logical_replication_slot('{slot_name}', '{PLUGIN}')) or fix SlotName."
        )
    slot_type, plugin, database, active, confirmed, current, here = row
    if slot_type != "logical" or database != here:
        raise StartPositionError(
            f"The replication slot {slot_name} is not a logical slot of the database {here}; SlotName "
            "must name a logical replication slot of the source endpoint's database."
        )
    if plugin != PLUGIN:
        raise StartPositionError(
            f"The replication slot {slot_name} decodes with {plugin}; the local DMS reads {PLUGIN} "
            f"slots. Create one with SELECT pg_create_logical_replication_slot('<name>', '{PLUGIN}')."
        )
    if active:
        raise StartPositionError(
            f"The replication slot {slot_name} is in use by another connection; stop that consumer "
            "(or the other task) first."
        )
    confirmed_lsn = parse_lsn(confirmed)
    if start < confirmed_lsn:
        raise StartPositionError(
            f"CdcStartPosition {format_lsn(start)} is before the slot {slot_name}'s confirmed position "
            f"{confirmed}: the changes in between are no longer in the slot. Give a position at or "
            f"after {confirmed}."
        )
    if start > parse_lsn(current):
        raise StartPositionError(
            f"CdcStartPosition {format_lsn(start)} is ahead of the WAL the source has flushed "
            f"{current}. Give a position the source has already written."
        )
    if start > confirmed_lsn:
        conn.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", [slot_name, format_lsn(start)])

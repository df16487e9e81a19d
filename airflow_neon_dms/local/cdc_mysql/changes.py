"""What the binlog reader yields: committed source transactions in the shared change model.

Row changes, TRUNCATE and other DDL are ``cdc.changes``' types, the ones the single applier
(``cdc.apply.ChangeApplier``) takes for every source engine.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from airflow_neon_dms.local.cdc.changes import Change, Table, tables_of
from airflow_neon_dms.local.cdc.identity import TableIdentity
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
from airflow_neon_dms.local.sources import TableShape

TableKey = Table


@dataclass(frozen=True)
class SourceTransaction:
    """A committed source transaction: its changes to replicated tables, in binlog order."""

    #: The binlog position just after the commit: where a resumed reader starts.
    end: BinlogPosition
    #: The commit's timestamp on the source (UTC).
    committed_at: datetime.datetime
    changes: tuple[Change, ...]

    def tables(self) -> list[TableKey]:
        """The replicated tables this transaction touches, in first-touched order."""
        return list(dict.fromkeys(t for c in self.changes for t in tables_of(c)))


def shape_identity(shape: TableShape) -> TableIdentity:
    """How the applier finds a MySQL table's rows: the primary key, else the whole before image
    (the binlog logs FULL row images, binlog_row_image=FULL)."""
    return TableIdentity(shape.primary_key, full=not shape.primary_key, columns=tuple(shape.column_names))

"""What the binlog reader yields: committed source transactions made of row changes and DDL."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Literal

from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition

TableKey = tuple[str, str]
RowOp = Literal["insert", "update", "delete"]


@dataclass(frozen=True)
class RowChange:
    """One row inserted, updated or deleted; images are in the table shape's column order.

    Values are already in the form the PostgreSQL target takes (``mysql_source.mysql_value``).
    """

    schema: str
    table: str
    op: RowOp
    before: tuple[Any, ...] | None
    after: tuple[Any, ...] | None

    @property
    def key(self) -> TableKey:
        return (self.schema, self.table)


@dataclass(frozen=True)
class DdlChange:
    """A DDL statement on a replicated table; ``kind`` is ``truncate`` or ``other``."""

    schema: str
    table: str
    kind: Literal["truncate", "other"]
    statement: str

    @property
    def key(self) -> TableKey:
        return (self.schema, self.table)


Change = RowChange | DdlChange


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
        return list(dict.fromkeys(c.key for c in self.changes))

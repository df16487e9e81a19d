"""Per-table change counters, named as botocore's TableStatistics shape names them."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from airflow_neon_dms.local.cdc.changes import Change, RowChange, Table, tables_of

__all__ = ["ChangeStatistics", "Table", "TableChangeStats", "tables_of"]


@dataclass
class TableChangeStats:
    """Changes captured from the source (Inserts...) and applied to the target (Applied...)."""

    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    ddls: int = 0
    applied_inserts: int = 0
    applied_updates: int = 0
    applied_deletes: int = 0
    applied_ddls: int = 0
    #: Why the table stopped replicating (its TableState becomes "Table error"); None while fine.
    error: str | None = None

    def as_table_statistics(self) -> dict[str, int]:
        """The TableStatistics members these counters fill."""
        return {
            "Inserts": self.inserts,
            "Updates": self.updates,
            "Deletes": self.deletes,
            "Ddls": self.ddls,
            "AppliedInserts": self.applied_inserts,
            "AppliedUpdates": self.applied_updates,
            "AppliedDeletes": self.applied_deletes,
            "AppliedDdls": self.applied_ddls,
        }


_CAPTURED = {"INSERT": "inserts", "UPDATE": "updates", "DELETE": "deletes"}


def counter_name(change: Change) -> str:
    """The counter a change adds to: ``inserts``, ``updates``, ``deletes`` or ``ddls``."""
    return _CAPTURED[change.kind] if isinstance(change, RowChange) else "ddls"


@dataclass
class ChangeStatistics:
    """Counters of every table the task replicates; safe to read from another thread.

    ``Inserts``/``Updates``/``Deletes``/``Ddls`` count changes captured for a table (a change
    cached during its table's full load counts when it arrives), ``Applied*`` those committed on
    the target (botocore's TableStatistics members).
    """

    tables: dict[Table, TableChangeStats] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def table(self, key: Table) -> TableChangeStats:
        with self.lock:
            return self.tables.setdefault(key, TableChangeStats())

    def _count(self, key: Table, change: Change, applied: bool) -> None:
        name = counter_name(change)
        stats = self.table(key)
        with self.lock:
            attr = f"applied_{name}" if applied else name
            setattr(stats, attr, getattr(stats, attr) + 1)

    def add(self, counts: Mapping[tuple[Table, str], int], *, applied: bool) -> None:
        """Count many changes at once: ``{(table, counter_name): how many}`` (negative: take back)."""
        with self.lock:
            for (key, name), count in counts.items():
                stats = self.tables.setdefault(key, TableChangeStats())
                attr = f"applied_{name}" if applied else name
                setattr(stats, attr, getattr(stats, attr) + count)

    def captured(self, key: Table, change: Change) -> None:
        self._count(key, change, applied=False)

    def applied(self, key: Table, change: Change) -> None:
        self._count(key, change, applied=True)

    def fail(self, key: Table, message: str) -> None:
        stats = self.table(key)
        with self.lock:
            if stats.error is None:
                stats.error = message

    def failed(self, key: Table) -> bool:
        # Asked for every change: one dict read and one attribute read need no lock.
        stats = self.tables.get(key)
        return stats is not None and stats.error is not None

    def by_table(self) -> dict[Table, dict[str, int]]:
        """Every table's counters as TableStatistics members."""
        with self.lock:
            return {key: stats.as_table_statistics() for key, stats in self.tables.items()}

    def __iter__(self) -> Iterator[tuple[Table, TableChangeStats]]:
        with self.lock:
            return iter(list(self.tables.items()))

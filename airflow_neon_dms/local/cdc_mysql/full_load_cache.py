"""Changes to a table still in its full load are cached, and applied once its load has finished.

As on DMS ("full load and CDC"): capture starts before the first table loads; a change to a table
that is waiting or loading is kept in that table's cache; when the table's load finishes, the
cached changes later than the table's snapshot position are applied, in commit order, and from
then on its changes are applied as they arrive. Changes at or before the snapshot position are
already in the copied rows and are dropped, so nothing is doubled.

    cache = FullLoadChangeCache(applier, tables)  # every table starts cached
    reader thread:   for t in reader.transactions(stop=...): cache.process(t)
    load thread:     load_table(source, ...); cache.table_loaded(key, source.snapshot_positions[key])
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from airflow_neon_dms.local.cdc.apply import ChangeApplier
from airflow_neon_dms.local.cdc.changes import Change, tables_of
from airflow_neon_dms.local.cdc_mysql.changes import SourceTransaction, TableKey
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition


@dataclass
class _TableState:
    #: The table's snapshot position once its load finished; None while waiting or loading.
    snapshot: BinlogPosition | None = None
    cached: list[tuple[BinlogPosition, list[Change]]] = field(default_factory=list)


class FullLoadChangeCache:
    """Routes each source transaction's changes per table: apply, cache, or drop as in the snapshot."""

    def __init__(self, applier: ChangeApplier, tables: Iterable[TableKey]) -> None:
        self.applier = applier
        self._lock = threading.Lock()
        self._tables = {key: _TableState() for key in tables}

    def loaded(self, key: TableKey) -> bool:
        with self._lock:
            return self._tables[key].snapshot is not None

    def cached_count(self, key: TableKey) -> int:
        """Changes waiting for the table's load to finish."""
        with self._lock:
            return sum(len(changes) for _, changes in self._tables[key].cached)

    def table_reloading(self, key: TableKey) -> None:
        """The table's load starts again: cache its changes until ``table_loaded``."""
        with self._lock:
            self._tables[key] = _TableState()

    def table_loaded(self, key: TableKey, snapshot: BinlogPosition) -> int:
        """Apply the table's cached changes later than ``snapshot``; return how many were applied."""
        with self._lock:
            state = self._tables[key]
            applied = 0
            for end, changes in state.cached:
                if snapshot < end:  # counted as captured now: the ones in the snapshot never are
                    self._captured(key, changes)
                    applied += self.applier.apply(changes, position=end)
            self._tables[key] = _TableState(snapshot=snapshot)
            return applied

    def _captured(self, key: TableKey, changes: list[Change]) -> None:
        for change in changes:
            self.applier.stats.captured(key, change)

    def process(self, transaction: SourceTransaction) -> None:
        """Take one committed source transaction from the binlog reader."""
        with self._lock:
            now: list[Change] = []
            for change in transaction.changes:
                key = tables_of(change)[0]  # the binlog reader gives one table per change
                state = self._tables[key]
                if state.snapshot is not None and not state.snapshot < transaction.end:
                    continue  # already in the table's snapshot copy
                if state.snapshot is None:
                    if state.cached and state.cached[-1][0] == transaction.end:
                        state.cached[-1][1].append(change)
                    else:
                        state.cached.append((transaction.end, [change]))
                else:
                    self._captured(key, [change])
                    now.append(change)
            self.applier.apply(now, position=transaction.end, commit_time=transaction.committed_at)

"""Change data capture from MySQL/MariaDB sources through the binary log (used by ``cdc_capture``).

Modules, in the order a task would use them:

- ``readiness``: the source settings and privileges AWS DMS needs for CDC, with the fix for each.
- ``position``: a binlog position (``file:pos``, the form of DMS's CdcStartPosition for MySQL).
- ``snapshot``: a table's full-load copy read at a consistent snapshot, with its binlog position.
- ``binlog_reader``: committed source transactions, in commit order, as row changes.
- ``changes``: the transactions it yields, in the change model the single applier
  (``cdc.apply.ChangeApplier``) takes for every source engine.
- ``full_load_cache``: changes of a table still in its full load are cached and applied after it.
"""

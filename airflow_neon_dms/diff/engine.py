"""Compare tables: open both sides, plan each table, run the walk, tables in parallel.

A table with a key (primary key, NOT NULL unique key, or ``key_columns``) is walked by key range;
a table without one is compared as a multiset of full rows (``diff.multiset``).

Each table uses one connection per side; the two sides' queries run at the same time. Tables run
in parallel up to ``max_connections`` open connections in total.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from airflow_neon_dms.diff.canonical import (
    ColumnPair,
    RowHash,
    SideName,
    check_key_splittable,
    column_pairs,
)
from airflow_neon_dms.diff.connect import Endpoint
from airflow_neon_dms.diff.model import DiffOptions, TableDiff, TableSpec
from airflow_neon_dms.diff.multiset import MultisetWalker
from airflow_neon_dms.diff.redact import redact
from airflow_neon_dms.diff.sides import MySqlSide, PostgresSide
from airflow_neon_dms.diff.walker import Walker
from airflow_neon_dms.exceptions import DataDiffError
from airflow_neon_dms.schema import catalog_mysql, catalog_postgres
from airflow_neon_dms.schema.model import TableInfo

__all__ = ["DiffOptions", "TableDiff", "TableSpec", "diff_table", "diff_tables", "plan_table"]

log = logging.getLogger(__name__)


def read_table(conn: Any, engine: str, schema: str, table: str) -> TableInfo | None:
    """Read one table's catalog entry on either engine."""
    if engine == "postgresql":
        return catalog_postgres.read_table(conn, schema, table)
    return catalog_mysql.read_table(conn, schema, table)


def plan_table(
    spec: TableSpec, source: TableInfo | None, target: TableInfo | None
) -> tuple[TableDiff, list[ColumnPair]]:
    """Check that the table can be compared and decide key and columns; raise a clear error if not."""
    t_schema, t_table = spec.target_name
    if source is None:
        raise DataDiffError(
            f"Table {spec.label} does not exist on the source. Check the schema and table name "
            "(MySQL: database.table)."
        )
    if target is None:
        raise DataDiffError(
            f"Table {spec.label} has no Neon copy {t_schema}.{t_table}. Create it (or run the load) "
            "before the diff, or pass the target name if a mapping renames it."
        )
    ignored = ignored_columns(spec, source, target)
    key = tuple(spec.key_columns) or source.best_key() or target.best_key()
    check_key_not_ignored(spec.label, key, ignored)
    pairs = column_pairs(source, target, ignore=ignored)
    if not pairs:
        raise DataDiffError(
            f"Table {spec.label} has no column with the same name on the source and on Neon "
            f"{t_schema}.{t_table}, so there is nothing to compare. Check the table names and "
            "the mapping's transformation rules."
        )
    if key:
        check_key_splittable(spec.label, pairs, key)
    result = TableDiff(
        schema=spec.schema,
        table=spec.table,
        target_schema=t_schema,
        target_table=t_table,
        key_columns=list(key),
        compared_columns=[p.name for p in pairs],
        only_in_source_columns=one_side_columns(source, target, ignored),
        only_in_target_columns=one_side_columns(target, source, ignored),
        ignored_columns=ignored,
        compared_as="key" if key else "multiset",
    )
    return result, pairs


def ignored_columns(spec: TableSpec, source: TableInfo, target: TableInfo) -> list[str]:
    """The columns of ``spec.ignore_columns`` found on either side; a name on neither is logged."""
    present = [c.name for c in source.columns] + [
        c.name for c in target.columns if source.column(c.name) is None
    ]
    unknown = [name for name in spec.ignore_columns if name not in present]
    if unknown:
        log.warning(
            "Table %s: ignore_columns names %s, which is on neither side; check the spelling "
            "(names are case-sensitive).",
            spec.label,
            ", ".join(repr(name) for name in unknown),
        )
    return [name for name in present if name in spec.ignore_columns]


def one_side_columns(this: TableInfo, other: TableInfo, ignored: Sequence[str]) -> list[str]:
    """Columns of ``this`` table that ``other`` lacks, except the ignored ones (pure)."""
    return [c.name for c in this.columns if other.column(c.name) is None and c.name not in ignored]


def check_key_not_ignored(table: str, key: Sequence[str], ignored: Sequence[str]) -> None:
    """Rows are matched by the key, so no key column can be ignored."""
    clash = [name for name in key if name in ignored]
    if clash:
        raise DataDiffError(
            f"Table {table}: key column(s) {', '.join(repr(n) for n in clash)} cannot be ignored: "
            "rows are matched by the key. Remove them from ignore_columns, or pass other key columns."
        )


def diff_table(
    source: Endpoint,
    target: Endpoint,
    spec: TableSpec,
    options: DiffOptions | None = None,
) -> TableDiff:
    """Compare one table; raises DataDiffError (naming the table) when it cannot be compared."""
    options = options or DiffOptions()
    started = time.monotonic()
    with ExitStack() as stack:
        src_conn = _open(source, "source", spec)
        stack.callback(src_conn.close)
        tgt_conn = _open(target, "Neon target", spec)
        stack.callback(tgt_conn.close)
        t_schema, t_table = spec.target_name
        helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neon-dms-diff")
        stack.callback(helper.shutdown)
        try:
            src_info = read_table(src_conn, source.engine, spec.schema, spec.table)
            tgt_info = read_table(tgt_conn, target.engine, t_schema, t_table)
            result, pairs = plan_table(spec, src_info, tgt_info)
            row_hash = _row_hash(source.engine, src_conn, target.engine, tgt_conn, options)
            key = tuple(result.key_columns)
            src_side = _side(src_conn, source.engine, spec.schema, spec.table, pairs, key, row_hash, "source")
            tgt_side = _side(tgt_conn, target.engine, t_schema, t_table, pairs, key, row_hash, "target")
            if result.compared_as == "multiset":
                log.info(
                    "Table %s has no primary key or NOT NULL unique key: its rows are matched as a "
                    "multiset of full rows (duplicates counted; a changed row counts as missing on both "
                    "sides).",
                    spec.label,
                )
                MultisetWalker(src_side, tgt_side, result, options, helper).run()
            else:
                Walker(src_side, tgt_side, result, pairs, options, helper).run()
        except DataDiffError:
            raise
        except Exception as err:
            reason = _brief(err, source, target)
            raise DataDiffError(f"Table {spec.label}: the comparison failed: {reason}") from err
    result.seconds = time.monotonic() - started
    log.info(
        "Table %s (compared as %s): %d source rows, %d target rows, %d missing in target, "
        "%d missing in source, %d different (%.2f s)",
        spec.label,
        "a multiset" if result.compared_as == "multiset" else "keyed rows",
        result.rows_source,
        result.rows_target,
        result.missing_in_target_count,
        result.missing_in_source_count,
        result.different_count,
        result.seconds,
    )
    return result


def _brief(err: BaseException, *endpoints: Endpoint) -> str:
    """The error's type and first line, without any DSN password or either side's password."""
    text = str(err).strip().splitlines()
    secrets = [s for e in endpoints for s in e.secrets()]
    return redact(f"{type(err).__name__}: {text[0] if text else ''}", secrets)


def _open(endpoint: Endpoint, role: str, spec: TableSpec) -> Any:
    try:
        return endpoint.open()
    except Exception as err:
        raise DataDiffError(
            f"Table {spec.label}: cannot connect to the {role} ({endpoint.description}): "
            f"{_brief(err, endpoint)}. "
            "Check host, port, credentials and that the server is running."
        ) from err


def _row_hash(
    source_engine: str, source: Any, target_engine: str, target: Any, options: DiffOptions
) -> RowHash:
    """``canonical`` across engines; between PostgreSQL servers ``record`` when both are 14+."""
    if not source_engine == target_engine == "postgresql":
        return "canonical"
    if options.native_hash != "auto":
        return options.native_hash
    if min(source.info.server_version, target.info.server_version) >= 140000:
        return "record"
    return "text"


def _side(
    conn: Any,
    engine: str,
    schema: str,
    table: str,
    pairs: list[ColumnPair],
    key: tuple[str, ...],
    row_hash: RowHash,
    label: SideName,
) -> PostgresSide | MySqlSide:
    if engine == "postgresql":
        return PostgresSide(conn, schema, table, pairs, key, row_hash=row_hash, label=label)
    return MySqlSide(conn, schema, table, pairs, key, label=label)


def diff_tables(
    source: Endpoint,
    target: Endpoint,
    specs: Sequence[TableSpec],
    *,
    max_connections: int = 4,
    options: DiffOptions | None = None,
) -> list[TableDiff]:
    """Compare many tables, ``max_connections // 2`` at a time; a table that fails carries ``error``."""
    if not specs:
        raise DataDiffError("No tables to compare: the table list or mapping selects nothing.")
    workers = max(1, max_connections // 2)

    def one(spec: TableSpec) -> TableDiff:
        try:
            return diff_table(source, target, spec, options)
        except DataDiffError as err:
            t_schema, t_table = spec.target_name
            log.error("%s", err)
            return TableDiff(
                schema=spec.schema,
                table=spec.table,
                target_schema=t_schema,
                target_table=t_table,
                key_columns=list(spec.key_columns),
                compared_columns=[],
                error=str(err),
            )

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neon-dms-table") as pool:
        return list(pool.map(one, specs))

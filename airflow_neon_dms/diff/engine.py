"""Walk a table's key ranges on both sides, split only what differs, fetch only small ranges.

Each table uses one connection per side; the two sides' queries run at the same time. Tables run
in parallel up to ``max_connections`` open connections in total.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

from airflow_neon_dms.diff import ranges
from airflow_neon_dms.diff.canonical import ColumnPair, RowHash, check_key_splittable, column_pairs
from airflow_neon_dms.diff.connect import Endpoint
from airflow_neon_dms.diff.ranges import Checksum, Key, KeyRange
from airflow_neon_dms.diff.sides import MySqlSide, PostgresSide, Side, Span
from airflow_neon_dms.exceptions import DataDiffError
from airflow_neon_dms.schema import catalog_mysql, catalog_postgres
from airflow_neon_dms.schema.model import TableInfo

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class DiffOptions:
    """Tuning of the range walk. The defaults suit tables from a few rows to billions."""

    #: Rows per bucket in the first pass over the whole table (small buckets keep the second pass
    #: short; a GROUP BY of thousands of buckets costs next to nothing).
    first_pass_rows: int = 256
    #: Rows per bucket when a differing bucket is split again.
    leaf_rows: int = 64
    #: A differing range with at most this many rows on each side is fetched and compared by row.
    fetch_limit: int = 256
    #: Most buckets in one pass (integer keys), in the first cut of other keys (each boundary is a
    #: query parameter) and in their later cuts.
    max_parts: int = 16384
    max_parts_first_generic: int = 1024
    max_parts_generic: int = 64
    #: Integer keys: most differing ranges split in one query, and most ranges / rows per fetch query.
    split_batch: int = 256
    fetch_batch_ranges: int = 128
    fetch_batch_rows: int = 8192
    #: Most keys listed per category in the result; the counts stay exact beyond it.
    max_keys: int = 1000
    #: PostgreSQL -> PostgreSQL row hash: ``auto`` uses ``record`` when both servers are 14+.
    native_hash: Literal["auto", "record", "text"] = "auto"


@dataclass(frozen=True)
class TableSpec:
    """One table to compare: its source name, its Neon name and optionally the key columns."""

    schema: str
    table: str
    target_schema: str | None = None
    target_table: str | None = None
    key_columns: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def target_name(self) -> tuple[str, str]:
        return (self.target_schema or self.schema, self.target_table or self.table)


@dataclass
class TableDiff:
    """What the comparison of one table found. Key lists are capped; counts are exact."""

    schema: str
    table: str
    target_schema: str
    target_table: str
    key_columns: list[str]
    compared_columns: list[str]
    only_in_source_columns: list[str] = field(default_factory=list)
    only_in_target_columns: list[str] = field(default_factory=list)
    rows_source: int = 0
    rows_target: int = 0
    missing_in_target_count: int = 0
    missing_in_source_count: int = 0
    different_count: int = 0
    missing_in_target: list[list[Any]] = field(default_factory=list)
    missing_in_source: list[list[Any]] = field(default_factory=list)
    different: list[list[Any]] = field(default_factory=list)
    keys_truncated: bool = False
    ranges_compared: int = 0
    rows_fetched: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def identical(self) -> bool:
        return self.error is None and not (
            self.missing_in_target_count or self.missing_in_source_count or self.different_count
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no connection details)."""
        out = {k: v for k, v in self.__dict__.items()}
        out["identical"] = self.identical
        out["seconds"] = round(self.seconds, 3)
        return out


def _json_key(key: Key) -> list[Any]:
    return [v if isinstance(v, (int, str)) or v is None else str(v) for v in key]


def _int_buckets(side: Side, *, origin: int, width: int, spans: list[Span]) -> dict[int, Checksum]:
    return side.int_buckets(origin, width, spans)


def _int_fetch(side: Side, *, spans: list[Span]) -> list[tuple[Key, int]]:
    return side.int_fetch(spans)


class _Walker:
    """The range walk for one table."""

    def __init__(
        self,
        source: Side,
        target: Side,
        result: TableDiff,
        pairs: list[ColumnPair],
        options: DiffOptions,
        helper: ThreadPoolExecutor,
    ) -> None:
        self.source = source
        self.target = target
        self.result = result
        self.options = options
        self.helper = helper
        key_pairs = [p for name in result.key_columns for p in pairs if p.name == name]
        self.int_key = len(key_pairs) == 1 and key_pairs[0].family == "int"

    def both(self, on_source: Callable[[Side], T], on_target: Callable[[Side], T]) -> tuple[T, T]:
        future: Future[T] = self.helper.submit(on_target, self.target)
        return on_source(self.source), future.result()

    def both_same(self, call: Callable[[Side], T]) -> tuple[T, T]:
        return self.both(call, call)

    def run(self) -> None:
        if self.int_key:
            self._run_int()
        else:
            self._run_generic()
        for listed in (self.result.missing_in_target, self.result.missing_in_source, self.result.different):
            listed.sort(key=ranges.sort_key)

    def _log_first_pass(self, differing: int) -> None:
        log.info(
            "Table %s.%s: first pass done (%d source rows, %d target rows), %d range(s) differ",
            self.result.schema,
            self.result.table,
            self.result.rows_source,
            self.result.rows_target,
            differing,
        )

    # --- integer keys: power-of-two buckets, differing ranges split and fetched in batches ---------

    def _run_int(self) -> None:
        opts = self.options
        bounds = self.both(lambda s: s.int_bounds(), lambda t: t.int_bounds())
        present = [b for b in bounds if b is not None]
        if not present:
            return
        origin, hi = min(b[0] for b in present), max(b[1] for b in present) + 1
        width = ranges.int_first_width(
            origin, hi, ranges.choose_parts(hi - origin, opts.first_pass_rows, opts.max_parts)
        )
        whole = [(origin, hi)]
        src, tgt = self.both(
            lambda s: s.int_buckets(origin, width, whole), lambda t: t.int_buckets(origin, width, whole)
        )
        self.result.ranges_compared += 1
        self._totals(src, tgt)
        first = [(ranges.int_span(origin, width, b, hi), s, t) for b, s, t in ranges.differing(src, tgt)]
        self._log_first_pass(len(first))
        to_split: list[tuple[int, list[tuple[Span, Checksum, Checksum]]]] = []
        to_fetch: list[tuple[Span, Checksum, Checksum]] = []
        self._sort_out(width, first, to_split, to_fetch)
        while True:
            if to_fetch:
                self._fetch_int(to_fetch)
                to_fetch.clear()
            if not to_split:
                break
            width, entries = to_split.pop()
            batch, rest = entries[: opts.split_batch], entries[opts.split_batch :]
            if rest:
                to_split.append((width, rest))
            most = max(max(s.count, t.count) for _span, s, t in batch)
            factor = min(
                width,
                max(2, ranges.pow2_at_least(-(-most // opts.leaf_rows))),
                ranges.pow2_at_least(opts.max_parts),
            )
            child = width // factor
            spans = [span for span, _s, _t in batch]
            src, tgt = self.both_same(partial(_int_buckets, origin=origin, width=child, spans=spans))
            self.result.ranges_compared += len(batch)
            found = [(ranges.int_span(origin, child, b, hi), s, t) for b, s, t in ranges.differing(src, tgt)]
            self._sort_out(child, found, to_split, to_fetch)

    def _sort_out(
        self,
        width: int,
        found: list[tuple[Span, Checksum, Checksum]],
        to_split: list[tuple[int, list[tuple[Span, Checksum, Checksum]]]],
        to_fetch: list[tuple[Span, Checksum, Checksum]],
    ) -> None:
        splits = []
        for span, s, t in found:
            if s.count == 0 or t.count == 0:
                only_source = t.count == 0
                side = self.source if only_source else self.target
                count = s.count if only_source else t.count
                self._record_one_sided(side, KeyRange((span[0],), (span[1],)), only_source, count)
            elif max(s.count, t.count) <= self.options.fetch_limit or width == 1:
                to_fetch.append((span, s, t))
            else:
                splits.append((span, s, t))
        if splits:
            to_split.append((width, splits))

    def _fetch_int(self, entries: list[tuple[Span, Checksum, Checksum]]) -> None:
        opts = self.options
        batch: list[Span] = []
        rows = 0
        for index, (span, s, t) in enumerate(entries):
            batch.append(span)
            rows += max(s.count, t.count)
            if (
                len(batch) >= opts.fetch_batch_ranges
                or rows >= opts.fetch_batch_rows
                or index == len(entries) - 1
            ):
                spans = list(batch)
                rows_s, rows_t = self.both_same(partial(_int_fetch, spans=spans))
                self._compare(rows_s, rows_t)
                batch, rows = [], 0

    def _compare(self, rows_s: list[tuple[Key, int]], rows_t: list[tuple[Key, int]]) -> None:
        self.result.rows_fetched += len(rows_s) + len(rows_t)
        self._check_unique(rows_s, "source")
        self._check_unique(rows_t, "target")
        delta = ranges.compare_rows(rows_s, rows_t)
        self._add("missing_in_target", delta.missing_in_target, len(delta.missing_in_target))
        self._add("missing_in_source", delta.missing_in_source, len(delta.missing_in_source))
        self._add("different", delta.different, len(delta.different))

    # --- other keys: boundaries taken from the data, one range at a time --------------------------

    def _run_generic(self) -> None:
        stack: list[tuple[KeyRange, Checksum | None, Checksum | None]] = [(KeyRange(), None, None)]
        first = True
        while stack:
            rng, s_cs, t_cs = stack.pop()
            children = self._split(rng, s_cs, t_cs)
            if first:
                self._log_first_pass(len(children))
                first = False
            for child, s, t in reversed(children):
                # A cut that made no progress (only possible with duplicate keys) is fetched: the
                # uniqueness check then names the problem instead of looping.
                self._visit(child, s, t, stack, stuck=child == rng and s_cs is not None)

    def _split(
        self, rng: KeyRange, s_cs: Checksum | None, t_cs: Checksum | None
    ) -> list[tuple[KeyRange, Checksum, Checksum]]:
        opts = self.options
        self.result.ranges_compared += 1
        if s_cs is None or t_cs is None:
            src, tgt = self.both(lambda s: s.range_buckets(rng, []), lambda t: t.range_buckets(rng, []))
            self._totals(src, tgt)
            return [(rng, s, t) for _b, s, t in ranges.differing(src, tgt)]
        bigger = self.source if s_cs.count >= t_cs.count else self.target
        count = max(s_cs.count, t_cs.count)
        if rng.lo is None and rng.hi is None:  # the whole table: cut it like the integer first pass
            parts = ranges.choose_parts(count, opts.first_pass_rows, opts.max_parts_first_generic)
        else:
            parts = ranges.choose_parts(count, opts.leaf_rows, opts.max_parts_generic)
        step = max(1, -(-count // parts))
        bounds = bigger.boundaries(rng, step)
        src, tgt = self.both(lambda s: s.range_buckets(rng, bounds), lambda t: t.range_buckets(rng, bounds))
        cuts = ranges.boundary_ranges(rng, bounds)
        return [(cuts[b], s, t) for b, s, t in ranges.differing(src, tgt)]

    def _totals(self, src: dict[int, Checksum], tgt: dict[int, Checksum]) -> None:
        self.result.rows_source = sum(c.count for c in src.values())
        self.result.rows_target = sum(c.count for c in tgt.values())

    def _visit(
        self,
        rng: KeyRange,
        s: Checksum,
        t: Checksum,
        stack: list[tuple[KeyRange, Checksum | None, Checksum | None]],
        *,
        stuck: bool = False,
    ) -> None:
        opts = self.options
        if s.count == 0 or t.count == 0:
            only_source = t.count == 0
            side = self.source if only_source else self.target
            self._record_one_sided(side, rng, only_source, s.count if only_source else t.count)
            return
        if max(s.count, t.count) <= opts.fetch_limit or stuck:
            rows_s, rows_t = self.both(lambda x: x.fetch(rng), lambda x: x.fetch(rng))
            self._compare(rows_s, rows_t)
            return
        stack.append((rng, s, t))

    def _record_one_sided(self, side: Side, rng: KeyRange, only_source: bool, count: int) -> None:
        name = "missing_in_target" if only_source else "missing_in_source"
        room = max(0, self.options.max_keys - len(getattr(self.result, name)))
        keys = [k for k, _h in side.fetch(rng, with_hash=False, limit=room)] if room else []
        self.result.rows_fetched += len(keys)
        self._add(name, keys, count)

    def _add(self, name: str, keys: Sequence[Key], count: int) -> None:
        setattr(self.result, name + "_count", getattr(self.result, name + "_count") + count)
        listed: list[list[Any]] = getattr(self.result, name)
        room = max(0, self.options.max_keys - len(listed))
        listed.extend(_json_key(k) for k in keys[:room])
        if count > room:
            self.result.keys_truncated = True

    def _check_unique(self, rows: list[tuple[Key, int]], side: str) -> None:
        if len({k for k, _ in rows}) != len(rows):
            raise DataDiffError(
                f"Table {self.result.schema}.{self.result.table}: key ({', '.join(self.result.key_columns)}) "
                f"is not unique on the {side} side. Pass a unique key with --key / key_columns."
            )


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
    key = tuple(spec.key_columns) or source.best_key() or target.best_key()
    if not key:
        raise DataDiffError(
            f"Table {spec.label} has no primary key or NOT NULL unique key on either side, so rows "
            "cannot be matched one to one. Add a primary key, or name unique columns with --key / "
            "key_columns."
        )
    pairs = column_pairs(source, target)
    native = source.engine == target.engine == "postgresql"
    check_key_splittable(spec.label, pairs, key, native)
    result = TableDiff(
        schema=spec.schema,
        table=spec.table,
        target_schema=t_schema,
        target_table=t_table,
        key_columns=list(key),
        compared_columns=[p.name for p in pairs],
        only_in_source_columns=[c.name for c in source.columns if target.column(c.name) is None],
        only_in_target_columns=[c.name for c in target.columns if source.column(c.name) is None],
    )
    return result, pairs


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
            _Walker(src_side, tgt_side, result, pairs, options, helper).run()
        except DataDiffError:
            raise
        except Exception as err:
            raise DataDiffError(f"Table {spec.label}: the comparison failed: {_brief(err)}") from err
    result.seconds = time.monotonic() - started
    log.info(
        "Table %s: %d source rows, %d target rows, %d missing in target, %d missing in source, "
        "%d different (%.2f s)",
        spec.label,
        result.rows_source,
        result.rows_target,
        result.missing_in_target_count,
        result.missing_in_source_count,
        result.different_count,
        result.seconds,
    )
    return result


def _brief(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _open(endpoint: Endpoint, role: str, spec: TableSpec) -> Any:
    try:
        return endpoint.open()
    except Exception as err:
        raise DataDiffError(
            f"Table {spec.label}: cannot connect to the {role} ({endpoint.description}): {_brief(err)}. "
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
    label: str,
) -> Side:
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

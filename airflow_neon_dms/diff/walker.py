"""The range walk over one table: split only what differs, fetch only small ranges."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from airflow_neon_dms.diff import ranges
from airflow_neon_dms.diff.canonical import ColumnPair
from airflow_neon_dms.diff.model import DiffOptions, TableDiff
from airflow_neon_dms.diff.ranges import Checksum, Key, KeyRange
from airflow_neon_dms.diff.sides import Side, Span
from airflow_neon_dms.exceptions import DataDiffError

log = logging.getLogger(__name__)

T = TypeVar("T")


def json_values(key: Key) -> list[Any]:
    """Key or row values as JSON: integers (also whole decimals) and strings as they are, others as text."""
    out: list[Any] = []
    for v in key:
        if isinstance(v, Decimal) and v == v.to_integral_value():
            v = int(v)
        out.append(v if isinstance(v, (int, str)) or v is None else str(v))
    return out


def _int_buckets(side: Side, *, origin: int, width: int, spans: list[Span]) -> dict[int, Checksum]:
    return side.int_buckets(origin, width, spans)


def _int_fetch(side: Side, *, spans: list[Span]) -> list[tuple[Key, int]]:
    return side.int_fetch(spans)


class Walker:
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
        listed.extend(json_values(k) for k in keys[:room])
        if count > room:
            self.result.keys_truncated = True

    def _check_unique(self, rows: list[tuple[Key, int]], side: str) -> None:
        if len({k for k, _ in rows}) != len(rows):
            raise DataDiffError(
                f"Table {self.result.schema}.{self.result.table}: key ({', '.join(self.result.key_columns)}) "
                f"is not unique on the {side} side. Pass a unique key with --key / key_columns."
            )

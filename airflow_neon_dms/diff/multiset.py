"""Tables without a key: compare the whole table as a multiset of full rows, inside both databases.

1. One aggregate scan per side: ``count(*)`` and the sum of the 64-bit row hash (the keyed walk's
   hash). Equal on both sides: the table is identical, and that was the only query.
2. Otherwise, on tables bigger than one fetch batch, rows are grouped by the low bits of their hash
   (buckets of about ``first_pass_rows`` rows, at most ``max_parts``), one grouped scan per side,
   and only buckets whose count or sum differ go on.
3. Each side streams ``(hash, count)`` for the rows of those buckets, ordered by hash, with one
   row's values per hash; merging the two streams gives every row value whose number of copies
   differs, and by how much (a duplicated row counts). Memory stays flat: the streams are read
   in batches, and only rows to list (at most ``max_keys`` copies per category) are kept.
4. When every bucket is streamed on a big table (most of them differ), the stream carries no row
   values and one row per listed hash is fetched afterwards.

There is no key to pair an old row with its new value, so a changed row shows as one row missing
on Neon (the old value) and one missing on the source (the new value); ``different`` stays empty.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from airflow_neon_dms.diff import ranges
from airflow_neon_dms.diff.model import DiffOptions, TableDiff
from airflow_neon_dms.diff.ranges import Key
from airflow_neon_dms.diff.sides import HashCount, MultisetSide
from airflow_neon_dms.diff.walker import json_values

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A row hash, how many copies of that row to list, and the row when already known.
Pending = list[tuple[int, int, Key | None]]


def hash_mask(rows: int, options: DiffOptions) -> int:
    """Bit mask on the row hash giving buckets of about ``first_pass_rows`` rows (a power of two)."""
    largest = 1 << (max(options.max_parts, 2).bit_length() - 1)
    parts = min(largest, ranges.pow2_at_least(ranges.choose_parts(rows, options.first_pass_rows, largest)))
    return parts - 1


def _ascending(groups: Iterable[HashCount], side: str) -> Iterator[HashCount]:
    last: int | None = None
    for group in groups:
        if last is not None and group[0] <= last:
            raise ValueError(f"the {side} side did not return row hashes in ascending order")
        last = group[0]
        yield group


def count_deltas(source: Iterable[HashCount], target: Iterable[HashCount]) -> Iterator[HashCount]:
    """``(hash, source copies - target copies, row)`` for every hash whose counts differ.

    Both inputs are ``(hash, count, row)`` in ascending hash order; they are merged as streams.
    The row comes from the side with more copies.
    """
    src, tgt = _ascending(source, "source"), _ascending(target, "target")
    s, t = next(src, None), next(tgt, None)
    while s is not None or t is not None:
        if t is None or (s is not None and s[0] < t[0]):
            assert s is not None
            yield s
            s = next(src, None)
        elif s is None or t[0] < s[0]:
            yield t[0], -t[1], t[2]
            t = next(tgt, None)
        else:
            if s[1] != t[1]:
                yield s[0], s[1] - t[1], (s if s[1] > t[1] else t)[2]
            s, t = next(src, None), next(tgt, None)


def _started(groups: Iterator[HashCount]) -> Iterator[HashCount]:
    """Run the stream's query now (its first batch), so both sides' queries run at the same time."""
    first = next(groups, None)
    return iter(()) if first is None else itertools.chain([first], groups)


class MultisetWalker:
    """The comparison of one keyless table as a multiset of full rows."""

    def __init__(
        self,
        source: MultisetSide,
        target: MultisetSide,
        result: TableDiff,
        options: DiffOptions,
        helper: ThreadPoolExecutor,
    ) -> None:
        self.source = source
        self.target = target
        self.result = result
        self.options = options
        self.helper = helper
        self.pending: dict[str, Pending] = {"missing_in_target": [], "missing_in_source": []}
        self.listed = {"missing_in_target": 0, "missing_in_source": 0}

    def both(
        self, on_source: Callable[[MultisetSide], T], on_target: Callable[[MultisetSide], T]
    ) -> tuple[T, T]:
        future: Future[T] = self.helper.submit(on_target, self.target)
        return on_source(self.source), future.result()

    def run(self) -> None:
        result = self.result
        src_total, tgt_total = self.both(lambda s: s.multiset_total(), lambda t: t.multiset_total())
        result.rows_source, result.rows_target = src_total.count, tgt_total.count
        result.ranges_compared = 1
        if src_total.matches(tgt_total):
            return
        most = max(src_total.count, tgt_total.count)
        mask, buckets = self._differing_buckets(most)
        # Row values travel with the stream unless it covers every row of a big table.
        with_rows = buckets is not None or most <= self.options.fetch_batch_rows
        log.info(
            "Table %s.%s: the row multisets differ (%d source rows, %d target rows); %s",
            result.schema,
            result.table,
            result.rows_source,
            result.rows_target,
            "comparing every row value" if buckets is None else f"{len(buckets)} hash bucket(s) differ",
        )
        src_groups, tgt_groups = self.both(
            lambda s: _started(s.hash_counts(mask, buckets, with_rows=with_rows)),
            lambda t: _started(t.hash_counts(mask, buckets, with_rows=with_rows)),
        )
        for digest, delta, row in count_deltas(src_groups, tgt_groups):
            if delta > 0:
                self._note("missing_in_target", digest, delta, row)
            else:
                self._note("missing_in_source", digest, -delta, row)
        self._list_rows()

    def _differing_buckets(self, rows: int) -> tuple[int, list[int] | None]:
        """Mask and the hash buckets that differ; ``None`` to stream every row value."""
        if rows <= self.options.fetch_batch_rows:
            return 0, None
        mask = hash_mask(rows, self.options)
        src, tgt = self.both(lambda s: s.hash_buckets(mask), lambda t: t.hash_buckets(mask))
        self.result.ranges_compared += mask + 1
        found = [bucket for bucket, _s, _t in ranges.differing(src, tgt)]
        # When most buckets differ, filtering by bucket would cost more than it saves.
        return mask, (found if len(found) <= (mask + 1) // 2 else None)

    def _note(self, name: str, digest: int, copies: int, row: Key | None) -> None:
        setattr(self.result, name + "_count", getattr(self.result, name + "_count") + copies)
        take = min(copies, max(0, self.options.max_keys - self.listed[name]))
        if take:
            self.pending[name].append((digest, take, row))
            self.listed[name] += take
        if take < copies:
            self.result.keys_truncated = True

    def _list_rows(self) -> None:
        wanted_t = [digest for digest, _n, row in self.pending["missing_in_target"] if row is None]
        wanted_s = [digest for digest, _n, row in self.pending["missing_in_source"] if row is None]
        rows_s: dict[int, Key] = {}
        rows_t: dict[int, Key] = {}
        if wanted_t or wanted_s:
            rows_s, rows_t = self.both(
                lambda s: s.rows_for_hashes(wanted_t), lambda t: t.rows_for_hashes(wanted_s)
            )
        self.result.rows_fetched += len(rows_s) + len(rows_t)
        for name, rows in (("missing_in_target", rows_s), ("missing_in_source", rows_t)):
            listed: list[list[object]] = getattr(self.result, name)
            for digest, copies, known in self.pending[name]:
                row = known if known is not None else rows.get(digest)
                if row is not None:
                    listed.extend(json_values(row) for _ in range(copies))
            listed.sort(key=ranges.sort_key)

"""Pure planning for the diff: key ranges, how to split them, and how to compare what comes back."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Sums are compared modulo 2**64: PostgreSQL sums signed and MySQL unsigned 64-bit hashes, and
#: each signed value equals its unsigned twin modulo 2**64.
HASH_MODULUS = 2**64

Key = tuple[Any, ...]


@dataclass(frozen=True)
class KeyRange:
    """Keys ``lo <= key < hi`` (key tuples compared in order); None means unbounded."""

    lo: Key | None = None
    hi: Key | None = None

    def describe(self) -> str:
        lo = "-inf" if self.lo is None else ", ".join(map(str, self.lo))
        hi = "+inf" if self.hi is None else ", ".join(map(str, self.hi))
        return f"[{lo} .. {hi})"


@dataclass(frozen=True)
class Checksum:
    """Row count and hash sum of one range on one side."""

    count: int = 0
    total: int = 0

    def matches(self, other: Checksum) -> bool:
        return self.count == other.count and (self.total - other.total) % HASH_MODULUS == 0


EMPTY = Checksum()


def choose_parts(rows: int, leaf_rows: int, max_parts: int) -> int:
    """How many sub-ranges to cut ``rows`` rows into so each holds about ``leaf_rows``."""
    return max(2, min(max_parts, math.ceil(max(rows, 1) / max(leaf_rows, 1))))


def int_width(lo: int, hi: int, parts: int) -> int:
    """Bucket width that cuts ``[lo, hi)`` into at most ``parts`` buckets (at least 1)."""
    return max(1, math.ceil((hi - lo) / max(parts, 1)))


def pow2_at_least(n: int) -> int:
    """The smallest power of two >= n (1 for n <= 1)."""
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def int_first_width(lo: int, hi: int, parts: int) -> int:
    """A power-of-two bucket width cutting ``[lo, hi)`` into at most ``parts`` buckets.

    Powers of two let every later split use a width that divides its parent's, so child buckets
    of many parents can be counted in one query with one global bucket number.
    """
    return pow2_at_least(int_width(lo, hi, parts))


def int_span(origin: int, width: int, bucket: int, hi: int) -> tuple[int, int]:
    """Keys ``[start, end)`` of global bucket ``bucket`` (clipped to ``hi``)."""
    start = origin + bucket * width
    return start, min(hi, start + width)


def boundary_ranges(parent: KeyRange, boundaries: Sequence[Key]) -> list[KeyRange]:
    """Cut ``parent`` at the sorted ``boundaries``: bucket i is ``[b(i-1), b(i))``."""
    edges: list[Key | None] = [parent.lo, *boundaries, parent.hi]
    return [KeyRange(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def differing(
    source: Mapping[int, Checksum], target: Mapping[int, Checksum]
) -> list[tuple[int, Checksum, Checksum]]:
    """Buckets whose checksums differ, with both sides' values, in bucket order."""
    out = []
    for bucket in sorted(set(source) | set(target)):
        s, t = source.get(bucket, EMPTY), target.get(bucket, EMPTY)
        if not s.matches(t):
            out.append((bucket, s, t))
    return out


@dataclass
class RowDelta:
    """Keys found only on one side, and keys whose rows differ, from one fetched range."""

    missing_in_target: list[Key] = field(default_factory=list)
    missing_in_source: list[Key] = field(default_factory=list)
    different: list[Key] = field(default_factory=list)


def compare_rows(source: Iterable[tuple[Key, int]], target: Iterable[tuple[Key, int]]) -> RowDelta:
    """Compare (key, row hash) pairs of one range from both sides."""
    src = dict(source)
    tgt = dict(target)
    delta = RowDelta()
    for key, digest in src.items():
        other = tgt.get(key)
        if other is None:
            delta.missing_in_target.append(key)
        elif (other - digest) % HASH_MODULUS:
            delta.different.append(key)
    delta.missing_in_source = [key for key in tgt if key not in src]
    for keys in (delta.missing_in_target, delta.missing_in_source, delta.different):
        keys.sort(key=sort_key)
    return delta


def sort_key(key: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    """Order keys with integers numerically and everything else as text."""
    return tuple((0, v) if isinstance(v, int) else (1, str(v)) for v in key)

"""The pure parts of the keyless diff: merging two sorted (hash, count) streams, bucket masks."""

from __future__ import annotations

import pytest

from airflow_neon_dms.diff.model import DiffOptions
from airflow_neon_dms.diff.multiset import count_deltas, hash_mask


def test_count_deltas_merges_sorted_streams() -> None:
    source = [(-(2**63), 1, ("a",)), (-5, 2, ("b",)), (3, 1, ("c",)), (10, 4, ("d",))]
    target = [(-5, 2, ("b",)), (3, 3, ("c",)), (7, 1, ("e",)), (2**63 - 1, 2, None)]
    assert list(count_deltas(source, target)) == [
        (-(2**63), 1, ("a",)),
        (3, -2, ("c",)),
        (7, -1, ("e",)),
        (10, 4, ("d",)),
        (2**63 - 1, -2, None),
    ]
    assert list(count_deltas(iter(source), iter(source))) == []
    assert [d[:2] for d in count_deltas([], target)] == [(-5, -2), (3, -3), (7, -1), (2**63 - 1, -2)]


def test_count_deltas_refuses_unsorted_input() -> None:
    with pytest.raises(ValueError, match="target side did not return row hashes in ascending order"):
        list(count_deltas([(1, 1, None), (5, 1, None)], [(5, 1, None), (1, 1, None)]))


@pytest.mark.parametrize(("rows", "expected"), [(10, 1), (256 * 3, 3), (256 * 1000, 1023), (10**12, 16383)])
def test_hash_mask_is_a_power_of_two_minus_one_capped(rows: int, expected: int) -> None:
    assert hash_mask(rows, DiffOptions()) == expected

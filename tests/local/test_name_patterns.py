"""The emulator's own reading of DMS's table-mapping wildcards (AWS DMS user guide table)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from airflow_neon_dms.local.name_patterns import name_matches


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("%", ["", "orders", "a_b"], []),
        ("order%", ["order", "orders", "order_lines"], ["orde", "xorder"]),
        ("%lines", ["lines", "order_lines"], ["line", "lines2"]),
        ("o%r%s", ["orders", "ors", "oXrYs"], ["order", "rs"]),
        ("t_p", ["tmp", "t_p", "tip"], ["tp", "tmmp"]),
        ("order[_]%", ["order_lines", "order_"], ["orderXlines", "order"]),
        ("t[ab]", ["ta", "tb"], ["tc", "t", "tab"]),
        ("t[a-d]", ["ta", "tc", "td"], ["te", "t-"]),
        ("t[a-]", ["ta", "t-"], ["tb"]),
        ("t[-a]", ["ta", "t-"], ["tb"]),
        ("t[%]", ["t%"], ["tx", "t"]),
        ("t[^a]", ["t^", "ta"], ["tb"]),  # no negated set in the guide: ^ is a character
        ("Orders", ["Orders"], ["orders", "ORDERS"]),  # case-sensitive
        ("a.b*c", ["a.b*c"], ["aXbc", "a.bbc"]),  # regular-expression characters are literal
    ],
)
def test_wildcards_of_the_user_guide(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    assert all(name_matches(pattern, name) for name in matching)
    assert not any(name_matches(pattern, name) for name in not_matching)


@pytest.mark.parametrize(("pattern", "message"), [("order[_%", "without a closing"), ("t[]", "empty set")])
def test_malformed_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        name_matches(pattern, "anything")


def test_many_percent_signs_stay_fast() -> None:
    # A backtracking matcher takes exponential time here; the position-set walk does not.
    assert not name_matches("%a%a%a%a%a%a%a%a%a%a%a%a%b", "a" * 200)


@given(
    pattern=st.text(alphabet="ab_%[]-^", max_size=8),
    name=st.text(alphabet="ab_%[]-^c", max_size=8),
)
def test_agrees_with_the_providers_reading_of_the_same_guide(pattern: str, name: str) -> None:
    """Two readings written apart from the same table must agree; a difference means one is wrong."""
    from airflow_neon_dms.dms.mapping_match import name_matches as provider_matches
    from airflow_neon_dms.exceptions import NeonConfigError

    try:
        expected = provider_matches(pattern, name)
    except NeonConfigError:
        with pytest.raises(ValueError):  # both refuse a malformed pattern (their messages differ)
            name_matches(pattern, name)
        return
    except re.error:
        assume(False)  # a reversed range such as [b-a]: the provider's regex refuses, here it is empty
        return
    assert name_matches(pattern, name) == expected

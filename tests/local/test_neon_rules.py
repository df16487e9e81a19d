"""The emulator's own reading of Neon's endpoint-id rules (Neon docs, "Connection errors")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_neon_dms.local.neon_rules import (
    check_endpoint_id,
    endpoint_from_options,
    endpoint_from_sni,
    options_without_endpoint,
    split_password,
)


def test_sni_name_gives_the_first_label_without_pooler() -> None:
    assert endpoint_from_sni("ep-cool-darkness-123456.us-east-2.aws.neon.tech") == "ep-cool-darkness-123456"
    assert endpoint_from_sni("EP-A-1-pooler.c-2.eu-central-1.aws.neon.tech") == "ep-a-1"
    assert endpoint_from_sni("::1") is None
    assert endpoint_from_sni("10.0.0.1") is None
    assert endpoint_from_sni("localhost") is None


def test_options_parameter_forms() -> None:
    assert endpoint_from_options("endpoint=ep-b-2") == "ep-b-2"
    assert endpoint_from_options("-c search_path=x endpoint%3Dep-c-3") == "ep-c-3"
    assert endpoint_from_options("--endpoint=ep-d-4") == "ep-d-4"
    assert endpoint_from_options("-c work_mem=4MB") is None
    assert options_without_endpoint("-c work_mem=4MB endpoint%3Dep-c-3") == "-c work_mem=4MB"


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("endpoint=ep-a-1$secret", ("ep-a-1", "secret")),
        ("endpoint=ep-a-1;secret", ("ep-a-1", "secret")),
        ("endpoint=ep-a-1$se;c$ret", ("ep-a-1", "se;c$ret")),  # the first separator splits
        ("endpoint=ep-a-1", (None, "endpoint=ep-a-1")),
        ("plain", (None, "plain")),
    ],
)
def test_password_forms(password: str, expected: tuple[str | None, str]) -> None:
    assert split_password(password) == expected


@pytest.mark.parametrize("bad", ["", "ep_local", "ep local", "-ep", "ep-", "e" * 64, "ep.local"])
def test_endpoint_ids_that_are_not_a_dns_label_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="endpoint id"):
        check_endpoint_id(bad)


@given(
    password=st.text(max_size=30),
    endpoint=st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
)
def test_password_split_agrees_with_the_providers_reading(password: str, endpoint: str) -> None:
    """The provider composes the password DMS stores; the emulator's proxy must read it back."""
    from airflow_neon_dms.neon import split_endpoint_password

    assert split_password(password) == split_endpoint_password(password)
    assert check_endpoint_id(endpoint) == endpoint

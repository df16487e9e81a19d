"""Passwords are taken out of DSNs in both forms, and known secrets wherever they appear (pure)."""

from __future__ import annotations

import pytest

from airflow_neon_dms.diff.redact import dsn_password, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://app:pw1@db:5432/shop", "postgresql://app:***@db:5432/shop"),
        ('failed: "mysql://root:p%40ss@h/db"', 'failed: "mysql://root:***@h/db"'),
        ("postgresql://app:p@ss@db/shop", "postgresql://app:***@db/shop"),
        ("host=db password=pw1 user=app", "host=db password=*** user=app"),
        ("host=db password='p w\\'1' user=app", "host=db password=*** user=app"),
        (
            "postgresql://db/shop?user=app&password=pw1&sslmode=require",
            "postgresql://db/shop?user=app&password=***&sslmode=require",
        ),
        ("postgresql://app@db:5432/shop", "postgresql://app@db:5432/shop"),  # nothing to hide
        ("postgresql://db:5432/shop?x=a@b", "postgresql://db:5432/shop?x=a@b"),
    ],
)
def test_dsn_passwords_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_secrets_are_masked_in_every_form() -> None:
    text = "role app, password p@ssw0rd!, encoded p%40ssw0rd!, host part ssw0rd!@db"
    assert redact(text, ["p%40ssw0rd!"]) == "role app, password ***, encoded ***, host part ***@db"


@pytest.mark.parametrize(
    ("dsn", "password"),
    [
        ("postgresql://app:p%40ss@db/shop", "p@ss"),
        ("host=db password='a b' user=app", "a b"),
        ("postgresql://db/shop?password=q1", "q1"),
        ("postgresql://app@db/shop", None),
    ],
)
def test_dsn_password(dsn: str, password: str | None) -> None:
    assert dsn_password(dsn) == password

"""Scrubbing secrets from text that leaves Airflow (mail, chat) and never passes its log masker."""

from __future__ import annotations

from airflow_neon_dms.masking import mask, scrub


def test_scrub_removes_registered_secrets_dsn_passwords_and_endpoint_passwords() -> None:
    mask("Registered-Secret-6612")
    text = (
        "login with Registered-Secret-6612 failed; dsn postgresql://owner:Dsn-Secret-1@ep-x.neon.tech/db; "
        "options endpoint=ep-cool-darkness-123456$Unregistered-Secret-9 were sent"
    )
    assert scrub(text) == (
        "login with *** failed; dsn postgresql://owner:***@ep-x.neon.tech/db; "
        "options endpoint=ep-cool-darkness-123456$*** were sent"
    )


def test_scrub_keeps_what_the_masker_already_replaced() -> None:
    mask("Registered-Secret-7713")
    assert scrub("(endpoint=ep-x$Registered-Secret-7713).") == "(endpoint=ep-x$***)."

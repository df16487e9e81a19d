"""Neon hints for DMS connection failures."""

from __future__ import annotations

from airflow_neon_dms.dms.failure_hints import HINT_AUTH, HINT_ENDPOINT_ID, HINT_POOLER, HINT_TLS, neon_hint
from airflow_neon_dms.neon import NEON_MISSING_ENDPOINT_MESSAGE


def test_missing_endpoint_id() -> None:
    hint = neon_hint(f"FATAL: {NEON_MISSING_ENDPOINT_MESSAGE}")
    assert hint is not None and HINT_ENDPOINT_ID in hint


def test_tls_required() -> None:
    hint = neon_hint("FATAL: connection is insecure (try using `sslmode=require`)")
    assert hint is not None and HINT_TLS in hint


def test_pooler_host_from_message_or_server_name() -> None:
    hint = neon_hint("could not connect to ep-x-1-pooler.us-east-2.aws.neon.tech failed")
    assert hint is not None and HINT_POOLER in hint
    hint = neon_hint("timeout", "ep-x-1-pooler.us-east-2.aws.neon.tech")
    assert hint == HINT_POOLER


def test_bad_password() -> None:
    assert neon_hint("FATAL: password authentication failed for user 'neondb_owner'") == HINT_AUTH


def test_unrelated_failure_has_no_hint() -> None:
    assert neon_hint("Replication instance is out of memory") is None
    assert neon_hint(None) is None

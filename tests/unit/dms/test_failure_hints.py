"""Neon hints for DMS connection failures."""

from __future__ import annotations

from airflow_neon_dms.dms.failure_hints import (
    HINT_AUTH,
    HINT_AUTH_DMS,
    HINT_DATABASE,
    HINT_ENDPOINT_ID,
    HINT_ENDPOINT_ID_WORKER,
    HINT_NETWORK,
    HINT_POOLER,
    HINT_TLS,
    HINT_TLS_WORKER,
    neon_hint,
    neon_network_hint,
)
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


def test_bad_password_on_each_side() -> None:
    failure = "FATAL: password authentication failed for user 'neondb_owner'"
    assert neon_hint(failure) == HINT_AUTH_DMS
    assert neon_hint(failure, side="airflow") == HINT_AUTH


def test_worker_side_hints_never_speak_of_dms() -> None:
    assert neon_hint(f"FATAL: {NEON_MISSING_ENDPOINT_MESSAGE}", side="airflow") == HINT_ENDPOINT_ID_WORKER
    assert (
        neon_hint("FATAL: connection is insecure (try using `sslmode=require`)", side="airflow")
        == HINT_TLS_WORKER
    )
    # The worker never uses the pooler host (NeonHook replaces it), so no pooler hint there.
    assert neon_hint("timeout expired", "ep-x-1-pooler.us-east-2.aws.neon.tech", side="airflow") is None
    assert neon_network_hint("connection failed: timeout expired") == HINT_NETWORK
    assert neon_network_hint('FATAL: database "shop" does not exist') is None


def test_missing_database_on_each_side() -> None:
    failure = 'FATAL: database "shop" does not exist'
    assert neon_hint(failure, side="airflow") == HINT_DATABASE
    dms_hint = neon_hint(failure)
    assert dms_hint is not None and dms_hint.startswith(HINT_DATABASE) and "endpoint step" in dms_hint


def test_unrelated_failure_has_no_hint() -> None:
    assert neon_hint("Replication instance is out of memory") is None
    assert neon_hint(None) is None

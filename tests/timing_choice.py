"""The state timing the test emulators use: ``INSTANT`` unless NEON_DMS_TEST_STATE_TIMING=aws.

Tests that are not about timing run fastest when no transitional state (creating, starting,
deleting) is ever described; ``NEON_DMS_TEST_STATE_TIMING=aws`` runs them against the emulator's
AWS-like default timing instead, to find code that only works when those states are skipped.
"""

from __future__ import annotations

import os

from airflow_neon_dms.local.state_timing import AWS_LIKE, INSTANT, StateTiming


def chosen_timing() -> StateTiming:
    choice = os.environ.get("NEON_DMS_TEST_STATE_TIMING", "instant").lower()
    if choice not in ("instant", "aws"):
        raise ValueError(f"NEON_DMS_TEST_STATE_TIMING={choice!r}: use instant or aws")
    return AWS_LIKE if choice == "aws" else INSTANT

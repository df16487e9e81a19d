"""Neon-specific hints for DMS connection failures (pure rules, no Airflow import)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ENDPOINT_ID_MARKERS = (
    "endpoint id is not specified",
    "endpoint=",
    "neon.tech/sni",
    "inconsistent project name",
)
_TLS_MARKERS = ("ssl", "tls", "certificate", "encryption", "pg_hba.conf", "sslmode")
_POOLER_RE = re.compile(r"-pooler[.\s'\"]", re.IGNORECASE)
_AUTH_MARKERS = ("password authentication failed", "authentication failed", "invalid password")

HINT_ENDPOINT_ID = (
    "Neon did not get the endpoint id: DMS sends no TLS SNI, so the password must be "
    "'endpoint=<endpoint-id>$<password>' (use '$', DMS refuses ';'). Recreate the endpoint with "
    "NeonTargetEndpointOperator, or set the Neon connection's 'endpoint_id' extra."
)
HINT_TLS = (
    "Neon accepts only TLS connections: set the endpoint's SslMode to 'require' (or 'verify-full' "
    "with the CA certificate imported into DMS)."
)
HINT_POOLER = (
    "The endpoint names Neon's '-pooler' host. DMS must use the direct host (PgBouncer's "
    "transaction mode breaks bulk loads and SET): drop '-pooler' from the host."
)
HINT_AUTH = (
    "Neon refused the role or password. Check the Neon connection's Login and Password; reset the "
    "role's password in the Neon console if needed."
)


def neon_hint(failure_message: str | None, server_name: str | None = None) -> str | None:
    """Return a hint for a Neon target connection failure, or None when none applies."""
    text = (failure_message or "").lower()
    hints: list[str] = []
    if server_name and server_name.split(".", 1)[0].lower().endswith("-pooler") or _POOLER_RE.search(text):
        hints.append(HINT_POOLER)
    if any(marker in text for marker in _ENDPOINT_ID_MARKERS):
        hints.append(HINT_ENDPOINT_ID)
    elif any(marker in text for marker in _AUTH_MARKERS):
        hints.append(HINT_AUTH)
    if any(marker in text for marker in _TLS_MARKERS):
        hints.append(HINT_TLS)
    return " ".join(hints) or None


def failure_text(message: str, task: Mapping[str, Any] | None = None) -> str:
    """``message`` with a Neon hint when it or the task's LastFailureMessage calls for one."""
    hint = neon_hint(" ".join([message, str((task or {}).get("LastFailureMessage") or "")]))
    return f"{message} Hint: {hint}" if hint else message

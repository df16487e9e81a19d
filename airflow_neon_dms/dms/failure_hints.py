"""Neon-specific hints for connection failures (pure rules, no Airflow import).

A hint must fit the side the error happened on:

- ``dms``: TestConnection or a task from the replication instance. DMS sends no TLS SNI, so Neon
  learns the endpoint id only from the password ``endpoint=<id>$<password>``; DMS holds the
  password the endpoint was last given; the endpoint's SslMode and CA are DMS settings.
- ``airflow``: this worker (or the UI's Test button) connecting with libpq, which sends the host
  name as TLS SNI (libpq documentation, "sslsni", on by default) and the connection's
  ``endpoint_id`` extra as ``options=endpoint=<id>``; TLS is the connection's ``sslmode`` extra.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

Side = Literal["dms", "airflow"]

_ENDPOINT_ID_MARKERS = (
    "endpoint id is not specified",
    "endpoint id mismatch",
    "endpoint=",
    "neon.tech/sni",
    "inconsistent project name",
)
_TLS_MARKERS = ("ssl", "tls", "certificate", "encryption", "pg_hba.conf", "sslmode")
_POOLER_RE = re.compile(r"-pooler[.\s'\"]", re.IGNORECASE)
_AUTH_MARKERS = ("password authentication failed", "authentication failed", "invalid password")
_DATABASE_RE = re.compile(r"database \S+ does not exist", re.IGNORECASE)
#: Errors of reaching the server at all (libpq's texts), where Host, Port and a waking compute matter.
_NETWORK_MARKERS = (
    "timeout expired",
    "timed out",
    "connection refused",
    "could not translate host name",
    "no route to host",
    "network is unreachable",
    "server closed the connection unexpectedly",
)

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
HINT_AUTH_DMS = (
    "Neon refused the role or the password the DMS endpoint holds (DMS never shows it back). If the "
    "Neon connection's Test button passes, the endpoint has an older password: run the endpoint "
    "step (NeonTargetEndpointOperator) again, which sends the connection's current password."
)
HINT_ENDPOINT_ID_WORKER = (
    "Neon could not match the endpoint id this worker sent: libpq sends the host name as TLS SNI, "
    "and the connection's 'endpoint_id' extra as options=endpoint=<id>. Check the connection's Host "
    "and its 'endpoint_id' extra against the Neon console (Connection details: the host starts "
    "with the endpoint id, e.g. ep-cool-darkness-123456)."
)
HINT_TLS_WORKER = (
    "Neon accepts only TLS connections: set the connection's extra 'sslmode' to 'require' or "
    "'verify-full', or remove it (the default encrypts)."
)
HINT_DATABASE = (
    "Neon has no database of that name: set the Neon connection's Database (the Schema field) to "
    "one the Neon console lists under Databases (the default is neondb)."
)
HINT_NETWORK = (
    "Check the connection's Host and Port, and that the Neon endpoint is reachable from this "
    "worker (a suspended compute wakes up on connect: a retry usually succeeds)."
)


def neon_hint(failure_message: str | None, server_name: str | None = None, side: Side = "dms") -> str | None:
    """Return a hint for a failed connection to Neon on ``side``, or None when none applies."""
    text = (failure_message or "").lower()
    on_dms = side == "dms"
    hints: list[str] = []
    pooler = (
        server_name and server_name.split(".", 1)[0].lower().endswith("-pooler") or _POOLER_RE.search(text)
    )
    if pooler and on_dms:  # the worker never uses the pooler host: NeonHook replaces it
        hints.append(HINT_POOLER)
    if any(marker in text for marker in _ENDPOINT_ID_MARKERS):
        hints.append(HINT_ENDPOINT_ID if on_dms else HINT_ENDPOINT_ID_WORKER)
    elif any(marker in text for marker in _AUTH_MARKERS):
        hints.append(HINT_AUTH_DMS if on_dms else HINT_AUTH)
    elif _DATABASE_RE.search(text):
        hints.append(HINT_DATABASE + (" Then run the endpoint step again." if on_dms else ""))
    if any(marker in text for marker in _TLS_MARKERS):
        hints.append(HINT_TLS if on_dms else HINT_TLS_WORKER)
    return " ".join(hints) or None


def neon_network_hint(failure_message: str | None) -> str | None:
    """:data:`HINT_NETWORK` when the worker could not reach a Neon server at all, else None."""
    text = (failure_message or "").lower()
    return HINT_NETWORK if any(marker in text for marker in _NETWORK_MARKERS) else None


def failure_text(message: str, task: Mapping[str, Any] | None = None) -> str:
    """``message`` with a Neon hint when it or the task's LastFailureMessage calls for one."""
    hint = neon_hint(" ".join([message, str((task or {}).get("LastFailureMessage") or "")]))
    return f"{message} Hint: {hint}" if hint else message

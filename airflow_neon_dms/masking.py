"""Mask secrets in Airflow's logs the moment they exist, and scrub them from text that leaves Airflow."""

from __future__ import annotations

import re

#: The DMS form of a Neon password, ``endpoint=<endpoint id>$<password>``, not masked yet: the
#: password runs to a space or a quote.
_ENDPOINT_PASSWORD = re.compile(r"(?P<head>\bendpoint=[A-Za-z0-9-]+[$;])(?!\*\*\*)[^\s'\"]+")


def mask(secret: str | None) -> None:
    """Register ``secret`` with Airflow's secrets masker (task and supervisor logs); empty is a no-op."""
    if not secret:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(secret)


def scrub(text: str) -> str:
    """``text`` without secrets, for a mail or chat message that Airflow's log masker never sees.

    Replaces every secret registered with Airflow's masker (connection passwords read by the task,
    values passed to :func:`mask`), DSN passwords, and the password of ``endpoint=<id>$<password>``.
    """
    from airflow.sdk.log import redact

    from airflow_neon_dms.diff.redact import MASK
    from airflow_neon_dms.diff.redact import redact as redact_dsn_passwords

    out = str(redact(text))
    out = redact_dsn_passwords(out)
    return _ENDPOINT_PASSWORD.sub(lambda m: m.group("head") + MASK, out)

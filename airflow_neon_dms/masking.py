"""Mask secrets in Airflow's logs the moment they exist."""

from __future__ import annotations


def mask(secret: str | None) -> None:
    """Register ``secret`` with Airflow's secrets masker (task and supervisor logs); empty is a no-op."""
    if not secret:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(secret)

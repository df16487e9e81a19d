"""Errors of the local DMS's change data capture: each names the setting and the fix."""

from __future__ import annotations


class CdcError(Exception):
    """Change data capture cannot start or continue."""


class SourceNotReadyError(CdcError):
    """The PostgreSQL source is not set up for logical replication (setting and fix in the text)."""


class CdcStopPositionError(CdcError):
    """A ``CdcStopPosition`` value DMS does not accept."""


class DecodingError(CdcError):
    """A ``test_decoding`` line the parser does not understand."""


class ApplyError(CdcError):
    """A change could not be applied to the target; the target transaction was rolled back.

    ``position`` is where the source transaction that was not applied ends (None for changes
    applied without one, e.g. a table's cached changes): every transaction before it is applied.
    """

    def __init__(self, message: str, *, position: object | None = None) -> None:
        super().__init__(message)
        self.position = position

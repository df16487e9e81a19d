"""PostgreSQL log sequence numbers: the ``X/Y`` text form and a comparable integer."""

from __future__ import annotations

import re

_LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


def parse_lsn(text: str) -> int:
    """``'0/16F8248'`` -> 24085064; raises ValueError for anything else."""
    match = _LSN_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a PostgreSQL LSN (expected the form 16/B374D848)")
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(value: int) -> str:
    """24085064 -> ``'0/16F8248'`` (the form PostgreSQL prints)."""
    if not 0 <= value < 1 << 64:
        raise ValueError(f"{value} is out of the LSN range")
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


class Lsn(int):
    """An LSN as a source position (``changes.SourcePosition``): prints as ``X/Y``."""

    @property
    def sort_key(self) -> tuple[int, int]:
        return (0, int(self))

    def __str__(self) -> str:
        return format_lsn(int(self))

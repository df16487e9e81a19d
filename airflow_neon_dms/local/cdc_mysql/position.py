"""A position in a MySQL/MariaDB binary log, as DMS writes it: ``mysql-bin-changelog.000024:373``.

botocore's StartReplicationTask documents this "LSN" form of CdcStartPosition for MySQL sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_POSITION = re.compile(r"^(?P<file>[^:\s]+\.(?P<index>\d+)):(?P<pos>\d+)$")


@dataclass(frozen=True, order=False)
class BinlogPosition:
    """A binlog file name and a byte offset in it (the end of the last event read)."""

    file: str
    pos: int

    @classmethod
    def parse(cls, text: str) -> BinlogPosition:
        """Read ``<binlog file>:<offset>``; a bad value raises ValueError naming the expected form."""
        match = _POSITION.match(text.strip())
        if match is None:
            raise ValueError(
                f"Binlog position {text!r} is not of the form <binlog file>:<offset>, "
                "e.g. mysql-bin-changelog.000024:373."
            )
        return cls(match["file"], int(match["pos"]))

    @property
    def sort_key(self) -> tuple[int, int]:
        """Binlog files are numbered in order (``base.000001``, ``base.000002``, ...)."""
        index = self.file.rsplit(".", 1)[-1]
        return (int(index) if index.isdigit() else 0, self.pos)

    def __lt__(self, other: BinlogPosition) -> bool:
        return self.sort_key < other.sort_key

    def __le__(self, other: BinlogPosition) -> bool:
        return self.sort_key <= other.sort_key

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"

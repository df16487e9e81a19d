"""Paging of DMS Describe* calls by ``Marker`` (pure: the request of each page and the rows so far).

The DMS API returns a ``Marker`` while more records follow; the next request repeats the first
with that marker (botocore DMS service model, e.g. DescribeTableStatisticsMessage). The sync and
the async client drive the same :class:`MarkerPages`, so both page alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class MarkerPages:
    """The requests of a paged Describe* call and the records its responses brought.

    ``result_key`` names the list in each response (e.g. ``TableStatistics``); ``request`` holds
    the first request's arguments. Loop ``while (kwargs := pages.next_request()) is not None``,
    call DMS with ``kwargs`` and hand the response to :meth:`add`.
    """

    def __init__(self, result_key: str, **request: Any) -> None:
        self.result_key = result_key
        self.request = request
        self.records: list[dict[str, Any]] = []
        self._marker: str | None = None
        self._done = False

    def next_request(self) -> dict[str, Any] | None:
        """Arguments of the next call, or None when the last page has been read."""
        if self._done:
            return None
        return {**self.request, "Marker": self._marker} if self._marker else dict(self.request)

    def add(self, response: Mapping[str, Any]) -> None:
        """Take one page's records and its marker (none means this was the last page)."""
        self.records.extend(response.get(self.result_key, []))
        self._marker = response.get("Marker") or None
        self._done = self._marker is None

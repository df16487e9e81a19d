"""Records blocking work done on an asyncio event loop's thread while a trigger runs.

Timing the loop (asyncio debug mode's slow-callback warning, a watchdog) is what the triggerer
does, but on a shared test machine any gap can be noise. This records the blocking calls
themselves instead: botocore reading its JSON data files, and a hook reading an Airflow
connection, each noted when it runs on a thread that has a running event loop.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def _on_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextmanager
def blocking_calls_on_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Yield a list that fills with a description of each blocking call made on a loop thread."""
    import botocore.loaders
    from airflow.sdk import BaseHook

    found: list[str] = []
    load_file = botocore.loaders.JSONFileLoader.load_file
    get_connection = BaseHook.get_connection.__func__  # type: ignore[attr-defined]

    def where() -> str:
        frames = [f for f in traceback.extract_stack()[:-2] if "airflow_neon_dms" in f.filename]
        return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"

    def spy_load_file(self: Any, file_path: str, *args: Any, **kwargs: Any) -> Any:
        if _on_loop_thread():
            found.append(f"botocore data file {file_path.rsplit('/', 2)[-2:]} read from {where()}")
        return load_file(self, file_path, *args, **kwargs)

    def spy_get_connection(cls: Any, conn_id: str) -> Any:
        if _on_loop_thread():
            found.append(f"connection {conn_id} read from {where()}")
        return get_connection(cls, conn_id)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", spy_load_file)
    monkeypatch.setattr(BaseHook, "get_connection", classmethod(spy_get_connection))
    yield found

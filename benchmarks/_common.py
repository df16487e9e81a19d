"""Helpers the benchmark scripts share: the PostgreSQL server to use, timing, printing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")


@contextmanager
def server() -> Iterator[str]:
    """A superuser DSN: NEON_DMS_BENCH_PG_DSN when set, else a fresh embedded PostgreSQL."""
    given = os.environ.get("NEON_DMS_BENCH_PG_DSN")
    if given:
        yield given
        return
    from airflow_neon_dms.local.embedded import EmbeddedPostgres

    with EmbeddedPostgres() as embedded:
        yield embedded.dsn()


def with_database(dsn: str, name: str) -> str:
    """The same DSN pointing at database ``name``."""
    return urlunsplit(urlsplit(dsn)._replace(path="/" + name))


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn``; return its value and the seconds it took."""
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def report(title: str, rows: list[tuple[str, float]], base: dict[str, float]) -> None:
    """Print each measurement with its ratio to every baseline."""
    print(f"\n{title}")
    for name, seconds in rows:
        ratios = "  ".join(f"{seconds / b:5.2f}x {label}" for label, b in base.items())
        print(f"  {name:<30} {seconds:8.2f} s   {ratios}")

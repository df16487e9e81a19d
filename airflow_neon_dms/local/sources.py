"""What the full-load engine needs from a source database, and how to open one.

A reader lists the source's tables, describes one (columns as PostgreSQL types, primary key),
streams its rows into a PostgreSQL ``COPY ... FROM STDIN`` and yields its rows for validation.
Readers: ``postgres_source.PostgresSource`` and ``mysql_source.MySqlSource``; usable without the
HTTP emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from airflow_neon_dms.local.databases import DatabaseAddress

#: The last message of a binary COPY: a field count of -1.
BINARY_COPY_TRAILER = b"\xff\xff"
#: Rows between two progress reports.
PROGRESS_EVERY = 10_000


@dataclass(frozen=True)
class Column:
    """A source column with the PostgreSQL type the target gets under DROP_AND_CREATE."""

    name: str
    pg_type: str
    nullable: bool
    source_type: str = ""


@dataclass(frozen=True)
class TableShape:
    """What the engine needs to know about one source table."""

    schema: str
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    #: A PostgreSQL partitioned table: COPY reads it through a query, not by name.
    partitioned: bool = False
    #: The source's PostgreSQL major version when every column has a built-in type, so a table
    #: created from this shape on a server of the same version can take binary COPY.
    binary_major: int | None = None
    #: Where the table lands when transformation rules rename it (default: the same names).
    target_schema: str | None = None
    target_table: str | None = None

    @property
    def target(self) -> tuple[str, str]:
        return self.target_schema or self.schema, self.target_table or self.table

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class Cancelled(Exception):
    """The task was stopped while this table was loading."""


class SourceReader(Protocol):
    """What the full-load engine needs from a source database."""

    def list_tables(self) -> list[tuple[str, str]]: ...

    def table_shape(self, schema: str, table: str) -> TableShape: ...

    def copy_into(
        self,
        shape: TableShape,
        copy: psycopg.Copy,
        progress: Callable[[int], None],
        cancelled: Callable[[], bool],
        *,
        binary: bool = False,
    ) -> None: ...

    def rows(self, shape: TableShape, columns: list[str]) -> Iterator[tuple[Any, ...]]: ...

    def close(self) -> None: ...


def open_source(address: DatabaseAddress) -> SourceReader:
    """Return the reader for the endpoint's engine (raises DatabaseUnreachable)."""
    if address.is_postgres:
        from airflow_neon_dms.local.postgres_source import PostgresSource

        return PostgresSource(address)
    if address.is_mysql:
        from airflow_neon_dms.local.mysql_source import MySqlSource

        return MySqlSource(address)
    raise ValueError(f"The local DMS emulator cannot read from {address.engine} sources.")

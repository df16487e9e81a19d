"""Plain records describing tables as the catalogs report them (no I/O, no Airflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Engine = Literal["postgresql", "mysql"]


@dataclass(frozen=True)
class ColumnInfo:
    """One column as its engine's catalog describes it.

    ``data_type`` is the catalog's base type name in lower case (``integer``, ``character varying``,
    ``numeric`` on PostgreSQL; ``int``, ``varchar``, ``decimal`` on MySQL/MariaDB); ``full_type``
    is the declared type with its modifiers (``numeric(10,2)``, ``tinyint(1) unsigned``).
    """

    name: str
    data_type: str
    full_type: str
    nullable: bool
    char_length: int | None = None
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    datetime_precision: int | None = None
    unsigned: bool = False
    charset: str | None = None
    enum_values: tuple[str, ...] = ()
    has_default: bool = False
    #: PostgreSQL identity kind: "" (none), "a" (GENERATED ALWAYS) or "d" (BY DEFAULT).
    identity: str = ""
    #: A generated (computed) column: nothing can be inserted into it.
    generated: bool = False


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key constraint of a table."""

    name: str
    columns: tuple[str, ...]
    referenced_schema: str
    referenced_table: str


@dataclass(frozen=True)
class TableInfo:
    """One table: its columns in order, its primary key, unique keys and foreign keys."""

    engine: Engine
    schema: str
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default=())

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnInfo | None:
        """The column called exactly ``name``, or None."""
        for col in self.columns:
            if col.name == name:
                return col
        return None

    def best_key(self) -> tuple[str, ...]:
        """The primary key, else the first unique key whose columns are all NOT NULL, else ()."""
        if self.primary_key:
            return self.primary_key
        for key in self.unique_keys:
            cols = [self.column(name) for name in key]
            if all(c is not None and not c.nullable for c in cols):
                return key
        return ()

"""Identifier quoting for MySQL/MariaDB (PostgreSQL identifiers go through psycopg.sql.Identifier)."""

from __future__ import annotations


def mysql_identifier(name: str) -> str:
    """Quote one MySQL/MariaDB identifier with backticks, doubling any backtick inside it."""
    if not name or "\x00" in name:
        raise ValueError(f"MySQL identifier {name!r} is empty or contains a NUL byte")
    return "`" + name.replace("`", "``") + "`"


def mysql_qualified(schema: str, table: str) -> str:
    """Quote ``schema.table`` for MySQL/MariaDB."""
    return f"{mysql_identifier(schema)}.{mysql_identifier(table)}"

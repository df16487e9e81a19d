"""MySQL to PostgreSQL type mapping used by DROP_AND_CREATE for MySQL sources."""

from __future__ import annotations

import pytest

from airflow_neon_dms.local.mysql_source import mysql_to_postgres_type


@pytest.mark.parametrize(
    ("data_type", "column_type", "precision", "scale", "expected"),
    [
        ("tinyint", "tinyint(1)", 3, 0, "boolean"),
        ("tinyint", "tinyint(4)", 3, 0, "smallint"),
        ("int", "int(11)", 10, 0, "integer"),
        ("int", "int(10) unsigned", 10, 0, "bigint"),
        ("bigint", "bigint(20) unsigned", 20, 0, "numeric(20,0)"),
        ("decimal", "decimal(12,2)", 12, 2, "numeric(12,2)"),
        ("double", "double", None, None, "double precision"),
        ("varchar", "varchar(100)", None, None, "character varying(100)"),
        ("char", "char(2)", None, None, "character(2)"),
        ("longtext", "longtext", None, None, "text"),
        ("enum", "enum('a','b')", None, None, "text"),
        ("blob", "blob", None, None, "bytea"),
        ("datetime", "datetime(3)", None, None, "timestamp without time zone"),
        ("timestamp", "timestamp", None, None, "timestamp with time zone"),
        ("json", "json", None, None, "jsonb"),
        ("bit", "bit(1)", None, None, "boolean"),
        ("geometry", "geometry", None, None, "text"),
    ],
)
def test_mysql_types_map_to_postgres(
    data_type: str, column_type: str, precision: int | None, scale: int | None, expected: str
) -> None:
    assert mysql_to_postgres_type(data_type, column_type, precision, scale) == expected

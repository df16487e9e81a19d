"""Which family two differently declared columns are compared in, and when the native hash stays (pure)."""

from __future__ import annotations

import pytest

from airflow_neon_dms.diff.canonical import canonical_family, column_pairs
from airflow_neon_dms.schema.model import ColumnInfo, TableInfo
from airflow_neon_dms.schema.types import TypeShape


@pytest.mark.parametrize(
    ("source", "target", "family"),
    [
        (TypeShape("uuid"), TypeShape("text", length=36), "uuid"),
        (TypeShape("text", length=36), TypeShape("uuid"), "uuid"),
        (TypeShape("int", int_bytes=2), TypeShape("int", int_bytes=8), "int"),
        (TypeShape("bool", int_bytes=1), TypeShape("int", int_bytes=2), "int"),
        (TypeShape("int", int_bytes=2), TypeShape("bool"), "bool"),
        (TypeShape("int", int_bytes=8), TypeShape("decimal", precision=20, scale=0), "int"),
        (TypeShape("int", int_bytes=4), TypeShape("decimal", precision=12, scale=2), "decimal"),
        (TypeShape("decimal", precision=12, scale=2), TypeShape("decimal", precision=14, scale=4), "decimal"),
        (
            TypeShape("timestamp", fraction_digits=3),
            TypeShape("timestamptz", fraction_digits=6),
            "timestamptz",
        ),
        (TypeShape("json"), TypeShape("json"), "json"),
        (TypeShape("text"), TypeShape("json"), "json"),
        (TypeShape("enum", labels=("a",)), TypeShape("text"), "enum"),
    ],
)
def test_canonical_family(source: TypeShape, target: TypeShape, family: str) -> None:
    assert canonical_family(source, target) == family


def _table(engine: str, *columns: tuple[str, str, str]) -> TableInfo:
    cols = tuple(ColumnInfo(name, data_type, full_type, True) for name, data_type, full_type in columns)
    return TableInfo(engine, "s", "t", cols)  # type: ignore[arg-type]


def test_native_only_for_the_same_declared_type_between_postgresql_servers() -> None:
    source = _table(
        "postgresql", ("id", "integer", "integer"), ("ref", "uuid", "uuid"), ("n", "numeric", "numeric(12,2)")
    )
    target = _table(
        "postgresql",
        ("id", "integer", "integer"),
        ("ref", "character varying", "character varying(36)"),
        ("n", "numeric", "numeric(14,4)"),
    )
    assert [(p.name, p.native) for p in column_pairs(source, target)] == [
        ("id", True),
        ("ref", False),
        ("n", False),
    ]
    mysql = _table("mysql", ("id", "int", "int"), ("ref", "uuid", "uuid"), ("n", "decimal", "decimal(12,2)"))
    assert not any(p.native for p in column_pairs(mysql, target))
    assert [p.name for p in column_pairs(source, target, ignore={"ref"})] == ["id", "n"]

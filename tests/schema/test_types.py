"""The type compatibility table, row by row (pure)."""

from __future__ import annotations

import pytest

from airflow_neon_dms.schema.model import ColumnInfo
from airflow_neon_dms.schema.types import compare_types, type_shape


def pg(full: str, base: str | None = None, **kw: object) -> ColumnInfo:
    return ColumnInfo(name="c", data_type=base or full, full_type=full, nullable=True, **kw)  # type: ignore[arg-type]


def my(full: str, base: str, **kw: object) -> ColumnInfo:
    return ColumnInfo(name="c", data_type=base, full_type=full, nullable=True, **kw)  # type: ignore[arg-type]


CASES = [
    # (source column, source engine, target column, expected severity, words in the reason)
    (my("int(11)", "int"), "mysql", pg("integer"), None, ""),
    (my("int(10) unsigned", "int", unsigned=True), "mysql", pg("integer"), "error", "needs 64-bit"),
    (my("int(10) unsigned", "int", unsigned=True), "mysql", pg("bigint"), None, ""),
    (my("bigint(20) unsigned", "bigint", unsigned=True), "mysql", pg("bigint"), "error", "needs 128-bit"),
    (
        my("bigint(20) unsigned", "bigint", unsigned=True),
        "mysql",
        pg("numeric(20,0)", "numeric", numeric_precision=20, numeric_scale=0),
        None,
        "",
    ),
    (pg("bigint"), "postgresql", pg("integer"), "error", "narrowing"),
    (my("tinyint(1)", "tinyint"), "mysql", pg("boolean"), None, ""),
    (my("tinyint(4)", "tinyint"), "mysql", pg("boolean"), "warning", "zero/non-zero"),
    (
        my("decimal(10,2)", "decimal", numeric_precision=10, numeric_scale=2),
        "mysql",
        pg("numeric(10,1)", "numeric", numeric_precision=10, numeric_scale=1),
        "error",
        "scale shrinks",
    ),
    (
        my("decimal(10,2)", "decimal", numeric_precision=10, numeric_scale=2),
        "mysql",
        pg("numeric(9,2)", "numeric", numeric_precision=9, numeric_scale=2),
        "error",
        "integer digits shrink",
    ),
    (my("decimal(10,2)", "decimal", numeric_precision=10, numeric_scale=2), "mysql", pg("numeric"), None, ""),
    (
        my("varchar(20)", "varchar", char_length=20),
        "mysql",
        pg("character varying(19)", "character varying", char_length=19),
        "error",
        "length shrinks",
    ),
    (my("longtext", "longtext", char_length=4294967295), "mysql", pg("text"), None, ""),
    (my("longblob", "longblob"), "mysql", pg("bytea"), None, ""),
    (my("blob", "blob"), "mysql", pg("text"), "error", "bytes into text"),
    (
        my("datetime(6)", "datetime", datetime_precision=6),
        "mysql",
        pg("timestamp(3) without time zone", "timestamp without time zone", datetime_precision=3),
        "error",
        "fractional seconds",
    ),
    (
        my("timestamp", "timestamp", datetime_precision=0),
        "mysql",
        pg("timestamp with time zone", datetime_precision=6),
        None,
        "",
    ),
    (
        pg("timestamp without time zone", datetime_precision=6),
        "postgresql",
        pg("timestamp with time zone", datetime_precision=6),
        "warning",
        "session zone",
    ),
    (my("date", "date"), "mysql", pg("date"), None, ""),
    (my("time(6)", "time", datetime_precision=6), "mysql", pg("time without time zone"), None, ""),
    (my("json", "json"), "mysql", pg("jsonb"), None, ""),
    (my("char(36)", "char", char_length=36), "mysql", pg("uuid"), "warning", "must parse"),
    (my("uuid", "uuid"), "mysql", pg("uuid"), None, ""),
    (
        my("enum('a','b')", "enum", enum_values=("a", "b")),
        "mysql",
        pg("mood", "mood", enum_values=("a",)),
        "error",
        "lacks labels ['b']",
    ),
    (
        my("enum('a','bbbb')", "enum", enum_values=("a", "bbbb")),
        "mysql",
        pg("character varying(3)", "character varying", char_length=3),
        "error",
        "shorter than label",
    ),
    (my("double", "double"), "mysql", pg("double precision"), None, ""),
    (my("double", "double"), "mysql", pg("numeric"), "warning", "rounds"),
    (pg("point"), "postgresql", pg("point"), "warning", "no compatibility rule"),
]


@pytest.mark.parametrize(("source", "engine", "target", "severity", "words"), CASES)
def test_compatibility_table(
    source: ColumnInfo, engine: str, target: ColumnInfo, severity: str | None, words: str
) -> None:
    verdict = compare_types(type_shape(source, engine), type_shape(target, "postgresql"))  # type: ignore[arg-type]
    assert verdict.severity == severity, verdict.reason
    assert words in verdict.reason

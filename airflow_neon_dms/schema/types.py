"""The type compatibility table: which source column types load safely into which Neon types.

Pure rules, no I/O. Every column is first reduced to a *family* (int, decimal, float, bool, text,
bytes, date, timestamp, timestamptz, time, json, uuid, enum) with its size; the table below then
says, per (source family, target family), whether the load is safe, lossy (a warning) or broken
(an error). The same families drive the data diff's canonical text (``airflow_neon_dms.diff``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from airflow_neon_dms.schema.model import ColumnInfo, Engine

Severity = Literal["error", "warning"]

#: Bytes of each integer type, per engine.
_PG_INT_BYTES = {"smallint": 2, "integer": 4, "bigint": 8}
_MYSQL_INT_BYTES = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4, "bigint": 8}

_PG_FAMILIES = {
    "numeric": "decimal",
    "real": "float",
    "double precision": "float",
    "boolean": "bool",
    "character varying": "text",
    "character": "text",
    "text": "text",
    "citext": "text",
    "name": "text",
    "bytea": "bytes",
    "date": "date",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "json": "json",
    "jsonb": "json",
    "uuid": "uuid",
}

_MYSQL_FAMILIES = {
    "decimal": "decimal",
    "numeric": "decimal",
    "float": "float",
    "double": "float",
    "real": "float",
    "char": "text",
    "varchar": "text",
    "tinytext": "text",
    "text": "text",
    "mediumtext": "text",
    "longtext": "text",
    "set": "text",
    "enum": "enum",
    "binary": "bytes",
    "varbinary": "bytes",
    "tinyblob": "bytes",
    "blob": "bytes",
    "mediumblob": "bytes",
    "longblob": "bytes",
    "date": "date",
    "datetime": "timestamp",
    "timestamp": "timestamptz",
    "time": "time",
    "year": "int",
    "json": "json",
    "uuid": "uuid",
}


@dataclass(frozen=True)
class TypeShape:
    """A column's family and the sizes that matter for compatibility."""

    family: str
    int_bytes: int = 0
    unsigned: bool = False
    precision: int | None = None
    scale: int | None = None
    length: int | None = None
    fraction_digits: int | None = None
    labels: tuple[str, ...] = ()


def type_shape(column: ColumnInfo, engine: Engine) -> TypeShape:
    """Reduce a column to its family and sizes; unknown types get family ``other``."""
    dtype = column.data_type
    if engine == "postgresql":
        if dtype in _PG_INT_BYTES:
            return TypeShape("int", int_bytes=_PG_INT_BYTES[dtype])
        if column.enum_values:
            return TypeShape("enum", labels=column.enum_values)
        family = _PG_FAMILIES.get(dtype, "other")
    else:
        if dtype == "tinyint" and column.full_type.startswith("tinyint(1)") or dtype in ("bool", "boolean"):
            return TypeShape("bool", int_bytes=1)
        if dtype == "bit" and column.numeric_precision == 1:
            return TypeShape("bool", int_bytes=1)
        if dtype in _MYSQL_INT_BYTES:
            return TypeShape("int", int_bytes=_MYSQL_INT_BYTES[dtype], unsigned=column.unsigned)
        family = _MYSQL_FAMILIES.get(dtype, "other")
        if dtype == "year":
            return TypeShape("int", int_bytes=2)
    if family == "decimal":
        return TypeShape("decimal", precision=column.numeric_precision, scale=column.numeric_scale)
    if family == "text":
        return TypeShape("text", length=column.char_length)
    if family in ("timestamp", "timestamptz", "time"):
        return TypeShape(family, fraction_digits=column.datetime_precision)
    if family == "enum":
        return TypeShape("enum", labels=column.enum_values)
    return TypeShape(family)


def _int_digits(shape: TypeShape) -> int:
    """Decimal digits needed for the integer type's whole range."""
    bits = shape.int_bytes * 8 - (0 if shape.unsigned else 1)
    return len(str(2**bits))


@dataclass(frozen=True)
class TypeVerdict:
    """The compatibility table's answer for one column: None severity means compatible."""

    severity: Severity | None
    reason: str = ""


OK = TypeVerdict(None)


def _bytes_needed(shape: TypeShape) -> int:
    if shape.unsigned:
        return {1: 2, 2: 4, 3: 4, 4: 8, 8: 16}[shape.int_bytes]
    return {1: 2, 3: 4}.get(shape.int_bytes, shape.int_bytes)


def _int_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    """An integer column into an integer, numeric, float, boolean or text column."""
    if target.family == "int":
        need = _bytes_needed(source)
        if target.int_bytes >= need:
            return OK
        return TypeVerdict(
            "error", f"integer narrowing: needs {need * 8}-bit, target has {target.int_bytes * 8}"
        )
    if target.family == "decimal":
        room = None if target.precision is None else target.precision - (target.scale or 0)
        if room is None or room >= _int_digits(source):
            return OK
        return TypeVerdict("error", f"integers need {_int_digits(source)} digits, target numeric has {room}")
    return {
        "float": TypeVerdict("warning", "integers above 2^53 lose precision as floating point"),
        "bool": TypeVerdict("warning", "integer to boolean keeps only zero/non-zero"),
        "text": TypeVerdict("warning", "integer stored as text: ordering and arithmetic change"),
    }.get(target.family)


def _decimal_into_decimal(source: TypeShape, target: TypeShape) -> TypeVerdict:
    """Numeric into numeric: the scale may not shrink, nor the integer digits."""
    if target.precision is None:
        return OK
    s_scale, t_scale = source.scale or 0, target.scale or 0
    s_int = (source.precision or 1000) - s_scale
    if t_scale < s_scale:
        return TypeVerdict("error", f"scale shrinks from {s_scale} to {t_scale}: digits are rounded away")
    if target.precision - t_scale < s_int:
        return TypeVerdict(
            "error", f"integer digits shrink from {s_int} to {target.precision - t_scale}: values overflow"
        )
    return OK


def _decimal_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    """A numeric column into a numeric, integer or float column."""
    if target.family == "decimal":
        return _decimal_into_decimal(source, target)
    if target.family == "int":
        if (source.scale or 0) > 0:
            return TypeVerdict("error", "numeric with a fraction into an integer column loses the fraction")
        return TypeVerdict("warning", "check that every value fits the integer type")
    if target.family == "float":
        return TypeVerdict("warning", "exact numeric into floating point loses exactness")
    return None


def _float_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    if target.family == "float":
        return OK
    if target.family == "decimal":
        return TypeVerdict("warning", "floating point into numeric rounds binary fractions")
    return None


def _bool_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    return OK if target.family in ("bool", "int") else None


#: Target families a text value may parse into (each value must parse).
_TEXT_PARSED_INTO = frozenset({"uuid", "json", "enum", "date", "timestamp", "timestamptz", "int", "decimal"})


def _text_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    """Text into text (the length may not shrink) or into a type every value must parse as."""
    if target.family == "text":
        if target.length is None or (source.length is not None and target.length >= source.length):
            return OK
        return TypeVerdict(
            "error",
            f"length shrinks from {source.length if source.length is not None else 'unlimited'} "
            f"to {target.length}: long values are rejected",
        )
    if target.family in _TEXT_PARSED_INTO:
        return TypeVerdict("warning", f"text into {target.family}: every value must parse as {target.family}")
    return None


def _bytes_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    return OK if target.family == "bytes" else None


def _date_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    if target.family == "date":
        return OK
    if target.family in ("timestamp", "timestamptz"):
        return TypeVerdict("warning", "date into a timestamp adds midnight")
    return None


def _timestamp_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    """Timestamps with or without zone: fractional digits may not shrink; crossing zones warns."""
    if target.family not in ("timestamp", "timestamptz"):
        return None
    if (
        source.fraction_digits is not None
        and target.fraction_digits is not None
        and target.fraction_digits < source.fraction_digits
    ):
        return TypeVerdict(
            "error",
            f"fractional seconds shrink from {source.fraction_digits} to {target.fraction_digits} digits",
        )
    if source.family == target.family:
        return OK
    if source.family == "timestamp":
        return TypeVerdict(
            "warning", "timestamp without time zone into timestamptz is read in the session zone"
        )
    return TypeVerdict("warning", "timestamptz into timestamp without time zone drops the zone (UTC kept)")


def _time_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    return OK if target.family == "time" else None


def _json_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    if target.family == "json":
        return OK
    if target.family == "text":
        return TypeVerdict("warning", "JSON stored as text is no longer validated")
    return None


def _uuid_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    if target.family == "uuid":
        return OK
    if target.family == "text":
        return OK if target.length is None or target.length >= 36 else TypeVerdict("error", "text too short")
    return None


def _enum_into(source: TypeShape, target: TypeShape) -> TypeVerdict | None:
    """An enum into an enum (every label must exist) or into text (the longest label must fit)."""
    if target.family == "enum":
        missing = [label for label in source.labels if label not in target.labels]
        return TypeVerdict("error", f"target enum lacks labels {missing}") if missing else OK
    if target.family == "text":
        longest = max((len(label) for label in source.labels), default=0)
        if target.length is not None and target.length < longest:
            return TypeVerdict("error", f"text length {target.length} is shorter than label length {longest}")
        return OK
    return None


#: One rule per source family: its verdict for a target, or None when the pair has no rule.
TypeRule = Callable[[TypeShape, TypeShape], "TypeVerdict | None"]
TYPE_RULES: dict[str, TypeRule] = {
    "int": _int_into,
    "decimal": _decimal_into,
    "float": _float_into,
    "bool": _bool_into,
    "text": _text_into,
    "bytes": _bytes_into,
    "date": _date_into,
    "timestamp": _timestamp_into,
    "timestamptz": _timestamp_into,
    "time": _time_into,
    "json": _json_into,
    "uuid": _uuid_into,
    "enum": _enum_into,
}


def compare_types(source: TypeShape, target: TypeShape) -> TypeVerdict:
    """Look up one (source, target) pair in the compatibility table."""
    rule = TYPE_RULES.get(source.family)
    verdict = rule(source, target) if rule else None
    if verdict is not None:
        return verdict
    if source.family == target.family == "other":
        return TypeVerdict("warning", "no compatibility rule for this type pair; check it by hand")
    return TypeVerdict("error", f"{source.family} into {target.family} is not a compatible conversion")

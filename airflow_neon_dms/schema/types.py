"""The type compatibility table: which source column types load safely into which Neon types.

Pure rules, no I/O. Every column is first reduced to a *family* (int, decimal, float, bool, text,
bytes, date, timestamp, timestamptz, time, json, uuid, enum) with its size; the table below then
says, per (source family, target family), whether the load is safe, lossy (a warning) or broken
(an error). The same families drive the data diff's canonical text (``airflow_neon_dms.diff``).
"""

from __future__ import annotations

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


def compare_types(source: TypeShape, target: TypeShape) -> TypeVerdict:
    """Look up one (source, target) pair in the compatibility table."""
    s, t = source.family, target.family
    if s == "int":
        need = _bytes_needed(source)
        if t == "int":
            if target.int_bytes >= need:
                return OK
            return TypeVerdict(
                "error", f"integer narrowing: needs {need * 8}-bit, target has {target.int_bytes * 8}"
            )
        if t == "decimal":
            room = None if target.precision is None else target.precision - (target.scale or 0)
            if room is None or room >= _int_digits(source):
                return OK
            return TypeVerdict(
                "error", f"integers need {_int_digits(source)} digits, target numeric has {room}"
            )
        if t == "float":
            return TypeVerdict("warning", "integers above 2^53 lose precision as floating point")
        if t == "bool":
            return TypeVerdict("warning", "integer to boolean keeps only zero/non-zero")
        if t == "text":
            return TypeVerdict("warning", "integer stored as text: ordering and arithmetic change")
    if s == "decimal":
        if t == "decimal":
            if target.precision is None:
                return OK
            s_scale, t_scale = source.scale or 0, target.scale or 0
            s_int = (source.precision or 1000) - s_scale
            if t_scale < s_scale:
                return TypeVerdict(
                    "error", f"scale shrinks from {s_scale} to {t_scale}: digits are rounded away"
                )
            if target.precision - t_scale < s_int:
                return TypeVerdict(
                    "error",
                    f"integer digits shrink from {s_int} to {target.precision - t_scale}: values overflow",
                )
            return OK
        if t == "int":
            if (source.scale or 0) > 0:
                return TypeVerdict(
                    "error", "numeric with a fraction into an integer column loses the fraction"
                )
            return TypeVerdict("warning", "check that every value fits the integer type")
        if t == "float":
            return TypeVerdict("warning", "exact numeric into floating point loses exactness")
    if s == "float":
        if t == "float":
            return OK
        if t == "decimal":
            return TypeVerdict("warning", "floating point into numeric rounds binary fractions")
    if s == "bool":
        if t == "bool":
            return OK
        if t == "int":
            return OK
    if s == "text":
        if t == "text":
            if target.length is None or (source.length is not None and target.length >= source.length):
                return OK
            return TypeVerdict(
                "error",
                f"length shrinks from {source.length if source.length is not None else 'unlimited'} "
                f"to {target.length}: long values are rejected",
            )
        if t in ("uuid", "json", "enum", "date", "timestamp", "timestamptz", "int", "decimal"):
            return TypeVerdict("warning", f"text into {t}: every value must parse as {t}")
    if s == "bytes" and t == "bytes":
        return OK
    if s == "date":
        if t == "date":
            return OK
        if t in ("timestamp", "timestamptz"):
            return TypeVerdict("warning", "date into a timestamp adds midnight")
    if s in ("timestamp", "timestamptz") and t in ("timestamp", "timestamptz"):
        if (
            source.fraction_digits is not None
            and target.fraction_digits is not None
            and target.fraction_digits < source.fraction_digits
        ):
            return TypeVerdict(
                "error",
                f"fractional seconds shrink from {source.fraction_digits} to {target.fraction_digits} digits",
            )
        if s == t:
            return OK
        if s == "timestamp":
            return TypeVerdict(
                "warning", "timestamp without time zone into timestamptz is read in the session zone"
            )
        return TypeVerdict(
            "warning", "timestamptz into timestamp without time zone drops the zone (UTC kept)"
        )
    if s == "time" and t == "time":
        return OK
    if s == "json":
        if t == "json":
            return OK
        if t == "text":
            return TypeVerdict("warning", "JSON stored as text is no longer validated")
    if s == "uuid":
        if t == "uuid":
            return OK
        if t == "text":
            return (
                OK if target.length is None or target.length >= 36 else TypeVerdict("error", "text too short")
            )
    if s == "enum":
        if t == "enum":
            missing = [label for label in source.labels if label not in target.labels]
            if missing:
                return TypeVerdict("error", f"target enum lacks labels {missing}")
            return OK
        if t == "text":
            longest = max((len(label) for label in source.labels), default=0)
            if target.length is not None and target.length < longest:
                return TypeVerdict(
                    "error", f"text length {target.length} is shorter than label length {longest}"
                )
            return OK
    if s == t == "other":
        return TypeVerdict("warning", "no compatibility rule for this type pair; check it by hand")
    return TypeVerdict("error", f"{s} into {t} is not a compatible conversion")

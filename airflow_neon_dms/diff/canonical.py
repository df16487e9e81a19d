"""One canonical text per value, computed inside each database, so equal data hashes equally.

For PostgreSQL -> PostgreSQL a column declared with the same type on both sides is hashed as
itself (``hash_record_extended``, or the record text under fixed session settings); a column whose
declared types differ (uuid against varchar, int widths, numeric scales, json against jsonb, ...)
is rendered to its family's canonical text below on both sides (``canonical_family`` picks the
family), so compatible types with equal values hash equally. Across engines (MySQL/MariaDB ->
PostgreSQL) every column is rendered to the forms below on both sides, joined with ``|``, and
hashed with the first 64 bits of MD5, which both engines compute natively:

======================  ==========================================  ===============================
family                  canonical text                              example
======================  ==========================================  ===============================
int                     decimal digits                              ``-42``
bool                    ``1`` / ``0``                               ``1``
decimal                 digits with trailing fraction zeros cut     ``12.5`` (from ``12.50``)
float                   rounded to 6 decimals, zeros cut            ``0.1``
date                    ``YYYY-MM-DD``                              ``2024-02-29``
timestamp               ``YYYY-MM-DD HH:MI:SS.ffffff``              ``2024-02-29 10:00:00.000000``
timestamptz             the same, in UTC                            ``2024-02-29 09:00:00.000000``
time                    ``HH:MI:SS.ffffff``                         ``10:00:00.500000``
bytes                   lower-case hex                              ``00ff``
uuid                    lower-case hyphenated (text side lowered)   ``7d44...``
text, enum, json, ...   ``<characters>:<text>`` (length-prefixed;   ``3:abc``
                        json against jsonb: jsonb's text)
NULL                    ``N`` (never a canonical non-NULL value)    ``N``
======================  ==========================================  ===============================

The length prefix keeps the ``|`` join unambiguous for free text; the other forms cannot contain
``|`` or be ``N``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from psycopg import sql

from airflow_neon_dms.exceptions import DataDiffError
from airflow_neon_dms.identifiers import mysql_identifier
from airflow_neon_dms.schema.model import ColumnInfo, TableInfo
from airflow_neon_dms.schema.types import TypeShape, type_shape

#: Families whose canonical text has a fixed alphabet (no ``|``, never ``N``).
FIXED_ALPHABET = frozenset({"int", "bool", "decimal", "float", "date", "timestamp", "timestamptz", "time"})
FIXED_ALPHABET_EXTRA = frozenset({"bytes", "uuid"})
#: Key families a range can be cut on, on both engines with the same order.
SPLITTABLE_KEY_FAMILIES = frozenset(
    {"int", "decimal", "text", "enum", "date", "timestamp", "timestamptz", "uuid"}
)

_TS_FORMAT_PG = "YYYY-MM-DD HH24:MI:SS.US"
_TS_FORMAT_MYSQL = "%Y-%m-%d %H:%i:%s.%f"
_UTF8_CHARSETS = frozenset({"utf8mb4", "utf8", "utf8mb3", "ascii", "binary"})


#: Which half of a table diff an expression is for.
SideName = Literal["source", "target"]

_JSON_TYPES = frozenset({"json", "jsonb"})


@dataclass(frozen=True)
class ColumnPair:
    """A column compared on both sides, with the family its canonical text follows.

    ``native``: both sides are PostgreSQL and declare the same type, so the column is hashed with
    its own hash function; otherwise both sides hash its canonical text (``pg_value`` /
    ``mysql_value``), so compatible types with equal values hash equally.
    """

    name: str
    family: str
    source: ColumnInfo
    target: ColumnInfo
    native: bool = False
    both_postgres: bool = False

    def column(self, side: SideName) -> ColumnInfo:
        """The column as declared on one side."""
        return self.source if side == "source" else self.target


def column_pairs(source: TableInfo, target: TableInfo, ignore: Collection[str] = ()) -> list[ColumnPair]:
    """The columns present on both sides under the same name (except ``ignore``), in source order."""
    both_postgres = source.engine == target.engine == "postgresql"
    pairs = []
    for col in source.columns:
        other = target.column(col.name)
        if other is None or col.name in ignore:
            continue
        family = canonical_family(type_shape(col, source.engine), type_shape(other, target.engine))
        native = both_postgres and same_declared_type(col, other)
        pairs.append(ColumnPair(col.name, family, col, other, native, both_postgres))
    return pairs


def same_declared_type(source: ColumnInfo, target: ColumnInfo) -> bool:
    """The two columns have the same type, modifiers included (``numeric(12,2)`` = ``numeric(12,2)``)."""
    return (source.data_type, source.full_type) == (target.data_type, target.full_type)


def canonical_family(source: TypeShape, target: TypeShape) -> str:
    """The family whose canonical text both sides of a column pair produce (pure).

    Integer and boolean widths meet in the target's family; an integer against a numeric with a
    fraction (or no declared scale) in ``decimal``; text against uuid, json or enum in the typed
    side's family; a timestamp without time zone against a ``timestamptz`` in ``timestamptz``.
    """
    s, t = source.family, target.family
    if {s, t} <= {"int", "bool"}:
        return t
    if {s, t} == {"int", "decimal"}:
        scale = (target if t == "decimal" else source).scale
        return "int" if scale == 0 else "decimal"
    if s in ("text", "enum", "other") and t in ("uuid", "json", "enum"):
        return t
    if s == "uuid" and t == "text":
        return "uuid"
    if s == "timestamp" and t == "timestamptz":
        return "timestamptz"
    return s


def check_key_splittable(table: str, pairs: list[ColumnPair], key: tuple[str, ...]) -> None:
    """Raise when a key column's type cannot be range-split the same way on both sides."""
    by_name = {p.name: p for p in pairs}
    for name in key:
        pair = by_name.get(name)
        if pair is None:
            raise DataDiffError(
                f"Table {table}: key column {name!r} is not on both sides. Pass key columns that exist "
                "in the source and the Neon table with the same name."
            )
        native_only = pair.native and pair.family in ("bytes", "time", "bool")
        ok = pair.family in SPLITTABLE_KEY_FAMILIES or native_only
        if not ok:
            raise DataDiffError(
                f"Table {table}: key column {name!r} has type {pair.source.full_type}, which cannot be "
                "range-split the same way on both sides. Choose another unique key with --key / key_columns "
                "(an integer, text, date, timestamp or uuid column)."
            )


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_value(pair: ColumnPair, side: SideName = "target") -> sql.Composable:
    """PostgreSQL expression for the canonical text of one side's column (NULL stays NULL)."""
    col = sql.Identifier(pair.name)
    family = pair.family
    pg_type = pair.column(side).data_type
    if family == "int":
        if pg_type == "boolean":
            return sql.SQL("{}::int::text").format(col)
        return sql.SQL("{}::text").format(col)
    if family == "bool":
        if pg_type == "boolean":
            return sql.SQL("CASE WHEN {c} THEN '1' WHEN NOT {c} THEN '0' END").format(c=col)
        return sql.SQL("CASE WHEN {c} <> 0 THEN '1' WHEN {c} = 0 THEN '0' END").format(c=col)
    if family == "decimal":
        return sql.SQL("trim_scale({}::numeric)::text").format(col)
    if family == "float":
        # float8 first: real -> numeric keeps only 6 significant digits.
        return sql.SQL("trim_scale(round({}::float8::numeric, 6))::text").format(col)
    if family == "date":
        return sql.SQL("{}::text").format(col)
    if family in ("timestamp", "timestamptz"):
        if pg_type == "timestamp with time zone":
            return sql.SQL("to_char({} AT TIME ZONE 'UTC', {})").format(col, sql.Literal(_TS_FORMAT_PG))
        return sql.SQL("to_char({}, {})").format(col, sql.Literal(_TS_FORMAT_PG))
    if family == "time":
        return sql.SQL("to_char({}, 'HH24:MI:SS.US')").format(col)
    if family == "bytes":
        return sql.SQL("encode({}, 'hex')").format(col)
    if family == "uuid" and pg_type != "uuid":
        return sql.SQL("lower({}::text)").format(col)
    if family == "json" and _json_on_both_sides(pair):
        return sql.SQL("{}::jsonb::text").format(col)
    return sql.SQL("{}::text").format(col)


def _json_on_both_sides(pair: ColumnPair) -> bool:
    """json against jsonb on PostgreSQL: both compare as jsonb's normal form (spacing, key order)."""
    return pair.both_postgres and {pair.source.data_type, pair.target.data_type} <= _JSON_TYPES


def _pg_piece(pair: ColumnPair, side: SideName) -> sql.Composable:
    value = pg_value(pair, side)
    if pair.family in FIXED_ALPHABET or pair.family in FIXED_ALPHABET_EXTRA:
        return sql.SQL("COALESCE({}, 'N')").format(value)
    return sql.SQL("COALESCE(char_length({v}) || ':' || {v}, 'N')").format(v=value)


#: How rows are hashed: ``record`` (PostgreSQL 14+ on both sides: each column's own 64-bit hash
#: function, no text conversion), ``text`` (older PostgreSQL: the record's text) or ``canonical``
#: (across engines: MD5 of the canonical text).
RowHash = Literal["record", "text", "canonical"]


def _record_column(pair: ColumnPair, side: SideName) -> sql.Composable:
    """A column as hashed in ``record`` mode: itself when both sides declare its type, else its
    canonical text.

    json has no hash function: it becomes jsonb. An enum's hash function hashes the label's OID,
    which differs between databases, and types outside the known families may hash the same way:
    both are hashed through their text.
    """
    col = sql.Identifier(pair.name)
    if not pair.native:
        return pg_value(pair, side)
    if pair.family == "json":
        return sql.SQL("{}::jsonb").format(col)
    if pair.family in ("other", "enum"):
        return sql.SQL("{}::text").format(col)
    return col


def _text_column(pair: ColumnPair, side: SideName) -> sql.Composable:
    """A column inside the record text of ``text`` mode: itself, or its canonical text."""
    return sql.Identifier(pair.name) if pair.native else pg_value(pair, side)


def pg_row_hash(pairs: list[ColumnPair], method: RowHash, side: SideName = "target") -> sql.Composable:
    """PostgreSQL expression: the row's 64-bit hash as a signed bigint."""
    if method == "record":
        cols = sql.SQL(", ").join(_record_column(p, side) for p in pairs)
        return sql.SQL("hash_record_extended(ROW({}), 0)").format(cols)
    if method == "text":
        cols = sql.SQL(", ").join(_text_column(p, side) for p in pairs)
        return sql.SQL("hashtextextended(ROW({})::text, 0)").format(cols)
    pieces = sql.SQL(", ").join(_pg_piece(p, side) for p in pairs)
    text = sql.SQL("concat_ws('|', {})").format(pieces)
    return sql.SQL("('x' || substr(md5({}), 1, 16))::bit(64)::bigint").format(text)


def pg_key_output(pair: ColumnPair, side: SideName = "target") -> sql.Composable:
    """What a fetched key column returns: integers as integers, everything else as text (the
    column's own text when both sides declare its type, else its canonical text)."""
    if pair.family == "int":
        return sql.Identifier(pair.name)
    if pair.native:
        return sql.SQL("{}::text").format(sql.Identifier(pair.name))
    return pg_value(pair, side)


def pg_key_order(pair: ColumnPair, side: SideName = "target") -> sql.Composable:
    """Key column as used in range comparisons and ORDER BY (text in binary order).

    A uuid key declared differently on the two sides (across engines, or uuid against text) is
    compared as lower-case text: MariaDB orders its UUID type in its own way, and boundary values
    must travel between drivers and types as strings.
    """
    if pair.family in ("text", "enum") or (pair.family == "uuid" and not pair.native):
        return sql.SQL('({}) COLLATE "C"').format(pg_value(pair, side))
    return sql.Identifier(pair.name)


# --- MySQL / MariaDB -------------------------------------------------------------------------


def _mysql_text(pair: ColumnPair) -> str:
    col = mysql_identifier(pair.name)
    charset = (pair.source.charset or "utf8mb4").lower()
    if charset not in _UTF8_CHARSETS:
        return f"CONVERT({col} USING utf8mb4)"
    return col


def mysql_value(pair: ColumnPair) -> str:
    """MySQL/MariaDB expression for the canonical text of one column (NULL stays NULL)."""
    col = mysql_identifier(pair.name)
    family = pair.family
    scale = pair.source.numeric_scale or 0
    if family == "int":
        return f"CAST({col} AS CHAR)"
    if family == "bool":
        return f"CASE WHEN {col} <> 0 THEN '1' WHEN {col} = 0 THEN '0' END"
    if family == "decimal":
        if scale > 0:
            return f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({col} AS CHAR)))"
        return f"CAST({col} AS CHAR)"
    if family == "float":
        return f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(CAST({col} AS DECIMAL(65, 6)) AS CHAR)))"
    if family == "date":
        return f"DATE_FORMAT({col}, '%%Y-%%m-%%d')"
    if family in ("timestamp", "timestamptz"):
        return f"DATE_FORMAT({col}, '{_TS_FORMAT_MYSQL.replace('%', '%%')}')"
    if family == "time":
        return f"TIME_FORMAT({col}, '%%H:%%i:%%s.%%f')"
    if family == "bytes":
        return f"LOWER(HEX({col}))"
    if family == "uuid":
        return f"LOWER(CAST({col} AS CHAR))"
    if family in ("text", "enum"):
        return _mysql_text(pair)
    return f"CAST({col} AS CHAR)"


def _mysql_piece(pair: ColumnPair) -> str:
    value = mysql_value(pair)
    if pair.family in FIXED_ALPHABET or pair.family in FIXED_ALPHABET_EXTRA:
        return f"COALESCE({value}, 'N')"
    return f"COALESCE(CONCAT(CHAR_LENGTH({value}), ':', {value}), 'N')"


def mysql_row_hash(pairs: list[ColumnPair]) -> str:
    """MySQL/MariaDB expression: the row's 64-bit hash as an unsigned integer."""
    text = "CONCAT_WS('|', " + ", ".join(_mysql_piece(p) for p in pairs) + ")"
    return f"CAST(CONV(SUBSTRING(MD5({text}), 1, 16), 16, 10) AS UNSIGNED)"


def mysql_key_output(pair: ColumnPair) -> str:
    """What a fetched key column returns: integers as integers, everything else as canonical text."""
    if pair.family == "int":
        return mysql_identifier(pair.name)
    return mysql_value(pair)


def mysql_key_order(pair: ColumnPair) -> str:
    """Key column as used in range comparisons and ORDER BY (text in binary order)."""
    if pair.family in ("text", "enum"):
        return f"CAST({_mysql_text(pair)} AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin"
    if pair.family == "uuid":
        text = f"LOWER(CAST({mysql_identifier(pair.name)} AS CHAR))"
        return f"CAST({text} AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin"
    return mysql_identifier(pair.name)

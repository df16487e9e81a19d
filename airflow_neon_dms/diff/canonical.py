"""One canonical text per value, computed inside each database, so equal data hashes equally.

For PostgreSQL -> PostgreSQL the row text is PostgreSQL's own record text (``ROW(...)::text``)
under fixed session settings, hashed with ``hashtextextended`` (64 bits). Across engines
(MySQL/MariaDB -> PostgreSQL) each column is rendered to the forms below on both sides, joined with
``|``, and hashed with the first 64 bits of MD5, which both engines compute natively:

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
uuid                    lower-case hyphenated                       ``7d44...``
text, enum, json, ...   ``<characters>:<text>`` (length-prefixed)   ``3:abc``
NULL                    ``N`` (never a canonical non-NULL value)    ``N``
======================  ==========================================  ===============================

The length prefix keeps the ``|`` join unambiguous for free text; the other forms cannot contain
``|`` or be ``N``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from psycopg import sql

from airflow_neon_dms.exceptions import DataDiffError
from airflow_neon_dms.identifiers import mysql_identifier
from airflow_neon_dms.schema.model import ColumnInfo, TableInfo
from airflow_neon_dms.schema.types import type_shape

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


@dataclass(frozen=True)
class ColumnPair:
    """A column compared on both sides, with the family its canonical text follows."""

    name: str
    family: str
    source: ColumnInfo
    target: ColumnInfo


def column_pairs(source: TableInfo, target: TableInfo) -> list[ColumnPair]:
    """The columns present on both sides under the same name, in source order, with their family."""
    pairs = []
    for col in source.columns:
        other = target.column(col.name)
        if other is None:
            continue
        pairs.append(ColumnPair(col.name, _family(col, source, other, target), col, other))
    return pairs


def _family(src: ColumnInfo, source: TableInfo, tgt: ColumnInfo, target: TableInfo) -> str:
    s = type_shape(src, source.engine).family
    t = type_shape(tgt, target.engine).family
    if {s, t} <= {"int", "bool"}:
        return t
    if s in ("text", "enum", "other") and t in ("uuid", "json", "enum"):
        return t
    if s == "timestamp" and t == "timestamptz":
        return "timestamptz"
    return s


def check_key_splittable(table: str, pairs: list[ColumnPair], key: tuple[str, ...], native: bool) -> None:
    """Raise when a key column's type cannot be range-split the same way on both sides."""
    by_name = {p.name: p for p in pairs}
    for name in key:
        pair = by_name.get(name)
        if pair is None:
            raise DataDiffError(
                f"Table {table}: key column {name!r} is not on both sides. Pass key columns that exist "
                "in the source and the Neon table with the same name."
            )
        ok = pair.family in SPLITTABLE_KEY_FAMILIES or (native and pair.family in ("bytes", "time", "bool"))
        if not ok:
            raise DataDiffError(
                f"Table {table}: key column {name!r} has type {pair.source.full_type}, which cannot be "
                "range-split the same way on both sides. Choose another unique key with --key / key_columns "
                "(an integer, text, date, timestamp or uuid column)."
            )


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_value(pair: ColumnPair) -> sql.Composable:
    """PostgreSQL expression for the canonical text of one column (NULL stays NULL)."""
    col = sql.Identifier(pair.name)
    family = pair.family
    pg_type = pair.target.data_type if pair.target else ""
    if family == "int":
        if pg_type == "boolean":
            return sql.SQL("{}::int::text").format(col)
        return sql.SQL("{}::text").format(col)
    if family == "bool":
        if pg_type == "boolean":
            return sql.SQL("CASE WHEN {} THEN '1' ELSE '0' END").format(col)
        return sql.SQL("CASE WHEN {} <> 0 THEN '1' ELSE '0' END").format(col)
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
    return sql.SQL("{}::text").format(col)


def _pg_piece(pair: ColumnPair) -> sql.Composable:
    value = pg_value(pair)
    if pair.family in FIXED_ALPHABET or pair.family in FIXED_ALPHABET_EXTRA:
        return sql.SQL("COALESCE({}, 'N')").format(value)
    return sql.SQL("COALESCE(char_length({v}) || ':' || {v}, 'N')").format(v=value)


#: How rows are hashed: ``record`` (PostgreSQL 14+ on both sides: each column's own 64-bit hash
#: function, no text conversion), ``text`` (older PostgreSQL: the record's text) or ``canonical``
#: (across engines: MD5 of the canonical text).
RowHash = Literal["record", "text", "canonical"]


def _record_column(pair: ColumnPair) -> sql.Composable:
    """A column as hashed in ``record`` mode, the same expression on both sides.

    json has no hash function and json/jsonb print differently: both become jsonb. Types outside
    the known families are hashed through their text.
    """
    col = sql.Identifier(pair.name)
    if pair.family == "json":
        return sql.SQL("{}::jsonb").format(col)
    if pair.family == "other":
        return sql.SQL("{}::text").format(col)
    return col


def pg_row_hash(pairs: list[ColumnPair], method: RowHash) -> sql.Composable:
    """PostgreSQL expression: the row's 64-bit hash as a signed bigint."""
    if method == "record":
        cols = sql.SQL(", ").join(_record_column(p) for p in pairs)
        return sql.SQL("hash_record_extended(ROW({}), 0)").format(cols)
    if method == "text":
        cols = sql.SQL(", ").join(sql.Identifier(p.name) for p in pairs)
        return sql.SQL("hashtextextended(ROW({})::text, 0)").format(cols)
    text = sql.SQL("concat_ws('|', {})").format(sql.SQL(", ").join(_pg_piece(p) for p in pairs))
    return sql.SQL("('x' || substr(md5({}), 1, 16))::bit(64)::bigint").format(text)


def pg_key_output(pair: ColumnPair, native: bool) -> sql.Composable:
    """What a fetched key column returns: integers as integers, everything else as canonical text."""
    if pair.family == "int":
        return sql.Identifier(pair.name)
    if native:
        return sql.SQL("{}::text").format(sql.Identifier(pair.name))
    return pg_value(pair)


def pg_key_order(pair: ColumnPair, native: bool = True) -> sql.Composable:
    """Key column as used in range comparisons and ORDER BY (text in binary order).

    Across engines a uuid key is compared as lower-case text: MariaDB orders its UUID type in
    its own way, and boundary values must travel between drivers as strings.
    """
    if pair.family in ("text", "enum") or (pair.family == "uuid" and not native):
        return sql.SQL('{}::text COLLATE "C"').format(sql.Identifier(pair.name))
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
        return f"IF({col} <> 0, '1', '0')"
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

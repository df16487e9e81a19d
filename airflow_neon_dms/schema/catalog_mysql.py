"""Read tables, columns and keys from a MySQL or MariaDB information_schema."""

from __future__ import annotations

import re
from typing import Any

from airflow_neon_dms.schema.model import ColumnInfo, ForeignKey, TableInfo

#: Databases a ``%`` schema pattern also matches on MySQL; DMS users almost never mean them.

_ENUM_LABEL_RE = re.compile(r"'((?:[^']|'')*)'")


def enum_labels(column_type: str) -> tuple[str, ...]:
    """The labels of ``enum('a','b''c')`` in order (quotes undoubled); () for other types."""
    if not column_type.lower().startswith(("enum(", "set(")):
        return ()
    return tuple(m.group(1).replace("''", "'") for m in _ENUM_LABEL_RE.finditer(column_type))


def list_tables(conn: Any) -> list[tuple[str, str]]:
    """Every base table on the server, as (database, table); system databases included."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
            "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2"
        )
        return [(str(s), str(t)) for s, t in cur.fetchall()]


def read_table(conn: Any, schema: str, table: str) -> TableInfo | None:
    """The table's columns, keys and foreign keys, or None when there is no such table."""
    where = (schema, table)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "AND TABLE_TYPE = 'BASE TABLE'",
            where,
        )
        if cur.fetchone() is None:
            return None
        json_columns = _mariadb_json_columns(cur, schema, table)
        cur.execute(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, "
            "NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME, COLUMN_DEFAULT, "
            "EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY ORDINAL_POSITION",
            where,
        )
        columns = []
        for (
            name,
            dtype,
            ctype,
            nullable,
            clen,
            prec,
            scale,
            dtprec,
            charset,
            default,
            extra,
        ) in cur.fetchall():
            dtype = str(dtype).lower()
            ctype = str(ctype).lower()
            if name in json_columns:
                dtype = ctype = "json"
            nullable_flag = str(nullable).upper() == "YES"
            # MariaDB reports the default of a nullable column without one as the text 'NULL'.
            has_default = (default is not None and not (nullable_flag and str(default) == "NULL")) or (
                "auto_increment" in str(extra or "").lower()
            )
            columns.append(
                ColumnInfo(
                    name=str(name),
                    data_type=dtype,
                    full_type=ctype,
                    nullable=nullable_flag,
                    char_length=int(clen) if clen is not None else None,
                    numeric_precision=int(prec) if prec is not None else None,
                    numeric_scale=int(scale) if scale is not None else None,
                    datetime_precision=int(dtprec) if dtprec is not None else None,
                    unsigned="unsigned" in ctype,
                    charset=str(charset) if charset else None,
                    enum_values=enum_labels(ctype),
                    has_default=has_default,
                )
            )
        cur.execute(
            "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY INDEX_NAME = 'PRIMARY' DESC, "
            "INDEX_NAME, SEQ_IN_INDEX",
            where,
        )
        indexes: dict[str, list[str]] = {}
        partial: set[str] = set()
        for index_name, non_unique, column_name, sub_part in cur.fetchall():
            if int(non_unique) == 0:
                indexes.setdefault(str(index_name), []).append(str(column_name))
                if sub_part is not None:
                    partial.add(str(index_name))
        cur.execute(
            "SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME "
            "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
            where,
        )
        fk_cols: dict[str, list[str]] = {}
        fk_refs: dict[str, tuple[str, str]] = {}
        for cname, col, ref_s, ref_t in cur.fetchall():
            fk_cols.setdefault(str(cname), []).append(str(col))
            fk_refs[str(cname)] = (str(ref_s), str(ref_t))
    primary = tuple(indexes.pop("PRIMARY", ()))
    unique = tuple(tuple(cols) for name, cols in indexes.items() if name not in partial)
    fks = tuple(ForeignKey(name, tuple(cols), *fk_refs[name]) for name, cols in fk_cols.items())
    return TableInfo(
        engine="mysql",
        schema=schema,
        name=table,
        columns=tuple(columns),
        primary_key=primary,
        unique_keys=unique,
        foreign_keys=fks,
    )


def _mariadb_json_columns(cur: Any, schema: str, table: str) -> set[str]:
    """MariaDB's JSON is LONGTEXT with a ``json_valid(col)`` check; find those columns."""
    import pymysql

    try:
        cur.execute(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s",
            (schema, table),
        )
    except pymysql.err.MySQLError:  # MySQL before 8.0.16 has no CHECK_CONSTRAINTS view
        return set()
    found = set()
    for (clause,) in cur.fetchall():
        match = re.fullmatch(r"\s*json_valid\(`((?:[^`]|``)+)`\)\s*", str(clause), re.IGNORECASE)
        if match:
            found.add(match.group(1).replace("``", "`"))
    return found

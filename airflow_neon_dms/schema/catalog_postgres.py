"""Read tables, columns and keys from a PostgreSQL (or Neon) catalog."""

from __future__ import annotations

from typing import Any

import psycopg

from airflow_neon_dms.schema.model import ColumnInfo, ForeignKey, TableInfo

_TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%%'
ORDER BY 1, 2
"""

_COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, NULL), format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       c.character_maximum_length, c.numeric_precision, c.numeric_scale, c.datetime_precision,
       (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''), a.attidentity::text,
       a.attgenerated <> '',
       CASE WHEN t.typtype = 'e' THEN ARRAY(
           SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
       END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN information_schema.columns c
  ON c.table_schema = %(schema)s AND c.table_name = %(table)s AND c.column_name = a.attname
WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_KEYS_SQL = """
SELECT i.indisprimary, ARRAY(
    SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)
FROM pg_index i
WHERE i.indrelid = %(oid)s AND i.indisunique AND i.indisvalid
  AND i.indpred IS NULL AND i.indexprs IS NULL
ORDER BY NOT i.indisprimary, i.indexrelid
"""

_FOREIGN_KEYS_SQL = """
SELECT con.conname, ARRAY(
    SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
    fn.nspname, fc.relname
FROM pg_constraint con
JOIN pg_class fc ON fc.oid = con.confrelid
JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.conrelid = %(oid)s AND con.contype = 'f'
ORDER BY con.conname
"""


def list_tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Every ordinary or partitioned table outside the system schemas, as (schema, table)."""
    with conn.cursor() as cur:
        cur.execute(_TABLES_SQL)
        return [(str(s), str(t)) for s, t in cur.fetchall()]


def _table_oid(cur: psycopg.Cursor[Any], schema: str, table: str) -> int | None:
    cur.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, table),
    )
    row = cur.fetchone()
    return int(row[0]) if row else None


def read_table(conn: psycopg.Connection[Any], schema: str, table: str) -> TableInfo | None:
    """The table's columns, keys and foreign keys, or None when there is no such table."""
    with conn.cursor() as cur:
        oid = _table_oid(cur, schema, table)
        if oid is None:
            return None
        params = {"schema": schema, "table": table, "oid": oid}
        cur.execute(_COLUMNS_SQL, params)
        columns = tuple(
            ColumnInfo(
                name=name,
                data_type=base.lower(),
                full_type=full.lower(),
                nullable=bool(nullable),
                char_length=char_len,
                numeric_precision=num_prec,
                numeric_scale=num_scale,
                datetime_precision=dt_prec,
                has_default=bool(has_default),
                identity=str(identity or ""),
                generated=bool(generated),
                enum_values=tuple(labels or ()),
            )
            for (
                name,
                base,
                full,
                nullable,
                char_len,
                num_prec,
                num_scale,
                dt_prec,
                has_default,
                identity,
                generated,
                labels,
            ) in cur.fetchall()
        )
        cur.execute(_KEYS_SQL, params)
        primary: tuple[str, ...] = ()
        unique: list[tuple[str, ...]] = []
        for is_primary, cols in cur.fetchall():
            if is_primary:
                primary = tuple(cols)
            else:
                unique.append(tuple(cols))
        cur.execute(_FOREIGN_KEYS_SQL, params)
        fks = tuple(
            ForeignKey(name, tuple(cols), ref_s, ref_t) for name, cols, ref_s, ref_t in cur.fetchall()
        )
    conn.rollback()
    return TableInfo(
        engine="postgresql",
        schema=schema,
        name=table,
        columns=columns,
        primary_key=primary,
        unique_keys=tuple(unique),
        foreign_keys=fks,
    )

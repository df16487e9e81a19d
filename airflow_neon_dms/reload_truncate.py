"""Empty Neon target tables for a reload in DO_NOTHING prep mode, never ahead of DMS accepting it.

The DMS user guide ("Reloading tables during a task") says DMS applies TargetTablePrepMode before
a reload, and that with DO_NOTHING the table must be truncated by hand first: otherwise the
reloaded rows are appended to the ones already there. Emptying a table and then having
ReloadTables refused (the task is ``starting``/``stopping``, or is a CDC-only task) would leave it
empty, so :func:`truncated_for_reload` truncates inside a transaction that commits only once the
reload request has been accepted. TRUNCATE holds an ACCESS EXCLUSIVE lock until that commit, so
the reload's own writes wait for it and land in the emptied table; a refused request rolls the
TRUNCATE back and the rows stay.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError

#: How long the TRUNCATE may wait for other connections' locks on the tables (DMS's own change apply).
LOCK_TIMEOUT = "60s"

_REFERENCING_KEYS = sql.SQL(
    """
    SELECT c.conname, cn.nspname, cl.relname, rn.nspname, rl.relname
    FROM pg_constraint c
    JOIN pg_class rl ON rl.oid = c.confrelid
    JOIN pg_namespace rn ON rn.oid = rl.relnamespace
    JOIN pg_class cl ON cl.oid = c.conrelid
    JOIN pg_namespace cn ON cn.oid = cl.relnamespace
    JOIN unnest(%s::text[], %s::text[]) AS w(schema_name, table_name)
      ON w.schema_name = rn.nspname AND w.table_name = rl.relname
    WHERE c.contype = 'f'
    ORDER BY 2, 3, 1
    """
)


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key constraint: ``name`` on ``referencing`` points at ``referenced``."""

    name: str
    referencing: TableRef
    referenced: TableRef


def blocking_foreign_keys(keys: Sequence[ForeignKey], tables: Sequence[TableRef]) -> list[ForeignKey]:
    """Keys that stop ``TRUNCATE tables``: they point into the set from a table outside it."""
    chosen = set(tables)
    return [k for k in keys if k.referenced in chosen and k.referencing not in chosen]


def foreign_key_message(blocking: Sequence[ForeignKey]) -> str:
    """The error for :func:`blocking_foreign_keys`: each constraint, and the two ways out."""
    names = "; ".join(f"constraint {k.name} on {k.referencing} references {k.referenced}" for k in blocking)
    outside = ", ".join(sorted({str(k.referencing) for k in blocking}))
    return (
        f"Cannot empty the target table(s) for the reload: {names}. PostgreSQL refuses to "
        "TRUNCATE a table that another table references (and TRUNCATE ... CASCADE would empty "
        f"{outside} too). Fix: reload {outside} in the same call (the same group of up to 10 "
        "tables), or drop the foreign key for the migration and add it back after the load (DMS "
        "does not migrate foreign keys). Nothing was truncated and no reload was requested."
    )


def referencing_keys(conn: psycopg.Connection[Any], tables: Sequence[TableRef]) -> list[ForeignKey]:
    """Every foreign key that points at one of ``tables``."""
    rows = conn.execute(_REFERENCING_KEYS, ([t.schema for t in tables], [t.table for t in tables]))
    return [
        ForeignKey(name, TableRef(ref_schema, ref_table), TableRef(to_schema, to_table))
        for name, ref_schema, ref_table, to_schema, to_table in rows.fetchall()
    ]


@contextmanager
def truncated_for_reload(conn: psycopg.Connection[Any], tables: Sequence[TableRef]) -> Iterator[None]:
    """TRUNCATE ``tables`` in a transaction that commits only when the ``with`` body returns.

    Run the ReloadTables request in the body: if it raises, the TRUNCATE is rolled back and every
    row stays. A foreign key from a table outside ``tables`` raises :class:`NeonConfigError`
    before anything is emptied.
    """
    with conn.transaction():
        blocking = blocking_foreign_keys(referencing_keys(conn, tables), tables)
        if blocking:
            raise NeonConfigError(foreign_key_message(blocking))
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
        names = ", ".join(map(str, tables))
        try:
            conn.execute(
                sql.SQL("TRUNCATE TABLE {}").format(
                    sql.SQL(", ").join(sql.Identifier(t.schema, t.table) for t in tables)
                )
            )
        except psycopg.errors.UndefinedTable as err:
            raise NeonConfigError(
                f"Cannot empty {names} for the reload: {err.diag.message_primary}. Create the target "
                "table in Neon (DO_NOTHING keeps the schema you created), or check the task's "
                "transformation rules. Nothing was truncated."
            ) from None
        except psycopg.errors.LockNotAvailable:
            raise DmsResourceError(
                f"Cannot empty {names} for the reload: another connection held a lock on them for "
                f"{LOCK_TIMEOUT}. Retry when the tables are idle. Nothing was truncated."
            ) from None
        yield

"""Faults the demo injects into the Neon side, to show the validate-and-reload path at work.

A one-shot trigger changes one column of every ``every``-th row that the next load inserts into
a table, then disarms itself at the end of that statement. DMS validation (or the data diff)
then finds mismatched records, and a reload of just that table repairs it.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

FAULT_TABLE = "neon_dms_demo_fault"


def install_one_shot_corruption(dsn: str, table: str, column: str, every: int = 50, key: str = "id") -> None:
    """Arm a trigger on ``table`` that adds 1 to ``column`` where ``key % every = 0``, once."""
    if every < 1:
        raise ValueError(f"every must be at least 1, not {every}")
    corrupt_fn = sql.Identifier(f"{FAULT_TABLE}_corrupt_{table}")
    disarm_fn = sql.Identifier(f"{FAULT_TABLE}_disarm_{table}")
    statements = [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (table_name text PRIMARY KEY)").format(
            sql.Identifier(FAULT_TABLE)
        ),
        sql.SQL("INSERT INTO {} VALUES ({}) ON CONFLICT DO NOTHING").format(
            sql.Identifier(FAULT_TABLE), sql.Literal(table)
        ),
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            "BEGIN IF NEW.{key} % {every} = 0 AND EXISTS "
            "(SELECT 1 FROM {faults} WHERE table_name = TG_TABLE_NAME) "
            "THEN NEW.{col} := NEW.{col} + 1; END IF; RETURN NEW; END $body$"
        ).format(
            fn=corrupt_fn,
            key=sql.Identifier(key),
            every=sql.Literal(every),
            faults=sql.Identifier(FAULT_TABLE),
            col=sql.Identifier(column),
        ),
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            "BEGIN DELETE FROM {faults} WHERE table_name = TG_TABLE_NAME; RETURN NULL; END $body$"
        ).format(fn=disarm_fn, faults=sql.Identifier(FAULT_TABLE)),
        sql.SQL("CREATE TRIGGER {} BEFORE INSERT ON {} FOR EACH ROW EXECUTE FUNCTION {}()").format(
            sql.Identifier(f"{FAULT_TABLE}_corrupt"), sql.Identifier(table), corrupt_fn
        ),
        sql.SQL("CREATE TRIGGER {} AFTER INSERT ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}()").format(
            sql.Identifier(f"{FAULT_TABLE}_disarm"), sql.Identifier(table), disarm_fn
        ),
    ]
    with psycopg.connect(dsn) as conn:
        for statement in statements:
            conn.execute(statement)

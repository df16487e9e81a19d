"""Statement plans per row layout give the statement the applier's general way gives, change by
change, and leave to it what they do not cover."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from airflow_neon_dms.local.cdc.apply import ChangeApplier
from airflow_neon_dms.local.cdc.batching import Run
from airflow_neon_dms.local.cdc.changes import RowChange
from airflow_neon_dms.local.cdc.identity import TableIdentity
from airflow_neon_dms.local.cdc.statement_plans import extend_run
from airflow_neon_dms.local.cdc.stats import ChangeStatistics
from airflow_neon_dms.local.cdc.test_decoding import parse_line

IDENTITIES = {
    "keyed": TableIdentity(("id",), columns=("id", "name", "total")),
    "whole": TableIdentity((), full=True, columns=("id", "name", "total")),
}


@pytest.fixture
def applier(pg_database: str, pg_server: Any) -> Iterator[ChangeApplier]:
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        for table in IDENTITIES:
            conn.execute(
                f"CREATE TABLE {table} (id integer PRIMARY KEY, name text, "
                "total integer GENERATED ALWAYS AS (id * 2) STORED)"
            )
        yield ChangeApplier(
            conn,
            "plans",
            target_name=lambda schema, table: (schema, table),
            identity=lambda _schema, table: IDENTITIES[table],
            stats=ChangeStatistics(),
        )


LINES = [
    # twice each: the first line teaches the shape, the second goes through it
    "table public.keyed: INSERT: id[integer]:1 name[text]:'a' total[integer]:2",
    "table public.keyed: INSERT: id[integer]:2 name[text]:null total[integer]:4",
    "table public.keyed: UPDATE: id[integer]:1 name[text]:'b''c' total[integer]:2",
    "table public.keyed: UPDATE: id[integer]:2 name[text]:'d' total[integer]:4",
    "table public.keyed: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:5 name[text]:'e' "
    "total[integer]:10",
    "table public.keyed: UPDATE: old-key: id[integer]:5 new-tuple: id[integer]:6 name[text]:'f' "
    "total[integer]:12",
    "table public.keyed: DELETE: id[integer]:6",
    "table public.keyed: DELETE: id[integer]:2",
    "table public.whole: UPDATE: old-key: id[integer]:1 name[text]:'a' new-tuple: id[integer]:1 "
    "name[text]:'b'",
    "table public.whole: UPDATE: old-key: id[integer]:2 name[text]:'c' new-tuple: id[integer]:2 "
    "name[text]:'d'",
    "table public.whole: DELETE: id[integer]:1 name[text]:'b'",
    "table public.whole: DELETE: id[integer]:2 name[text]:'d'",
]


def test_a_planned_statement_is_the_general_one(applier: ChangeApplier) -> None:
    planned = 0
    for line in LINES:
        change = parse_line(line)
        assert isinstance(change, RowChange)
        assert applier._statement(change) == applier._general_statement(change), line
        plan = applier._plans.get(change.layout) if change.layout is not None else None
        planned += plan is not None
    # INSERT, UPDATE by key and DELETE by key are planned (the generated column left out); an
    # UPDATE that changed its key and a table under REPLICA IDENTITY FULL take the general way.
    assert planned == 6
    kinds = {plan.kind for plan in applier._plans.values() if plan is not None}
    assert kinds == {"INSERT", "UPDATE", "DELETE"}
    insert = parse_line(LINES[1])
    assert isinstance(insert, RowChange)
    assert applier._statement(insert).params == ["2", None]  # id and name; total is generated


def test_extending_a_run_by_plan_is_adding_the_planned_statement(applier: ChangeApplier) -> None:
    """``extend_run`` fills a run exactly as ``Run.takes``/``Run.add`` do with the statement, and
    refuses what they refuse (a key already in an UPDATE run)."""
    lines = [
        f"table public.keyed: INSERT: id[integer]:{i} name[text]:'n{i}' total[integer]:0" for i in range(5)
    ]
    lines += [
        f"table public.keyed: UPDATE: id[integer]:{i % 3} name[text]:'u' total[integer]:0" for i in range(5)
    ]
    lines += [f"table public.keyed: DELETE: id[integer]:{i}" for i in range(5)]
    changes = [parse_line(line) for line in lines]
    by_plan: list[Run] = []
    by_statement: list[Run] = []
    for change in changes:
        assert isinstance(change, RowChange)
        statement = applier._statement(change)
        if by_statement and by_statement[-1].takes(statement):
            by_statement[-1].add(statement)
        else:
            by_statement.append(Run(statement.query, statement.bulk))
            by_statement[-1].add(statement)
        plan = applier._plans.get(change.layout)
        if by_plan and plan is not None and extend_run(plan, by_plan[-1], change):
            continue
        by_plan.append(Run(statement.query, statement.bulk))
        by_plan[-1].add(statement)
    assert by_plan == by_statement
    # INSERTs, then UPDATEs until a key repeats (3 keys, then 2), then DELETEs
    assert [run.count for run in by_plan] == [5, 3, 2, 5]

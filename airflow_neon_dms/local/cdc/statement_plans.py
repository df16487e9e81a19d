"""One statement plan per row layout: a decoded change to its ``Statement`` without a lookup per column.

The applier (``apply.ChangeApplier``) works out, for each change, which of its columns the target
may set, how its row is found and which SQL text it takes. For changes that share a ``RowLayout``
(same table, kind and columns) all of that is the same, so it is worked out once, into a
``StatementPlan``: the SQL (one-row and multi-row), and the positions of the values that become
parameters. ``statement`` then only picks values.

A plan covers the common cases: an INSERT; an UPDATE that the source sent without an old key (its
key did not change) on a table with a key; a DELETE by key. Whatever else (a NULL where the key
should be, a table under REPLICA IDENTITY FULL, an UPDATE that changed its key) goes the applier's
general way, which gives the same statement.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from airflow_neon_dms.local.cdc.batching import BulkShape, Run, Statement
from airflow_neon_dms.local.cdc.changes import RowChange


class StatementPlan(NamedTuple):
    """How every change of one layout becomes a statement."""

    kind: str
    query: bytes
    bulk: BulkShape | None
    #: Positions, in the change's ``values``, of the columns the statement sets (INSERT, UPDATE:
    #: the new row, which starts at 0 for the changes planned, which have no old key).
    values: tuple[int, ...]
    #: Positions of the key columns: in the new row (UPDATE) or the old key (DELETE).
    keys: tuple[int, ...]


def statement(plan: StatementPlan, change: RowChange) -> Statement | None:
    """The change's statement by ``plan``, or None when it needs the applier's general way."""
    row = change.values
    if row is None:
        return None
    if plan.kind == "INSERT":
        values = [row[i] for i in plan.values]
        return Statement(plan.query, values, plan.bulk, values if plan.bulk is not None else None)
    keys = [row[i] for i in plan.keys]
    if None in keys:
        return None  # a NULL key is matched with IS NULL: the general way
    if plan.kind == "UPDATE":
        values = [row[i] for i in plan.values]
        if plan.bulk is None:
            return Statement(plan.query, values + keys)
        return Statement(plan.query, values + keys, plan.bulk, keys + values, tuple(keys))
    return Statement(plan.query, keys, plan.bulk, keys if plan.bulk is not None else None)


def extend_run(plan: StatementPlan, run: Run, change: RowChange) -> bool:
    """Add the change to ``run`` as ``run.takes``/``run.add`` would add ``statement(plan, change)``;
    False (nothing added) when it does not join the run or needs the general way."""
    row = change.values
    if row is None or run.count >= run.limit or plan.query != run.query:
        return False
    kind = plan.kind
    if kind == "INSERT":
        values = [row[i] for i in plan.values]
        run.params.append(values)
        if plan.bulk is not None:
            run.bulk_params.append(values)
    elif kind == "UPDATE":
        keys = [row[i] for i in plan.keys]
        row_key = tuple(keys)
        if None in keys or (plan.bulk is not None and row_key in run.keys):
            return False
        values = [row[i] for i in plan.values]
        run.params.append(values + keys)
        if plan.bulk is not None:
            run.bulk_params.append(keys + values)
            run.keys.add(row_key)
    else:
        keys = [row[i] for i in plan.keys]
        if None in keys:
            return False
        run.params.append(keys)
        if plan.bulk is not None:
            run.bulk_params.append(keys)
    run.count += 1
    return True


def positions(names: tuple[str, ...], wanted: Any) -> tuple[int, ...] | None:
    """The positions of ``wanted`` names in ``names`` (None when one is missing)."""
    index = {name: i for i, name in enumerate(names)}
    try:
        return tuple(index[name] for name in wanted)
    except KeyError:
        return None

"""Keyless tables, PostgreSQL -> PostgreSQL: compared as a multiset of full rows on real databases."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from airflow_neon_dms.diff.engine import DiffOptions, TableSpec, diff_table

#: Every row value below appears exactly COPIES times; a few rows are all NULL.
DISTINCT, COPIES = 500, 3
TABLE_SQL = "CREATE TABLE public.views (viewed_at timestamptz, path text, customer_id int, referrer text)"
FILL_SQL = """
INSERT INTO public.views
SELECT timestamptz '2024-01-01 00:00+00' + (g %% %(n)s) * interval '1 minute',
       '/p/' || (g %% %(n)s),
       CASE WHEN (g %% %(n)s) %% 7 = 0 THEN NULL ELSE g %% %(n)s END,
       CASE WHEN (g %% %(n)s) %% 3 = 0 THEN NULL ELSE 'ref' END
FROM generate_series(1, %(rows)s) g
"""
NULL_ROWS_SQL = "INSERT INTO public.views VALUES (NULL, NULL, NULL, NULL), (NULL, NULL, NULL, NULL)"
DELETE_ONE_COPY = (
    "DELETE FROM public.views WHERE ctid = (SELECT ctid FROM public.views WHERE path = %s LIMIT 1)"
)
CHANGE_ONE_COPY = (
    "UPDATE public.views SET referrer = 'changed' "
    "WHERE ctid = (SELECT ctid FROM public.views WHERE path = %s LIMIT 1)"
)

#: The default walk (small tables stream every row value), one that buckets by hash first, and the
#: row hash of PostgreSQL before 14.
OPTION_SETS = {
    "streamed": DiffOptions(),
    "bucketed": DiffOptions(first_pass_rows=16, fetch_batch_rows=100),
    "text-hash": DiffOptions(first_pass_rows=16, fetch_batch_rows=100, native_hash="text"),
}


def _row(i: int) -> list[Any]:
    """A row value as the report lists it (PostgreSQL text of each non-integer column, in UTC)."""
    return [
        f"2024-01-01 {i // 60:02d}:{i % 60:02d}:00+00",
        f"/p/{i}",
        None if i % 7 == 0 else i,
        None if i % 3 == 0 else "ref",
    ]


def _setup(*dsns: str) -> None:
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(TABLE_SQL)
            conn.execute(FILL_SQL, {"n": DISTINCT, "rows": DISTINCT * COPIES})
            conn.execute(NULL_ROWS_SQL)


def _on_target(dsn: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(statement, params).rowcount == 1


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_identical_keyless_tables_with_duplicates_and_nulls(pg_pair, options: DiffOptions) -> None:  # type: ignore[no-untyped-def]
    _setup(pg_pair.source_dsn, pg_pair.target_dsn)
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "views"), options)
    assert result.error is None and result.identical
    assert result.compared_as == "multiset" and result.key_columns == []
    assert (result.rows_source, result.rows_target) == (DISTINCT * COPIES + 2,) * 2
    assert result.ranges_compared == 1  # one aggregate query per side, nothing else
    assert result.to_dict()["compared_as"] == "multiset"


CHANGES = {
    "extra duplicate": (
        "INSERT INTO public.views SELECT * FROM public.views WHERE path = '/p/7' LIMIT 1",
        (),
        [],
        [_row(7)],
    ),
    "deleted copy": (DELETE_ONE_COPY, ("/p/42",), [_row(42)], []),
    "changed copy": (
        CHANGE_ONE_COPY,
        ("/p/100",),
        [_row(100)],
        [[*_row(100)[:3], "changed"]],
    ),
    "deleted NULL row": (
        "DELETE FROM public.views WHERE ctid = (SELECT ctid FROM public.views WHERE path IS NULL LIMIT 1)",
        (),
        [[None, None, None, None]],
        [],
    ),
}


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
@pytest.mark.parametrize(
    ("statement", "params", "missing_in_target", "missing_in_source"), CHANGES.values(), ids=CHANGES.keys()
)
def test_each_change_is_found_with_exact_counts(  # type: ignore[no-untyped-def]
    pg_pair,
    options: DiffOptions,
    statement: str,
    params: tuple[Any, ...],
    missing_in_target: list[list[Any]],
    missing_in_source: list[list[Any]],
) -> None:
    _setup(pg_pair.source_dsn, pg_pair.target_dsn)
    _on_target(pg_pair.target_dsn, statement, params)
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "views"), options)
    assert result.compared_as == "multiset"
    assert not result.identical
    assert result.missing_in_target == missing_in_target
    assert result.missing_in_source == missing_in_source
    assert (result.missing_in_target_count, result.missing_in_source_count) == (
        len(missing_in_target),
        len(missing_in_source),
    )
    assert result.different == [] and result.different_count == 0
    assert not result.keys_truncated


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
def test_several_copies_and_changes_at_once(pg_pair, options: DiffOptions) -> None:  # type: ignore[no-untyped-def]
    _setup(pg_pair.source_dsn, pg_pair.target_dsn)
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM public.views WHERE path = '/p/5'")  # all three copies
        conn.execute("INSERT INTO public.views SELECT * FROM public.views WHERE path = '/p/9'")  # 3 more
        conn.execute(
            "UPDATE public.views SET customer_id = -1 "
            "WHERE ctid = (SELECT ctid FROM public.views WHERE path = '/p/200' LIMIT 1)"
        )
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "views"), options)
    assert result.missing_in_target == [_row(5)] * 3 + [_row(200)]
    assert result.missing_in_source == [_row(9)] * 3 + [[*_row(200)[:2], -1, _row(200)[3]]]
    assert (result.missing_in_target_count, result.missing_in_source_count) == (4, 4)
    assert (result.rows_source, result.rows_target) == (1502, 1502)


def test_everything_differs_lists_are_capped_counts_exact(pg_pair) -> None:  # type: ignore[no-untyped-def]
    _setup(pg_pair.source_dsn, pg_pair.target_dsn)
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("UPDATE public.views SET path = path || '/'")  # every non-NULL row changes
    options = DiffOptions(first_pass_rows=16, fetch_batch_rows=100, max_keys=10)
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "views"), options)
    assert (result.missing_in_target_count, result.missing_in_source_count) == (1500, 1500)
    assert len(result.missing_in_target) == len(result.missing_in_source) == 10
    assert result.keys_truncated
    assert all(row[1].endswith("/") for row in result.missing_in_source)
    assert not any(row[1].endswith("/") for row in result.missing_in_target)


def test_target_empty(pg_pair) -> None:  # type: ignore[no-untyped-def]
    _setup(pg_pair.source_dsn, pg_pair.target_dsn)
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE public.views")
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "views"), DiffOptions(max_keys=5))
    assert (result.rows_source, result.rows_target) == (1502, 0)
    assert result.missing_in_target_count == 1502 and result.missing_in_source_count == 0
    assert len(result.missing_in_target) == 5


def test_a_given_key_still_walks_by_key(pg_pair) -> None:  # type: ignore[no-untyped-def]
    for dsn in (pg_pair.source_dsn, pg_pair.target_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.nokey (a int, b text)")
            conn.execute("INSERT INTO public.nokey SELECT g, 'b' || g FROM generate_series(1, 50) g")
    _on_target(pg_pair.target_dsn, "UPDATE public.nokey SET b = 'x' WHERE a = 9")
    keyed = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "nokey", key_columns=("a",)))
    assert (keyed.compared_as, keyed.different) == ("key", [[9]])
    multiset = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "nokey"))
    assert multiset.compared_as == "multiset"
    assert (multiset.missing_in_target, multiset.missing_in_source) == ([[9, "b9"]], [[9, "x"]])

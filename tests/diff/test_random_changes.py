"""Property: random inserts, deletes and updates on the target are all found, and nothing else."""

from __future__ import annotations

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_neon_dms.diff.engine import DiffOptions, TableSpec, diff_table

ROWS = 400
OPTIONS = DiffOptions(
    first_pass_rows=50, leaf_rows=8, fetch_limit=12, split_batch=3, fetch_batch_ranges=2, fetch_batch_rows=20
)

changes = st.fixed_dictionaries(
    {
        "deleted": st.sets(st.integers(1, ROWS), max_size=25),
        "updated": st.dictionaries(
            st.integers(1, ROWS),
            st.one_of(
                st.none(),
                st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=6),
            ),
            max_size=25,
        ),
        "inserted": st.sets(st.integers(-50, ROWS + 300).filter(lambda k: not 1 <= k <= ROWS), max_size=25),
        "nulled_amounts": st.sets(st.integers(1, ROWS), max_size=5),
    }
)


def _reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.items")
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, label text, amount numeric(8, 2))")
        conn.execute(
            "INSERT INTO public.items SELECT g, 'item ' || g, g / 4.0 FROM generate_series(1, %s) g", (ROWS,)
        )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=changes)
def test_random_target_changes_are_found_exactly(pg_pair, change) -> None:  # type: ignore[no-untyped-def]
    _reset(pg_pair.source_dsn)
    _reset(pg_pair.target_dsn)
    expected_different = set()
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        for key, label in change["updated"].items():
            conn.execute("UPDATE public.items SET label = %s WHERE id = %s", (label, key))
            if label != f"item {key}":
                expected_different.add(key)
        for key in change["nulled_amounts"]:
            conn.execute("UPDATE public.items SET amount = NULL WHERE id = %s", (key,))
            expected_different.add(key)
        for key in change["deleted"]:
            conn.execute("DELETE FROM public.items WHERE id = %s", (key,))
        for key in change["inserted"]:
            conn.execute("INSERT INTO public.items VALUES (%s, 'new', 1)", (key,))
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "items"), OPTIONS)
    assert result.missing_in_target == [[k] for k in sorted(change["deleted"])]
    assert result.missing_in_source == [[k] for k in sorted(change["inserted"])]
    assert result.different == [[k] for k in sorted(expected_different - change["deleted"])]
    assert result.rows_source == ROWS
    assert result.rows_target == ROWS - len(change["deleted"]) + len(change["inserted"])

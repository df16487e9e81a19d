"""PostgreSQL -> PostgreSQL diff against real databases."""

from __future__ import annotations

import psycopg
import pytest

from airflow_neon_dms.diff.engine import DiffOptions, TableSpec, diff_table, diff_tables
from airflow_neon_dms.exceptions import DataDiffError

SMALL = DiffOptions(first_pass_rows=64, leaf_rows=16, fetch_limit=32)

TABLE_SQL = """
CREATE TABLE public.orders (
    id bigint PRIMARY KEY,
    customer text,
    amount numeric(12, 2),
    placed timestamptz,
    shipped date,
    paid boolean,
    note jsonb,
    ref uuid,
    blob bytea,
    ratio double precision,
    meta json,
    tags text[],
    span interval
);
"""

FILL_SQL = """
INSERT INTO public.orders
SELECT g, 'customer ' || (g %% 97), (g * 1.25)::numeric(12, 2),
       timestamptz '2024-01-01 00:00+00' + g * interval '1 minute',
       date '2024-01-01' + (g %% 365), g %% 2 = 0,
       jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g %% 3)),
       md5(g::text)::uuid, decode(md5(g::text), 'hex'), g / 7.0,
       json_build_object('g', g), ARRAY['t', g::text], g * interval '1 second'
FROM generate_series(1, %s) g
WHERE g %% 13 <> 5
"""


def _setup(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TABLE_SQL)
        conn.execute(FILL_SQL, (rows,))
        conn.execute("UPDATE public.orders SET customer = NULL, note = NULL WHERE id % 11 = 0")


def test_identical_tables_report_nothing(pg_pair) -> None:  # type: ignore[no-untyped-def]
    _setup(pg_pair.source_dsn, 3000)
    _setup(pg_pair.target_dsn, 3000)
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "orders"), SMALL)
    assert result.identical
    expected_rows = sum(1 for g in range(1, 3001) if g % 13 != 5)
    assert (result.rows_source, result.rows_target) == (expected_rows, expected_rows)
    assert result.key_columns == ["id"]
    assert result.different == result.missing_in_source == result.missing_in_target == []


@pytest.mark.parametrize("native_hash", ["record", "text"])
def test_finds_exact_keys_of_each_kind(pg_pair, native_hash: str) -> None:  # type: ignore[no-untyped-def]
    _setup(pg_pair.source_dsn, 3000)
    _setup(pg_pair.target_dsn, 3000)
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM public.orders WHERE id IN (1, 777, 2999)")
        conn.execute("UPDATE public.orders SET amount = amount + 0.01 WHERE id = 100")
        conn.execute("UPDATE public.orders SET customer = NULL WHERE id = 101")  # value -> NULL
        conn.execute("UPDATE public.orders SET customer = '' WHERE id = 22")  # NULL -> empty text
        conn.execute("UPDATE public.orders SET placed = placed + interval '1 microsecond' WHERE id = 1501")
        conn.execute("UPDATE public.orders SET meta = '{\"g\": -1}' WHERE id = 1600")  # json value
        conn.execute("UPDATE public.orders SET tags[2] = 'x' WHERE id = 1700")
        conn.execute("UPDATE public.orders SET span = span * 2 WHERE id = 1800")
        conn.execute(
            "INSERT INTO public.orders (id, customer) VALUES (5, 'ghost'), (-40, 'below'), (9000, 'above')"
        )
    options = DiffOptions(first_pass_rows=64, leaf_rows=16, fetch_limit=32, native_hash=native_hash)  # type: ignore[arg-type]
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "orders"), options)
    assert not result.identical
    assert result.missing_in_target == [[1], [777], [2999]]
    assert result.missing_in_source == [[-40], [5], [9000]]
    assert result.different == [[22], [100], [101], [1501], [1600], [1700], [1800]]
    assert (result.missing_in_target_count, result.missing_in_source_count, result.different_count) == (
        3,
        3,
        7,
    )


def test_composite_text_key_and_empty_target(pg_pair) -> None:  # type: ignore[no-untyped-def]
    create = "CREATE TABLE public.stock (shop text, sku text, qty int, PRIMARY KEY (shop, sku))"
    for dsn in (pg_pair.source_dsn, pg_pair.target_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(create)
    with psycopg.connect(pg_pair.source_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO public.stock SELECT 'shop' || (g % 5), 'sku-' || g, g FROM generate_series(1, 700) g"
        )
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO public.stock SELECT 'shop' || (g % 5), 'sku-' || g, g "
            "FROM generate_series(1, 700) g "
            "WHERE g <> 333"
        )
        conn.execute("UPDATE public.stock SET qty = -1 WHERE sku = 'sku-42'")
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "stock"), SMALL)
    assert result.key_columns == ["shop", "sku"]
    assert result.missing_in_target == [["shop3", "sku-333"]]
    assert result.different == [["shop2", "sku-42"]]
    assert result.missing_in_source == []
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE public.stock")
    emptied = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "stock"), SMALL)
    assert emptied.missing_in_target_count == 700
    assert emptied.rows_target == 0
    assert len(emptied.missing_in_target) == 700


def test_key_list_is_capped_but_counts_stay_exact(pg_pair) -> None:  # type: ignore[no-untyped-def]
    _setup(pg_pair.source_dsn, 500)
    _setup(pg_pair.target_dsn, 0)
    capped = DiffOptions(first_pass_rows=64, leaf_rows=16, fetch_limit=32, max_keys=10)
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "orders"), capped)
    expected = sum(1 for g in range(1, 501) if g % 13 != 5)
    assert result.missing_in_target_count == expected
    assert len(result.missing_in_target) == 10
    assert result.keys_truncated


def test_bad_input_names_the_table(pg_pair) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_pair.source_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.nokey (a int, b text)")
        conn.execute("CREATE TABLE public.onlysource (id int PRIMARY KEY)")
        conn.execute("CREATE TABLE public.jsonkey (doc json, v int)")
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.nokey (a int, b text)")
        conn.execute("CREATE TABLE public.jsonkey (doc json, v int)")
    keyless = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "nokey"))
    assert (keyless.compared_as, keyless.identical) == ("multiset", True)  # no key: not refused
    with pytest.raises(DataDiffError, match=r"public\.onlysource has no Neon copy"):
        diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "onlysource"))
    with pytest.raises(DataDiffError, match=r"public\.missing does not exist on the source"):
        diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "missing"))
    with pytest.raises(DataDiffError, match=r"public\.jsonkey: key column 'doc' has type json"):
        diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "jsonkey", key_columns=("doc",)))
    results = diff_tables(
        pg_pair.source,
        pg_pair.target,
        [TableSpec("public", "nokey"), TableSpec("public", "onlysource")],
        max_connections=4,
    )
    assert [r.error is not None for r in results] == [False, True]
    assert [r.identical for r in results] == [True, False]


def test_unreachable_database_names_table_without_password(pg_pair) -> None:  # type: ignore[no-untyped-def]
    from airflow_neon_dms.diff.connect import endpoint_from_dsn

    bad = endpoint_from_dsn("postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2", "target")
    with pytest.raises(DataDiffError) as info:
        diff_table(pg_pair.source, bad, TableSpec("public", "orders"))
    assert "public.orders" in str(info.value)
    assert "cannot connect to the Neon target" in str(info.value)
    assert "s3cret-pw" not in str(info.value)


def test_sparse_keys_over_the_whole_bigint_range(pg_pair) -> None:  # type: ignore[no-untyped-def]
    keys = [-(2**63), 2**63 - 1, 0, *range(-(2**62), 2**62, 2**55 + 12345)]
    for dsn in (pg_pair.source_dsn, pg_pair.target_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.sparse (id bigint PRIMARY KEY, v text)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO public.sparse VALUES (%s, %s)", [(k, str(k)) for k in keys])
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM public.sparse WHERE id IN (%s, %s)", (-(2**63), keys[10]))
        conn.execute("UPDATE public.sparse SET v = 'x' WHERE id IN (%s, %s)", (2**63 - 1, keys[20]))
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "sparse"), SMALL)
    assert result.missing_in_target == [[-(2**63)], [keys[10]]]
    assert result.different == sorted([[keys[20]], [2**63 - 1]])
    assert result.missing_in_source == []


@pytest.mark.parametrize("key", [("grp",), ("name",)])
def test_non_unique_key_is_refused_not_looped(pg_pair, key: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    for dsn in (pg_pair.source_dsn, pg_pair.target_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.dups (id int PRIMARY KEY, grp int, name text)")
            conn.execute("INSERT INTO public.dups SELECT g, g % 3, 'same' FROM generate_series(1, 300) g")
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("UPDATE public.dups SET grp = 7, name = 'other' WHERE id = 5")
    with pytest.raises(DataDiffError, match=r"public\.dups: key \(.*\) is not unique on the source side"):
        diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "dups", key_columns=key), SMALL)


def test_each_side_reads_one_snapshot(pg_pair) -> None:  # type: ignore[no-untyped-def]
    from airflow_neon_dms.diff.canonical import column_pairs
    from airflow_neon_dms.diff.sides import PostgresSide
    from airflow_neon_dms.schema.catalog_postgres import read_table

    _setup(pg_pair.source_dsn, 100)
    with (
        psycopg.connect(pg_pair.source_dsn) as conn,
        psycopg.connect(pg_pair.source_dsn, autocommit=True) as writer,
    ):
        info = read_table(conn, "public", "orders")
        assert info is not None
        pairs = column_pairs(info, info)
        side = PostgresSide(conn, "public", "orders", pairs, ("id",), row_hash="record", label="source")
        before = side.int_bounds()
        writer.execute("INSERT INTO public.orders (id) VALUES (100000)")
        assert side.int_bounds() == before  # the later insert is not seen by the same walk
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("repeatable read",)
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)


def test_json_source_into_jsonb_target(pg_pair) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_pair.source_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.docs (id int PRIMARY KEY, doc json)")
        conn.execute(
            """INSERT INTO public.docs VALUES (1, '{"b": 1,  "a": [1, 2]}'), (2, NULL), (3, '{"x": 1}')"""
        )
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.docs (id int PRIMARY KEY, doc jsonb)")
        conn.execute(
            """INSERT INTO public.docs VALUES (1, '{"a": [1, 2], "b": 1}'), (2, NULL), (3, '{"x": 2}')"""
        )
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "docs"), SMALL)
    assert result.different == [[3]]

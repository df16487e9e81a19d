"""The demo's shop database and its one-shot fault, on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from airflow_neon_dms.local.demo_faults import install_one_shot_corruption
from airflow_neon_dms.local.sample_data import MIGRATED_TABLES, SampleSize, create_source, create_target
from tests.conftest import PgServer

SMALL = SampleSize(customers=50, products=20, orders=100, page_views=30, audit_log=10)


def test_source_is_loaded_and_deterministic(pg_server: PgServer, make_pg_database: Callable[[], str]) -> None:
    first, second = make_pg_database(), make_pg_database()
    counts = create_source(pg_server.dsn(first), SMALL)
    assert counts == create_source(pg_server.dsn(second), SMALL)
    assert counts["customers"] == 50 and counts["orders"] == 100
    query = "SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o"
    with psycopg.connect(pg_server.dsn(first)) as a, psycopg.connect(pg_server.dsn(second)) as b:
        assert a.execute(query).fetchone() == b.execute(query).fetchone()
        # awkward values really are there
        assert a.execute("SELECT count(*) FROM customers WHERE full_name ~ '[^[:ascii:]]'").fetchone()[0] > 0
        assert a.execute("SELECT count(*) FROM products WHERE thumbnail IS NULL").fetchone()[0] > 0
        # sequences continue after the loaded ids
        assert a.execute("SELECT nextval('customers_id_seq')").fetchone() == (51,)


def test_target_has_the_tables_without_foreign_keys(pg_server: PgServer, pg_database: str) -> None:
    create_target(pg_server.dsn(pg_database))
    with psycopg.connect(pg_server.dsn(pg_database)) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        fks = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()
    assert tables == set(MIGRATED_TABLES)
    assert fks == (0,)


def test_one_shot_corruption_hits_only_the_first_load(pg_server: PgServer, pg_database: str) -> None:
    dsn = pg_server.dsn(pg_database)
    create_target(dsn)
    install_one_shot_corruption(dsn, "orders", "total", every=2)
    rows = [(i, 1, "paid", "2024-01-01T00:00:00Z", 10, None) for i in range(1, 5)]
    with psycopg.connect(dsn) as conn:
        for _ in range(2):
            conn.execute("TRUNCATE orders")
            with conn.cursor().copy("COPY orders FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            totals = [int(r[0]) for r in conn.execute("SELECT total FROM orders ORDER BY id")]
            if _ == 0:
                assert totals == [10, 11, 10, 11]
        assert totals == [10, 10, 10, 10]


def test_command_line_runs_twice_without_harm(
    pg_server: PgServer, make_pg_database: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_neon_dms.local.sample_data import main

    source, target = pg_server.dsn(make_pg_database()), pg_server.dsn(make_pg_database())
    assert main(["--source-dsn", source, "--target-dsn", target]) == 0
    assert "customers: 2000 rows" in capsys.readouterr().out
    assert main(["--source-dsn", source, "--target-dsn", target]) == 0
    assert "nothing to do" in capsys.readouterr().out
    with psycopg.connect(source) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (2000,)

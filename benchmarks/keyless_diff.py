"""Benchmark: the data diff of a table without a key, versus the floor and a client-side multiset.

Two keyless tables of NEON_DMS_BENCH_ROWS rows (default 1,000,000; seven columns of mixed types,
every row value present twice) in two databases on the PostgreSQL server NEON_DMS_BENCH_PG_DSN
(default: an embedded PostgreSQL started for the run). Measured in one run, printed as times
and ratios against:

* the floor: ``SELECT sum(hashtextextended(t::text, 0))`` over each table, both at once;
* the client-side multiset: every row's hash streamed to the client and counted there
  (``collections.Counter``), the obvious way to compare tables without a key.

Cases: identical tables, then 100 changed, 40 deleted and 20 duplicated rows in the target; the
diff must report exactly 140 rows missing on Neon and 120 missing on the source.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from _common import report, server, timed
from psycopg import sql

from airflow_neon_dms.diff.connect import endpoint_from_dsn
from airflow_neon_dms.diff.engine import TableSpec, diff_table
from airflow_neon_dms.local.foreground import stop_on_sigterm

T = TypeVar("T")

ROWS = int(os.environ.get("NEON_DMS_BENCH_ROWS", "1000000"))
CHANGED, DELETED, DUPLICATED = 100, 40, 20

CREATE = """
CREATE TABLE public.views (
    n bigint, name text, amount numeric(12, 2), qty int, created timestamptz, active boolean,
    code varchar(32)
)
"""
FILL = """
INSERT INTO public.views
SELECT g / 2, 'name ' || g / 2, (g / 2 %% 100000) * 0.37, g / 2 %% 1000,
       timestamptz '2020-01-01 00:00+00' + (g / 2) * interval '1 second', g / 2 %% 3 = 0, md5((g / 2)::text)
FROM generate_series(0, %s - 1) g
"""
HASH = "SELECT hashtextextended(t::text, 0) FROM public.views t"


def both(fn: Callable[[str], T], dsns: list[str]) -> list[T]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fn, dsns))


def floor(dsns: list[str]) -> float:
    def scan(dsn: str) -> Any:
        with psycopg.connect(dsn) as conn:
            return conn.execute("SELECT sum(hashtextextended(t::text, 0)) FROM public.views t").fetchone()

    return timed(lambda: both(scan, dsns))[1]


def client_multiset(dsns: list[str]) -> tuple[tuple[int, int], float]:
    """Rows missing on each side, from every row hash counted on the client."""

    def count(dsn: str) -> Counter[int]:
        with psycopg.connect(dsn) as conn, conn.cursor(name="hashes") as cur:
            cur.execute(HASH)
            return Counter(h for (h,) in cur)

    def run() -> tuple[int, int]:
        source, target = both(count, dsns)
        return sum((source - target).values()), sum((target - source).values())

    return timed(run)


def ours(source: str, target: str) -> tuple[Any, float]:
    return timed(
        lambda: diff_table(
            endpoint_from_dsn(source, "source"),
            endpoint_from_dsn(target, "target"),
            TableSpec("public", "views"),
        )
    )


def main() -> int:
    with server() as dsn:
        names = [f"neon_dms_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        with psycopg.connect(dsn, autocommit=True) as admin:
            for name in names:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        dsns = [urlunsplit(urlsplit(dsn)._replace(path="/" + n)) for n in names]
        source, target = dsns
        try:
            print(f"Loading {ROWS:,} rows (each row value twice) into two databases ...", flush=True)
            for d in dsns:
                with psycopg.connect(d, autocommit=True) as conn:
                    conn.execute(CREATE)
                    conn.execute(FILL, (ROWS,))
                    conn.execute("VACUUM ANALYZE public.views")
            floor(dsns)  # warm the caches once for every contender
            floor_s = floor(dsns)
            naive, naive_s = client_multiset(dsns)
            assert naive == (0, 0), naive
            mine, mine_s = ours(source, target)
            assert mine.identical and mine.compared_as == "multiset", mine.to_dict()
            report(
                f"Identical keyless tables ({ROWS:,} rows each)",
                [
                    ("floor (hash scan, both)", floor_s),
                    ("client-side multiset", naive_s),
                    ("neon-dms diff", mine_s),
                ],
                {"floor": floor_s, "client": naive_s},
            )

            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute("CREATE INDEX ON public.views (n)")  # only to make the changes quick
                picks = [n * (ROWS // 2) // 200 for n in range(1, 1 + CHANGED + DELETED + DUPLICATED)]
                changed = picks[:CHANGED]
                deleted = picks[CHANGED : CHANGED + DELETED]
                duplicated = picks[CHANGED + DELETED :]
                one = "(SELECT ctid FROM public.views WHERE n = %s LIMIT 1)"
                for n in changed:
                    conn.execute("UPDATE public.views SET name = name || '!' WHERE ctid = " + one, (n,))  # noqa: S608
                for n in deleted:
                    conn.execute("DELETE FROM public.views WHERE ctid = " + one, (n,))  # noqa: S608
                for n in duplicated:
                    conn.execute(
                        "INSERT INTO public.views SELECT * FROM public.views WHERE n = %s LIMIT 1", (n,)
                    )
            floor_d = floor(dsns)
            naive_d, naive_d_s = client_multiset(dsns)
            mine, mine_d = ours(source, target)
            expected = (CHANGED + DELETED, CHANGED + DUPLICATED)
            assert naive_d == expected, naive_d
            assert (mine.missing_in_target_count, mine.missing_in_source_count) == expected, mine.to_dict()
            report(
                f"{CHANGED} changed, {DELETED} deleted, {DUPLICATED} duplicated rows in the target",
                [
                    ("floor (hash scan, both)", floor_d),
                    ("client-side multiset", naive_d_s),
                    ("neon-dms diff", mine_d),
                ],
                {"floor": floor_d, "client": naive_d_s},
            )
            print(
                f"\nMeasured: identical {mine_s / floor_s:.2f}x floor, {mine_s / naive_s:.2f}x client-side; "
                f"differing {mine_d / floor_d:.2f}x floor, {mine_d / naive_d_s:.2f}x client-side."
            )
            print(
                f"Ours reported exactly {expected[0]} rows missing on Neon and {expected[1]} on the source."
            )
        finally:
            with psycopg.connect(dsn, autocommit=True) as admin:
                for name in names:
                    admin.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                    )
    return 0


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(main())

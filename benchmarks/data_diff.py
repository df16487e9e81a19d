"""Benchmark: our data diff versus reladiff 0.6.0 and versus the floor (one hash scan per table).

Two tables of NEON_DMS_BENCH_ROWS rows (default 2,000,000; a bigint key and seven columns of mixed
types) in two databases on the PostgreSQL server NEON_DMS_BENCH_PG_DSN (default: an embedded
PostgreSQL started for the run). Measured in one run, and printed as times and ratios:

1. identical tables: ours, reladiff (all columns compared), and the floor, i.e.
   ``SELECT sum(hashtextextended(t::text, 0))`` over each table (both tables at once, as the
   diffs also read both sides at once);
2. the same after 100 updates and 40 deletes at scattered keys in the target; ours must report
   exactly those keys.

Needs the ``bench`` extra: ``pip install -c constraints.txt -e '.[bench]'``.
"""

from __future__ import annotations

import os
import random
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from _common import report, server, timed, with_database
from psycopg import sql

from airflow_neon_dms.diff.connect import endpoint_from_dsn
from airflow_neon_dms.diff.engine import DiffOptions, TableSpec, diff_table
from airflow_neon_dms.local.foreground import stop_on_sigterm

ROWS = int(os.environ.get("NEON_DMS_BENCH_ROWS", "2000000"))
UPDATED, DELETED = 100, 40
COLUMNS = ("name", "amount", "qty", "created", "active", "ratio", "code")

CREATE = """
CREATE TABLE public.bench (
    id bigint PRIMARY KEY, name text, amount numeric(12, 2), qty int, created timestamptz,
    active boolean, ratio double precision, code varchar(32)
)
"""
FILL = """
INSERT INTO public.bench
SELECT g, 'name ' || g, (g %% 100000) * 0.37, g %% 1000,
       timestamptz '2020-01-01 00:00+00' + g * interval '1 second', g %% 3 = 0, g / 13.0, md5(g::text)
FROM generate_series(1, %s) g
"""


def floor(dsns: list[str]) -> float:
    def scan(dsn: str) -> Any:
        with psycopg.connect(dsn) as conn:
            return conn.execute("SELECT sum(hashtextextended(t::text, 0)) FROM public.bench t").fetchone()

    with ThreadPoolExecutor(max_workers=2) as pool:
        _, seconds = timed(lambda: list(pool.map(scan, dsns)))
    return seconds


def reladiff_run(source: str, target: str) -> tuple[set[int], float]:
    from reladiff import connect_to_table, diff_tables

    def run() -> set[int]:
        t1 = connect_to_table(source, ("public", "bench"), "id")
        t2 = connect_to_table(target, ("public", "bench"), "id")
        return {int(row[0]) for _sign, row in diff_tables(t1, t2, extra_columns=COLUMNS)}

    return timed(run)


def ours(source: str, target: str, native_hash: str = "auto", key: tuple[str, ...] = ()) -> tuple[Any, float]:
    options = DiffOptions(native_hash=native_hash)  # type: ignore[arg-type]
    return timed(
        lambda: diff_table(
            endpoint_from_dsn(source, "source"),
            endpoint_from_dsn(target, "target"),
            TableSpec("public", "bench", key_columns=key),
            options,
        )
    )


def main() -> int:
    with server() as dsn:
        names = [f"neon_dms_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        with psycopg.connect(dsn, autocommit=True) as admin:
            for name in names:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        source, target = (with_database(dsn, n) for n in names)
        try:
            print(f"Loading {ROWS:,} rows into two databases ...", flush=True)
            for d in (source, target):
                with psycopg.connect(d, autocommit=True) as conn:
                    conn.execute(CREATE)
                    conn.execute(FILL, (ROWS,))
                    conn.execute("VACUUM ANALYZE public.bench")
            floor([source, target])  # warm the caches once for every contender
            floor_s = floor([source, target])
            mine, mine_s = ours(source, target)
            assert mine.identical, mine.to_dict()
            text_mode, text_s = ours(source, target, "text")
            assert text_mode.identical
            theirs, theirs_s = reladiff_run(source, target)
            assert not theirs, f"reladiff found {len(theirs)} differences in identical tables"
            report(
                f"Identical tables ({ROWS:,} rows each)",
                [
                    ("floor (hash scan, both)", floor_s),
                    ("reladiff 0.6.0", theirs_s),
                    ("neon-dms diff, text hash", text_s),
                    ("neon-dms diff", mine_s),
                ],
                {"reladiff": theirs_s, "floor": floor_s},
            )
            ratio_identical = mine_s / theirs_s

            rng = random.Random(5)
            keys = rng.sample(range(1, ROWS + 1), UPDATED + DELETED)
            updated, deleted = sorted(keys[:UPDATED]), sorted(keys[UPDATED:])
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute("UPDATE public.bench SET name = name || '!' WHERE id = ANY(%s)", (updated,))
                conn.execute("DELETE FROM public.bench WHERE id = ANY(%s)", (deleted,))
            mine, mine_d = ours(source, target)
            assert mine.missing_in_target == [[k] for k in deleted], mine.missing_in_target
            assert mine.different == [[k] for k in updated], mine.different
            assert mine.missing_in_source == []
            composite, composite_d = ours(source, target, key=("id", "code"))
            assert composite.missing_in_target_count == DELETED
            assert composite.different_count == UPDATED
            theirs, theirs_d = reladiff_run(source, target)
            assert theirs == set(updated) | set(deleted), len(theirs)
            floor_d = floor([source, target])
            report(
                f"{UPDATED} updated + {DELETED} deleted rows at scattered keys in the target",
                [
                    ("floor (hash scan, both)", floor_d),
                    ("reladiff 0.6.0", theirs_d),
                    ("neon-dms diff, key (id, code)", composite_d),
                    ("neon-dms diff", mine_d),
                ],
                {"reladiff": theirs_d, "floor": floor_d},
            )
            got_identical = f"{ratio_identical:.2f}x reladiff, {mine_s / floor_s:.2f}x floor"
            got_scattered = f"{mine_d / theirs_d:.2f}x reladiff, {mine_d / floor_d:.2f}x floor"
            print("\nTargets: identical <= 0.50x reladiff, scattered <= 0.35x reladiff, both <= 2x floor")
            print(f"Measured: identical {got_identical}; scattered {got_scattered}")
            print(f"Ours reported exactly the {UPDATED} updated and {DELETED} deleted keys.")
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

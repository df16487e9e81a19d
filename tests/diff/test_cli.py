"""``neon-dms diff``: JSON summary and exit codes 0 (identical), 1 (different), 2 (error)."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from airflow_neon_dms.cli import main


def _make(dsn: str, rows: int, extra: str = "") -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (a int, b text, v numeric, PRIMARY KEY (a, b))")
        conn.execute(
            "INSERT INTO public.t SELECT g, 'k' || g, g * 0.5 FROM generate_series(1, %s) g", (rows,)
        )
        if extra:
            conn.execute(extra)


def test_identical_exits_0_with_summary(pg_pair, capsys) -> None:  # type: ignore[no-untyped-def]
    _make(pg_pair.source_dsn, 200)
    _make(pg_pair.target_dsn, 200)
    code = main(["diff", pg_pair.source_dsn, pg_pair.target_dsn, "--table", "public.t"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["identical"] is True
    assert (out["rows_source"], out["rows_target"]) == (200, 200)
    assert (out["key_columns"], out["compared_as"]) == (["a", "b"], "key")
    assert isinstance(out["seconds"], float)


def test_different_exits_1_with_exact_keys(pg_pair, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _make(pg_pair.source_dsn, 200)
    _make(pg_pair.target_dsn, 200, "DELETE FROM public.t WHERE a = 7; UPDATE public.t SET v = 0 WHERE a = 9")
    monkeypatch.setenv("NEON_DMS_TEST_TARGET", pg_pair.target_dsn)
    code = main(["diff", pg_pair.source_dsn, "env:NEON_DMS_TEST_TARGET", "--table", "public.t", "--key", "a"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["key_columns"] == ["a"]
    assert out["missing_in_target"] == [[7]]
    assert out["different"] == [[9]]
    assert (out["missing_in_target_count"], out["missing_in_source_count"], out["different_count"]) == (
        1,
        0,
        1,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "public.nope"], "public.nope does not exist on the source"),
        (["--table", "nodot"], "is not SCHEMA.TABLE"),
        (["--table", "public.t", "--key", "zz"], "key column 'zz' is not on both sides"),
    ],
)
def test_errors_exit_2_and_name_the_table(pg_pair, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    _make(pg_pair.source_dsn, 5)
    _make(pg_pair.target_dsn, 5)
    code = main(["diff", pg_pair.source_dsn, pg_pair.target_dsn, *args])
    captured = capsys.readouterr()
    assert code == 2
    assert message in json.loads(captured.out)["error"]
    assert message in captured.err


def test_console_entry_point_and_unreachable_server(capsys) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_neon_dms.cli",
            "diff",
            "mysql://root:hunter2@127.0.0.1:1/db?connect_timeout=2",
            "postgresql://u:pw-secret@127.0.0.1:1/x?connect_timeout=2",
            "--table",
            "db.t",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "db.t" in proc.stderr and "cannot connect to the source" in proc.stderr
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "pw-secret" not in proc.stdout + proc.stderr


def test_keyless_table_summary_says_multiset(pg_pair, capsys) -> None:  # type: ignore[no-untyped-def]
    for dsn in (pg_pair.source_dsn, pg_pair.target_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.log (at int, msg text)")
            conn.execute("INSERT INTO public.log SELECT g % 10, 'm' FROM generate_series(1, 100) g")
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM public.log WHERE ctid = (SELECT ctid FROM public.log WHERE at = 3 LIMIT 1)")
    code = main(["diff", pg_pair.source_dsn, pg_pair.target_dsn, "--table", "public.log"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (out["compared_as"], out["key_columns"]) == ("multiset", [])
    assert (out["missing_in_target"], out["missing_in_target_count"]) == ([[3, "m"]], 1)
    assert (out["rows_source"], out["rows_target"]) == (100, 99)

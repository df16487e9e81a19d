"""A column on one side only makes a table differ, unless it is named in ``ignore_columns``."""

from __future__ import annotations

import json

import psycopg
import pytest

from airflow_neon_dms.cli import main
from airflow_neon_dms.diff.engine import TableSpec, diff_table
from airflow_neon_dms.diff.report import build_report, parse_table
from airflow_neon_dms.exceptions import DataDiffError


def _source_only_secret(pg_pair) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_pair.source_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY, v text, secret text)")
        conn.execute("INSERT INTO public.t SELECT g, 'v' || g, 's' || g FROM generate_series(1, 50) g")
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO public.t SELECT g, 'v' || g FROM generate_series(1, 50) g")


def test_column_only_on_the_source_makes_the_table_differ(pg_pair) -> None:  # type: ignore[no-untyped-def]
    _source_only_secret(pg_pair)
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "t"))
    assert result.rows_match  # every row of the compared columns is equal ...
    assert result.only_in_source_columns == ["secret"]
    assert not result.identical  # ... but Neon lacks a column
    report = build_report([result])
    assert report["identical"] is False and report["tables_to_reload"] == []  # a reload cannot fix it
    assert report["column_differences"] == [
        {
            "schema": "public",
            "table": "t",
            "target_schema": "public",
            "target_table": "t",
            "only_in_source_columns": ["secret"],
            "only_in_target_columns": [],
        }
    ]
    from airflow_neon_dms.diff.report import differences

    assert differences(report) == [
        "public.t has column(s) only on the source: secret (name them in ignore_columns to skip them)"
    ]


def test_column_only_on_neon_makes_the_table_differ(pg_pair) -> None:  # type: ignore[no-untyped-def]
    for dsn, extra in ((pg_pair.source_dsn, ""), (pg_pair.target_dsn, ", extra int")):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE public.t (id int PRIMARY KEY, v text{extra})")
            conn.execute("INSERT INTO public.t (id, v) SELECT g, 'v' || g FROM generate_series(1, 50) g")
    result = diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "t"))
    assert (result.only_in_target_columns, result.identical) == (["extra"], False)


def test_ignored_columns_are_left_out_and_reported(pg_pair) -> None:  # type: ignore[no-untyped-def]
    _source_only_secret(pg_pair)
    with psycopg.connect(pg_pair.target_dsn, autocommit=True) as conn:
        conn.execute("UPDATE public.t SET v = 'changed' WHERE id = 3")
    spec = TableSpec("public", "t", ignore_columns=("secret", "v", "no_such_column"))
    result = diff_table(pg_pair.source, pg_pair.target, spec)
    assert result.identical
    assert result.ignored_columns == ["v", "secret"]  # those found, in table order
    assert result.compared_columns == ["id"]
    assert result.only_in_source_columns == []
    assert build_report([result])["identical"] is True
    only_secret = diff_table(
        pg_pair.source, pg_pair.target, TableSpec("public", "t", ignore_columns=("secret",))
    )
    assert (only_secret.different, only_secret.identical) == ([[3]], False)  # v is still compared


def test_a_key_column_cannot_be_ignored(pg_pair) -> None:  # type: ignore[no-untyped-def]
    _source_only_secret(pg_pair)
    with pytest.raises(DataDiffError, match=r"public\.t: key column\(s\) 'id' cannot be ignored"):
        diff_table(pg_pair.source, pg_pair.target, TableSpec("public", "t", ignore_columns=("id",)))


def test_parse_table_carries_ignore_columns() -> None:
    assert parse_table("s.t", (), ["a"]).ignore_columns == ("a",)
    assert parse_table({"schema": "s", "table": "t", "ignore_columns": ["b"]}, (), ["a"]).ignore_columns == (
        "b",
    )


def test_cli_exits_1_on_a_one_sided_column_and_0_when_it_is_ignored(pg_pair, capsys) -> None:  # type: ignore[no-untyped-def]
    _source_only_secret(pg_pair)
    code = main(["diff", pg_pair.source_dsn, pg_pair.target_dsn, "--table", "public.t"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (out["identical"], out["only_in_source_columns"], out["different_count"]) == (False, ["secret"], 0)

    args = [
        "diff",
        pg_pair.source_dsn,
        pg_pair.target_dsn,
        "--table",
        "public.t",
        "--ignore-column",
        "secret",
    ]
    code = main(args)
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["identical"], out["ignored_columns"], out["only_in_source_columns"]) == (True, ["secret"], [])

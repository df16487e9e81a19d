"""The test_decoding parser: each line form of contrib/test_decoding, and a round trip."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_neon_dms.local.cdc.errors import DecodingError
from airflow_neon_dms.local.cdc.lsn import format_lsn, parse_lsn
from airflow_neon_dms.local.cdc.test_decoding import (
    _SHAPES,
    Begin,
    ColumnValue,
    Commit,
    Message,
    RowChange,
    Truncate,
    _general_table_line,
    group_transactions,
    parse_commit_time,
    parse_line,
)

UTC = timezone.utc


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("BEGIN 754", Begin(754)),
        ("BEGIN", Begin(None)),
        ("COMMIT 754", Commit(754, None)),
        (
            "COMMIT 754 (at 2026-11-30 10:15:05.830613+00)",
            Commit(754, datetime(2026, 11, 30, 10, 15, 5, 830613, tzinfo=UTC)),
        ),
        (
            "table public.t: INSERT: id[integer]:1 name[text]:'a''b'",
            RowChange(
                "public",
                "t",
                "INSERT",
                (ColumnValue("id", "integer", "1"), ColumnValue("name", "text", "a'b")),
            ),
        ),
        (
            "table public.t: INSERT: id[integer]:2 name[text]:null n[numeric]:NaN "
            "f[double precision]:-1.5e+30",
            RowChange(
                "public",
                "t",
                "INSERT",
                (
                    ColumnValue("id", "integer", "2"),
                    ColumnValue("name", "text", None),
                    ColumnValue("n", "numeric", "NaN"),
                    ColumnValue("f", "double precision", "-1.5e+30"),
                ),
            ),
        ),
        (
            "table public.t: INSERT: arr[integer[]]:'{1,2}' b[bytea]:'\\x0102' ok[boolean]:true "
            "bits[bit varying]:B'0101' ts[timestamp with time zone]:'2026-11-30 10:15:05+00'",
            RowChange(
                "public",
                "t",
                "INSERT",
                (
                    ColumnValue("arr", "integer[]", "{1,2}"),
                    ColumnValue("b", "bytea", "\\x0102"),
                    ColumnValue("ok", "boolean", "true"),
                    ColumnValue("bits", "bit varying", "0101"),
                    ColumnValue("ts", "timestamp with time zone", "2026-11-30 10:15:05+00"),
                ),
            ),
        ),
        (
            "table public.t: UPDATE: id[integer]:1 doc[text]:unchanged-toast-datum",
            RowChange(
                "public",
                "t",
                "UPDATE",
                (ColumnValue("id", "integer", "1"), ColumnValue("doc", "text", None, unchanged_toast=True)),
            ),
        ),
        (
            "table public.t: UPDATE: old-key: id[integer]:2 new-tuple: id[integer]:3 name[text]:null",
            RowChange(
                "public",
                "t",
                "UPDATE",
                (ColumnValue("id", "integer", "3"), ColumnValue("name", "text", None)),
                (ColumnValue("id", "integer", "2"),),
            ),
        ),
        (
            "table public.t: DELETE: id[integer]:3",
            RowChange("public", "t", "DELETE", None, (ColumnValue("id", "integer", "3"),)),
        ),
        ("table public.t: DELETE: (no-tuple-data)", RowChange("public", "t", "DELETE", None, None)),
        ("table public.z: INSERT:", RowChange("public", "z", "INSERT", ())),
        ("table public.t: INSERT: (no-tuple-data)", RowChange("public", "t", "INSERT", None, None)),
        (
            'table "My Schema"."a.b ""c""": INSERT: "a b"[integer]:1 "q""x"[text]:\' new-tuple: \'',
            RowChange(
                "My Schema",
                'a.b "c"',
                "INSERT",
                (ColumnValue("a b", "integer", "1"), ColumnValue('q"x', "text", " new-tuple: ")),
            ),
        ),
        (
            "table public.t: INSERT: v[public.\"odd]:type\"]:'x' w[character varying[]]:'{\"a b\",c}'",
            RowChange(
                "public",
                "t",
                "INSERT",
                (
                    ColumnValue("v", 'public."odd]:type"', "x"),
                    ColumnValue("w", "character varying[]", '{"a b",c}'),
                ),
            ),
        ),
        ("table public.t, public.u: TRUNCATE: (no-flags)", Truncate((("public", "t"), ("public", "u")))),
        ("table public.t: TRUNCATE: restart_seqs", Truncate((("public", "t"),), restart_seqs=True)),
        (
            'table public.t, "S"."U": TRUNCATE: restart_seqs cascade',
            Truncate((("public", "t"), ("S", "U")), restart_seqs=True, cascade=True),
        ),
        (
            "message: transactional: 1 prefix: p, sz: 3 content:abc",
            Message("message: transactional: 1 prefix: p, sz: 3 content:abc"),
        ),
    ],
)
def test_parse_line(line: str, expected: object) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "table public.t: MERGE: id[integer]:1",
        "table public.t: INSERT: id[integer]:'unterminated",
        "table public.t: INSERT: id[integer:1",
        "table t: INSERT: id[integer]:1",
        "table public.t, public.u: INSERT: id[integer]:1",
        "table public.t: TRUNCATE: sideways",
        "something else",
    ],
)
def test_parse_line_rejects_what_it_does_not_know(line: str) -> None:
    with pytest.raises(DecodingError, match="test_decoding"):
        parse_line(line)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30 10:15:05+00", datetime(2026, 11, 30, 10, 15, 5, tzinfo=UTC)),
        ("2026-11-30 10:15:05.5+00", datetime(2026, 11, 30, 10, 15, 5, 500000, tzinfo=UTC)),
        (
            "2026-11-30 15:45:05.000001+05:30",
            datetime(2026, 11, 30, 15, 45, 5, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2026-11-30 02:15:05-08", datetime(2026, 11, 30, 10, 15, 5, tzinfo=UTC)),
    ],
)
def test_commit_time(text: str, expected: datetime) -> None:
    assert parse_commit_time(text) == expected


def test_lsn_round_trip() -> None:
    assert parse_lsn("0/16F8248") == 0x16F8248
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("16/B374D848")) == "16/B374D848"
    with pytest.raises(ValueError, match="LSN"):
        parse_lsn("16-B374")


def test_group_transactions_keeps_whole_transactions_in_order() -> None:
    rows = [
        ("0/10", "7", "BEGIN 7"),
        ("0/10", "7", "table public.t: INSERT: id[integer]:1"),
        ("0/20", "7", "COMMIT 7 (at 2026-01-01 00:00:00+00)"),
        ("0/20", "8", "BEGIN 8"),
        ("0/20", "8", "table public.t: DELETE: id[integer]:1"),
        ("0/30", "8", "COMMIT 8"),
        ("0/30", "9", "BEGIN 9"),
        ("0/30", "9", "table public.t: INSERT: id[integer]:2"),  # the read stopped inside xid 9
    ]
    txns = group_transactions(rows)
    assert [(t.xid, t.commit_lsn, len(t.changes)) for t in txns] == [(7, 0x20, 1), (8, 0x30, 1)]
    assert txns[0].commit_time == datetime(2026, 1, 1, tzinfo=UTC)


# --- round trip: render as test_decoding does, parse back ---------------------------------------
_KEYWORDS = {"user", "order", "table", "select", "null", "true", "false"}


def quote_identifier(name: str) -> str:
    """What PostgreSQL's quote_identifier prints (keywords approximated by a small list)."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def literal(type_name: str, value: str | None) -> str:
    """What test_decoding's print_literal prints for a value of the given type."""
    if value is None:
        return "null"
    if type_name in ("integer", "numeric"):
        return value
    return "'" + value.replace("'", "''") + "'"


names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
values = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=20))
numbers = st.one_of(st.none(), st.integers().map(str), st.sampled_from(["NaN", "1.50", "-0.001"]))
columns = st.lists(
    st.one_of(
        st.tuples(names, st.just("text"), values),
        st.tuples(names, st.sampled_from(["integer", "numeric"]), numbers),
        st.tuples(names, st.just("character varying[]"), values),
    ),
    min_size=1,
    max_size=6,
)


@given(schema=names, table=names, cols=columns, old=columns)
def test_update_round_trip(
    schema: str, table: str, cols: list[tuple[str, str, str | None]], old: list[tuple[str, str, str | None]]
) -> None:
    def render(tuple_: list[tuple[str, str, str | None]]) -> str:
        return "".join(f" {quote_identifier(n)}[{t}]:{literal(t, v)}" for n, t, v in tuple_)

    name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    line = f"table {name}: UPDATE: old-key:{render(old)} new-tuple:{render(cols)}"
    change = parse_line(line)
    assert isinstance(change, RowChange)
    assert (change.schema, change.table, change.kind) == (schema, table, "UPDATE")
    assert [(c.name, c.type_name, c.value) for c in change.new or ()] == cols
    assert [(c.name, c.type_name, c.value) for c in change.old_key or ()] == old


# --- learned shapes: a second line of the same shape parses as the general parser does ---------
def _general(line: str) -> object:
    return _general_table_line(line)


@given(schema=names, table=names, cols=columns, kind=st.sampled_from(["INSERT", "DELETE"]), data=st.data())
def test_learned_shape_parses_as_the_general_parser(
    schema: str, table: str, cols: list[tuple[str, str, str | None]], kind: str, data: st.DataObject
) -> None:
    """The first line teaches its shape; a line with the same columns and other values (any
    quoting, NULLs, text that looks like the line's own markup) is parsed by that shape, with the
    general parser's result and a layout shared with the first."""

    def render(tuple_: list[tuple[str, str, str | None]]) -> str:
        return "".join(f" {quote_identifier(n)}[{t}]:{literal(t, v)}" for n, t, v in tuple_)

    teach = [(n, t, data.draw(numbers if t in ("integer", "numeric") else values)) for n, t, _ in cols]
    name = f"table {quote_identifier(schema)}.{quote_identifier(table)}: {kind}:"
    first = parse_line(name + render(teach))
    line = name + render(cols)
    second = parse_line(line)
    assert second == _general(line)
    assert isinstance(first, RowChange) and isinstance(second, RowChange)
    if first.layout is not None:  # learned: the second line goes through the shape
        assert _SHAPES.parse(line) == second
        assert second.layout is first.layout


def test_learned_shapes_give_every_change_of_a_shape_one_layout() -> None:
    lines = [f"table public.s: INSERT: id[integer]:{i} name[text]:'n''{i}' note[text]:null" for i in range(3)]
    changes = [parse_line(line) for line in lines]
    assert all(isinstance(c, RowChange) for c in changes)
    layouts = {id(c.layout) for c in changes if isinstance(c, RowChange)}
    assert len(layouts) == 1 and changes[2] == _general(lines[2])
    assert isinstance(changes[2], RowChange) and changes[2].new == (
        ColumnValue("id", "integer", "2"),
        ColumnValue("name", "text", "n'2"),
        ColumnValue("note", "text", None),
    )
    # An unchanged TOAST value: the same result as the general parser, and no layout to plan by.
    parse_line("table public.s: UPDATE: id[integer]:1 doc[text]:'x'")
    toast = parse_line("table public.s: UPDATE: id[integer]:1 doc[text]:unchanged-toast-datum")
    assert isinstance(toast, RowChange) and toast.layout is None
    assert toast == _general("table public.s: UPDATE: id[integer]:1 doc[text]:unchanged-toast-datum")
    # Another column set of the same table is another shape.
    other = parse_line("table public.s: INSERT: id[integer]:9")
    assert isinstance(other, RowChange) and other.layout is not changes[0].layout  # type: ignore[union-attr]

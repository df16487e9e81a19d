"""Table references in their dict and string forms."""

from __future__ import annotations

import pytest

from airflow_neon_dms.dms.table_names import TableRef, parse_tables
from airflow_neon_dms.exceptions import NeonConfigError


def test_both_forms_and_duplicates() -> None:
    tables = parse_tables([{"schema": "public", "table": "orders"}, "public.orders", "shop.items"])
    assert tables == [TableRef("public", "orders"), TableRef("shop", "items")]
    assert [t.as_dict() for t in tables][1] == {"schema": "shop", "table": "items"}


def test_single_string_and_none() -> None:
    assert parse_tables("public.a") == [TableRef("public", "a")]
    assert parse_tables(None) == []


@pytest.mark.parametrize("bad", ["orders", ".orders", {"schema": "public"}, {"schema": "", "table": "t"}, 42])
def test_bad_table_names_the_value_and_fix(bad: object) -> None:
    with pytest.raises(NeonConfigError, match="schema"):
        TableRef.parse(bad)  # type: ignore[arg-type]


def test_from_statistics() -> None:
    assert str(TableRef.from_statistics({"SchemaName": "public", "TableName": "t"})) == "public.t"

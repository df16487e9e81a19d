"""MySQL identifier quoting."""

from __future__ import annotations

import pytest

from airflow_neon_dms.identifiers import mysql_identifier, mysql_qualified


def test_backticks_are_doubled() -> None:
    assert mysql_identifier("we`ird") == "`we``ird`"
    assert mysql_qualified("s", "t") == "`s`.`t`"


@pytest.mark.parametrize("bad", ["", "a\x00b"])
def test_bad_identifiers(bad: str) -> None:
    with pytest.raises(ValueError, match="MySQL identifier"):
        mysql_identifier(bad)

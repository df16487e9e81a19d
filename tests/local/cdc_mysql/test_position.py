"""Binlog positions in DMS's CdcStartPosition form for MySQL (``file:offset``)."""

from __future__ import annotations

import pytest

from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition


def test_the_dms_example_round_trips() -> None:
    position = BinlogPosition.parse("mysql-bin-changelog.000024:373")
    assert position == BinlogPosition("mysql-bin-changelog.000024", 373)
    assert str(position) == "mysql-bin-changelog.000024:373"


def test_positions_order_by_file_number_then_offset() -> None:
    early = BinlogPosition("binlog.000009", 9_000)
    assert early < BinlogPosition("binlog.000010", 4)
    assert early < BinlogPosition("binlog.000009", 9_001)
    assert early <= BinlogPosition("binlog.000009", 9_000)
    assert not BinlogPosition("binlog.000010", 4) <= early


@pytest.mark.parametrize("text", ["", "binlog.000001", "binlog:12", "binlog.000001:x", "2018-03-08T12:12:12"])
def test_a_bad_position_names_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="of the form <binlog file>:<offset>"):
        BinlogPosition.parse(text)

"""CDC readiness of a MySQL/MariaDB source: the test server (binlog off, only read) and a private one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from airflow_neon_dms.local.cdc_mysql.binlog_reader import BinlogChangeReader, BinlogReadError
from airflow_neon_dms.local.cdc_mysql.position import BinlogPosition
from airflow_neon_dms.local.cdc_mysql.readiness import (
    SourceNotReadyForCdc,
    binlog_findings,
    check_cdc_readiness,
    require_cdc_ready,
)
from airflow_neon_dms.local.cdc_mysql.snapshot import BinlogOff, current_position
from airflow_neon_dms.local.databases import DatabaseAddress
from tests.conftest import MySqlServer

READY = {
    "log_bin": "ON",
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
    "server_id": "1",
    "expire_logs_days": "1.000000",
    "binlog_expire_logs_seconds": "86400",
    "version": "10.11.19-MariaDB-log",
}
ALL = ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"]


def _address(server: MySqlServer, user: str | None = None, password: str | None = None) -> DatabaseAddress:
    return DatabaseAddress(
        "mariadb", server.host, server.port, user or server.user,
        server.password if password is None else password,
    )  # fmt: skip


def test_server_without_binlog_is_refused_with_the_setting_and_fix(mysql_server: MySqlServer) -> None:
    findings = check_cdc_readiness(_address(mysql_server))  # reads variables and grants only
    blockers = {f.setting: f for f in findings if f.blocker}
    if "log_bin" not in blockers:
        pytest.skip(f"the MySQL server at {mysql_server.host}:{mysql_server.port} has the binary log on")
    assert blockers["log_bin"].actual == "OFF"
    with pytest.raises(SourceNotReadyForCdc) as raised:
        require_cdc_ready(_address(mysql_server), "source-endpoint-1")
    message = str(raised.value)
    assert message.startswith("MySQL source source-endpoint-1 is not ready for change data capture")
    assert "log_bin is OFF on the MySQL source; AWS DMS CDC needs ON. Set log-bin=" in message
    conn = mysql_server.connect()
    try:
        with pytest.raises(BinlogOff, match="log_bin=OFF"):
            current_position(conn)
    finally:
        conn.close()


def test_private_binlog_server_is_ready(binlog_server: MySqlServer) -> None:
    assert require_cdc_ready(_address(binlog_server), "source") == []


@pytest.fixture
def limited_user(binlog_server: MySqlServer) -> Iterator[str]:
    """A user of the private server with SELECT only; dropped after the test."""
    name = f"cdc_{uuid.uuid4().hex[:8]}"
    conn = binlog_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY 'limited-secret'", (name,))
            cur.execute("GRANT SELECT ON *.* TO %s@'%%'", (name,))
        yield name
        with conn.cursor() as cur:
            cur.execute("DROP USER %s@'%%'", (name,))
    finally:
        conn.close()


def test_missing_replication_privileges_are_named_with_the_grant(
    binlog_server: MySqlServer, limited_user: str
) -> None:
    address = _address(binlog_server, limited_user, "limited-secret")
    with pytest.raises(SourceNotReadyForCdc) as raised:
        require_cdc_ready(address, "source")
    assert [f.setting for f in raised.value.findings] == [
        "privilege REPLICATION CLIENT (BINLOG MONITOR)",
        "privilege REPLICATION SLAVE",
    ]
    assert "GRANT REPLICATION SLAVE ON *.* TO the endpoint's user." in str(raised.value)
    assert "limited-secret" not in str(raised.value)
    conn = binlog_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO %s@'%%'", (limited_user,))
    finally:
        conn.close()
    assert require_cdc_ready(address, "source") == []


def test_a_purged_start_position_names_the_retention_fix(binlog_server: MySqlServer) -> None:
    reader = BinlogChangeReader(_address(binlog_server), {}, BinlogPosition("binlog.999999", 4))
    with pytest.raises(BinlogReadError, match=r"binlog\.999999:4 .*raise the binlog retention"):
        next(reader.transactions())


@pytest.mark.parametrize(
    ("changed", "setting", "actual", "required"),
    [
        ({"binlog_format": "MIXED"}, "binlog_format", "MIXED", "ROW"),
        ({"binlog_row_image": "MINIMAL"}, "binlog_row_image", "MINIMAL", "FULL"),
        ({"server_id": "0"}, "server_id", "0", "1 or greater"),
        (
            {"binlog_expire_logs_seconds": "3600", "expire_logs_days": "0.041667"},
            "binlog retention",
            "3600 seconds",
            "at least 1 day (expire_logs_days=1)",
        ),
        (
            {"binlog_row_metadata": "MINIMAL"},
            "binlog_row_metadata",
            "MINIMAL",
            "FULL (MariaDB 10.5+, MySQL 8.0.14+)",
        ),
    ],
)
def test_each_setting_dms_needs_is_checked(
    changed: dict[str, str], setting: str, actual: str, required: str
) -> None:
    findings = binlog_findings({**READY, **changed}, ALL)
    assert [(f.setting, f.actual, f.required, f.blocker) for f in findings] == [
        (setting, actual, required, True)
    ]


def test_binlog_row_metadata_is_the_local_dms_requirement_not_aws() -> None:
    (finding,) = binlog_findings({**READY, "binlog_row_metadata": "NO_LOG"}, ALL)
    assert finding.required_by == "local DMS"
    assert "AWS DMS itself does not need it" in finding.message


def test_logs_never_purged_are_a_warning() -> None:
    findings = binlog_findings({**READY, "binlog_expire_logs_seconds": "0", "expire_logs_days": "0"}, ALL)
    assert [(f.setting, f.blocker) for f in findings] == [("expire_logs_days", False)]


def test_mysql_five_seven_retention_in_days_is_read() -> None:
    variables = {k: v for k, v in READY.items() if k != "binlog_expire_logs_seconds"}
    assert binlog_findings({**variables, "expire_logs_days": "7", "version": "5.7.44-log"}, ALL) == []


@pytest.mark.parametrize(
    ("grants", "missing"),
    [
        (["GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `dms`@`%`"], []),
        (["GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `dms`@`%`"], []),
        (["GRANT REPLICATION SLAVE ON *.* TO `dms`@`%`"], ["privilege REPLICATION CLIENT (BINLOG MONITOR)"]),
        (
            ["GRANT USAGE ON *.* TO `dms`@`%`", "GRANT ALL PRIVILEGES ON `shop`.* TO `dms`@`%`"],
            ["privilege REPLICATION CLIENT (BINLOG MONITOR)", "privilege REPLICATION SLAVE"],
        ),
    ],
)
def test_replication_privileges_must_be_global(grants: list[str], missing: list[str]) -> None:
    assert [f.setting for f in binlog_findings(READY, grants)] == missing

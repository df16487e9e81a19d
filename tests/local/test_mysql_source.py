"""A MySQL/MariaDB source loaded into PostgreSQL (skipped, with the reason, without a MySQL server)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import psycopg

from airflow_neon_dms.identifiers import mysql_identifier

MYSQL_SCHEMA = """
CREATE TABLE {db}.customers (
    id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT, balance DECIMAL(12,2), active TINYINT(1),
    photo BLOB, profile JSON, born DATE, seen DATETIME(3), wake TIME, big BIGINT UNSIGNED
) CHARACTER SET utf8mb4;
INSERT INTO {db}.customers VALUES
 (1, 'Zoë Ångström', 'naïve café ☕', 1234.56, 1, X'00FF10', '{{"tier": "gold"}}', '1990-01-02',
  '2024-03-01 12:34:56.789', '07:30:00', 18446744073709551615),
 (2, '日本語', NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE {db}.lines (order_id INT, line_no INT, qty INT NOT NULL, PRIMARY KEY (order_id, line_no));
INSERT INTO {db}.lines VALUES (1, 1, 5), (1, 2, 7), (2, 1, 1);
CREATE TABLE {db}.logs (msg VARCHAR(20));
INSERT INTO {db}.logs VALUES ('x'), (NULL);
"""


def test_mysql_source_full_load_with_validation(
    dms: Any, mysql_server: Any, mysql_database: str, pg_server: Any, pg_database: str
) -> None:
    conn = mysql_server.connect()
    try:
        with conn.cursor() as cur:
            for statement in MYSQL_SCHEMA.format(db=mysql_identifier(mysql_database)).split(";"):
                if statement.strip():
                    cur.execute(statement)
    finally:
        conn.close()
    credentials = {"Password": mysql_server.password} if mysql_server.password else {}
    source = dms.endpoint(
        "source",
        "mariadb",
        ServerName=mysql_server.host,
        Port=mysql_server.port,
        Username=mysql_server.user,
        **credentials,
    )
    target = dms.pg_endpoint("target", pg_server, pg_database)
    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "db",
                "object-locator": {"schema-name": mysql_database, "table-name": "%"},
                "rule-action": "include",
            }
        ]
    }
    connection = dms.client.test_connection(ReplicationInstanceArn=dms.instance_arn, EndpointArn=source)
    assert connection["Connection"]["Status"] == "testing"
    dms.client.get_waiter("test_connection_succeeds").wait(
        Filters=[{"Name": "endpoint-arn", "Values": [source]}], WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )
    task = dms.task(source, target, mappings, {"ValidationSettings": {"EnableValidation": True}})
    described = dms.run_full_load(task)
    assert described["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    stats = dms.table_stats(task)
    assert {k[1]: v["TableState"] for k, v in stats.items()} == {
        "customers": "Table completed",
        "lines": "Table completed",
        "logs": "Table completed",
    }
    assert stats[(mysql_database, "customers")]["ValidationState"] == "Validated"
    assert stats[(mysql_database, "lines")]["ValidationState"] == "Validated"
    assert stats[(mysql_database, "logs")]["ValidationState"] == "No primary key"
    with psycopg.connect(pg_server.dsn(pg_database)) as pg:
        rows = pg.execute(
            psycopg.sql.SQL("SELECT * FROM {}.customers ORDER BY id").format(
                psycopg.sql.Identifier(mysql_database)
            )
        ).fetchall()
        # MariaDB's JSON is LONGTEXT (text in PostgreSQL); MySQL's JSON becomes jsonb.
        profile = rows[0][6]
        assert (json.loads(profile) if isinstance(profile, str) else profile) == {"tier": "gold"}
        assert rows[0][:6] + rows[0][7:] == (
            1,
            "Zoë Ångström",
            "naïve café ☕",
            Decimal("1234.56"),
            True,
            b"\x00\xff\x10",
            datetime.date(1990, 1, 2),
            datetime.datetime(2024, 3, 1, 12, 34, 56, 789000),
            datetime.time(7, 30),
            Decimal("18446744073709551615"),
        )
        assert rows[1] == (2, "日本語", None, None, False, None, None, None, None, None, None)
        lines = pg.execute(
            psycopg.sql.SQL("SELECT * FROM {}.lines ORDER BY 1, 2").format(
                psycopg.sql.Identifier(mysql_database)
            )
        ).fetchall()
        assert lines == [(1, 1, 5), (1, 2, 7), (2, 1, 1)]


def test_unreachable_mysql_endpoint_fails_the_connection_test(dms: Any) -> None:
    source = dms.endpoint(
        "source", "mysql", ServerName="127.0.0.1", Port=1, Username="u", Password="hidden-pw"
    )
    dms.client.test_connection(ReplicationInstanceArn=dms.instance_arn, EndpointArn=source)
    try:
        dms.client.get_waiter("test_connection_succeeds").wait(
            Filters=[{"Name": "endpoint-arn", "Values": [source]}],
            WaiterConfig={"Delay": 1, "MaxAttempts": 20},
        )
    except Exception as err:
        assert "failure state" in str(err)
    connection = dms.client.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [source]}])[
        "Connections"
    ][0]
    assert connection["Status"] == "failed"
    assert "Can't connect to MySQL server" in connection["LastFailureMessage"]
    assert "hidden-pw" not in connection["LastFailureMessage"]

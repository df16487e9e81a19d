"""A DMS Serverless full load from a MariaDB source into PostgreSQL, validated by the replication."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import sql

from airflow_neon_dms.identifiers import mysql_identifier
from tests.local.serverless.support import create_config, table_stats, wait_for
from tests.local.support import Dms

MYSQL_SCHEMA = """
CREATE TABLE {db}.items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(8,2));
INSERT INTO {db}.items VALUES (1, 'pen', 1.50), (2, 'ink', 3.25), (3, NULL, 0);
"""


def test_mariadb_source_full_load_with_validation(
    dms: Dms, mysql_server: Any, mysql_database: str, pg_server: Any, pg_database: str
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
    config = create_config(
        dms.client,
        source,
        dms.pg_endpoint("target", pg_server, pg_database),
        mappings=mappings,
        ReplicationSettings=json.dumps({"ValidationSettings": {"EnableValidation": True}}),
    )
    dms.client.start_replication(ReplicationConfigArn=config, StartReplicationType="start-replication")
    stopped = wait_for(dms.client, config, lambda r: r["Status"] in ("stopped", "failed"), "stopped")
    assert stopped["Status"] == "stopped", stopped.get("FailureMessages")
    assert stopped["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    stats = table_stats(dms.client, config)[(mysql_database, "items")]
    assert stats["FullLoadRows"] == 3 and stats["ValidationState"] == "Validated"
    with psycopg.connect(pg_server.dsn(pg_database)) as target:
        query = sql.SQL("SELECT id, name, price FROM {}.items ORDER BY id").format(
            sql.Identifier(mysql_database)
        )
        rows = target.execute(query).fetchall()
    assert [(r[0], r[1], str(r[2])) for r in rows] == [
        (1, "pen", "1.50"),
        (2, "ink", "3.25"),
        (3, None, "0.00"),
    ]

"""CDC readiness rules: pure cases, and the catalog readers on ready and not-ready real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from airflow_neon_dms.schema.cdc_readiness import (
    MySqlCdcSource,
    PostgresCdcSource,
    TableReplicaIdentity,
    TargetForeignKey,
    TargetTrigger,
    blockers,
    mysql_source_findings,
    postgres_source_findings,
    read_mysql_cdc_source,
    read_postgres_cdc_source,
    read_replica_identities,
    read_target_foreign_keys,
    read_target_triggers,
    target_apply_findings,
)
from tests.conftest import MySqlServer, PgServer
from tests.logical_postgres import LogicalPg

READY_PG = PostgresCdcSource("logical", 10, 2, 10, 1, "dms", has_replication=True)
READY_MYSQL = MySqlCdcSource(True, "ROW", "FULL", binlog_expire_logs_seconds=7 * 86400)


def codes(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [f.code for f in findings]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (READY_PG, []),
        (PostgresCdcSource("replica", 10, 0, 10, 0, "dms", is_superuser=True), ["wal_level_not_logical"]),
        (
            PostgresCdcSource("logical", 4, 4, 10, 0, "dms", has_replication=True),
            ["replication_slots_exhausted"],
        ),
        (PostgresCdcSource("logical", 4, 0, 2, 2, "dms", has_replication=True), ["wal_senders_exhausted"]),
        (PostgresCdcSource("logical", 4, 0, 4, 0, "dms"), ["role_cannot_replicate"]),
        (PostgresCdcSource("logical", 4, 0, 4, 0, "dms", rds_replication=True), []),
    ],
)
def test_postgres_source_rules(source: PostgresCdcSource, expected: list[str]) -> None:
    findings = postgres_source_findings(source)
    assert codes(findings) == expected
    assert all(f.severity == "error" for f in findings)


def test_postgres_messages_name_the_setting_and_fix() -> None:
    plain = postgres_source_findings(PostgresCdcSource("replica", 1, 1, 1, 1, "app"))
    assert [f.subject for f in plain] == ["wal_level", "max_replication_slots", "max_wal_senders", "role app"]
    assert "Set wal_level = logical in postgresql.conf" in plain[0].message
    assert "ALTER ROLE app WITH REPLICATION" in plain[3].message
    rds = postgres_source_findings(
        PostgresCdcSource("replica", 5, 0, 5, 0, "app", rds_logical_replication="0")
    )
    assert "rds.logical_replication = 1" in rds[0].message
    assert "GRANT rds_replication TO app" in rds[1].message


def test_two_tasks_need_two_free_slots() -> None:
    source = PostgresCdcSource("logical", 3, 2, 10, 0, "dms", has_replication=True)
    assert codes(postgres_source_findings(source, tasks=1)) == []
    assert codes(postgres_source_findings(source, tasks=2)) == ["replication_slots_exhausted"]


@pytest.mark.parametrize(
    ("has_pk", "identity", "blocked"),
    [(True, "d", False), (False, "d", True), (False, "f", False), (False, "i", False), (True, "n", True)],
)
def test_replica_identity_rule(has_pk: bool, identity: str, blocked: bool) -> None:
    table = TableReplicaIdentity("public", "t", has_pk, identity)
    findings = postgres_source_findings(READY_PG, [table])
    assert codes(findings) == (["no_replica_identity"] if blocked else [])
    if blocked:
        assert "ALTER TABLE public.t REPLICA IDENTITY FULL" in findings[0].message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (READY_MYSQL, []),
        (MySqlCdcSource(True, "ROW", "FULL"), []),  # never purged
        (MySqlCdcSource(False, "ROW", "FULL"), ["binlog_disabled"]),
        (MySqlCdcSource(True, "MIXED", "FULL"), ["binlog_format_not_row"]),
        (MySqlCdcSource(True, "ROW", "MINIMAL"), ["binlog_row_image_not_full"]),
        (MySqlCdcSource(True, "ROW", "FULL", expire_logs_days=0.5), ["binlog_retention_short"]),
        (MySqlCdcSource(True, "ROW", "FULL", binlog_expire_logs_seconds=3600), ["binlog_retention_short"]),
        (MySqlCdcSource(True, "ROW", "FULL", expire_logs_days=1), []),
    ],
)
def test_mysql_source_rules(source: MySqlCdcSource, expected: list[str]) -> None:
    assert codes(mysql_source_findings(source)) == expected


def test_retention_is_a_warning_and_the_rest_are_blockers() -> None:
    findings = mysql_source_findings(MySqlCdcSource(False, "STATEMENT", "NOBLOB", expire_logs_days=0.25))
    assert codes(blockers(findings)) == [
        "binlog_disabled",
        "binlog_format_not_row",
        "binlog_row_image_not_full",
    ]
    assert "6 hours" in findings[-1].message and "binlog retention hours" in findings[-1].message


def test_target_rules() -> None:
    findings = target_apply_findings(
        [TargetTrigger("public", "orders", "audit")],
        [TargetForeignKey("public", "lines", "lines_order_fk", "public", "orders")],
    )
    assert [(f.severity, f.code) for f in findings] == [
        ("error", "cdc_target_trigger"),
        ("error", "cdc_target_foreign_key"),
    ]
    assert "DISABLE TRIGGER audit" in findings[0].message
    assert "DROP CONSTRAINT lines_order_fk" in findings[1].message


# --- real servers ------------------------------------------------------------------------------
@pytest.fixture
def replication_role(logical_pg: LogicalPg) -> Iterator[str]:
    role = "neon_dms_readiness_plain"
    with psycopg.connect(logical_pg.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(logical_pg.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_logical_server_is_ready_except_for_its_keyless_table(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    db = make_logical_database()
    with psycopg.connect(logical_pg.dsn(db), autocommit=True) as conn:
        conn.execute("CREATE TABLE keyed (id int PRIMARY KEY)")
        conn.execute("CREATE TABLE loose (a int)")
        conn.execute("CREATE TABLE whole (a int)")
        conn.execute("ALTER TABLE whole REPLICA IDENTITY FULL")
        source = read_postgres_cdc_source(conn)
        assert source.wal_level == "logical" and source.is_superuser
        tables = read_replica_identities(
            conn, [("public", "keyed"), ("public", "loose"), ("public", "whole"), ("public", "gone")]
        )
        assert [(t.table, t.has_primary_key, t.replica_identity) for t in tables] == [
            ("keyed", True, "d"),
            ("loose", False, "d"),
            ("whole", False, "f"),
        ]
        findings = postgres_source_findings(source, tables)
        assert [(f.code, f.subject) for f in findings] == [("no_replica_identity", "public.loose")]


def test_role_without_replication_on_the_logical_server(
    logical_pg: LogicalPg, make_logical_database: Callable[[], str], replication_role: str
) -> None:
    db = make_logical_database()
    with psycopg.connect(
        host=logical_pg.host, port=logical_pg.port, user=replication_role, dbname=db, autocommit=True
    ) as conn:
        source = read_postgres_cdc_source(conn)
    assert source.role == replication_role and not source.has_replication
    assert codes(postgres_source_findings(source)) == ["role_cannot_replicate"]


def test_plain_server_is_not_ready(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        source = read_postgres_cdc_source(conn)
    if source.wal_level == "logical":
        pytest.skip("the shared test PostgreSQL already has wal_level=logical")
    findings = postgres_source_findings(source)
    assert "wal_level_not_logical" in codes(blockers(findings))


@pytest.mark.mysql
def test_mariadb_without_binlog_is_not_ready(mysql_server: MySqlServer) -> None:
    conn = mysql_server.connect()
    try:
        source = read_mysql_cdc_source(conn)
    finally:
        conn.close()
    if source.log_bin:
        pytest.skip("the shared test MySQL/MariaDB has the binary log on")
    assert "binlog_disabled" in codes(blockers(mysql_source_findings(source)))


def test_target_triggers_and_foreign_keys(pg_database: str, pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        conn.execute("CREATE TABLE lines (id int PRIMARY KEY, order_id int REFERENCES orders)")
        conn.execute("CREATE TABLE other (id int PRIMARY KEY, order_id int REFERENCES orders)")
        conn.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$")
        for name, table, enabled in (
            ("audit", "orders", ""),
            ("off", "lines", "D"),
            ("replica", "lines", "R"),
        ):
            conn.execute(
                sql.SQL("CREATE TRIGGER {} BEFORE INSERT ON {} FOR EACH ROW EXECUTE FUNCTION touch()").format(
                    sql.Identifier(name), sql.Identifier(table)
                )
            )
            if enabled == "D":
                conn.execute(
                    sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                )
            if enabled == "R":
                conn.execute(
                    sql.SQL("ALTER TABLE {} ENABLE REPLICA TRIGGER {}").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                )
        tables = [("public", "orders"), ("public", "lines")]
        triggers = read_target_triggers(conn, tables)
        keys = read_target_foreign_keys(conn, tables)
    assert triggers == [TargetTrigger("public", "orders", "audit")]
    assert keys == [TargetForeignKey("public", "lines", "lines_order_id_fkey", "public", "orders")]
    assert codes(target_apply_findings(triggers, keys)) == ["cdc_target_trigger", "cdc_target_foreign_key"]

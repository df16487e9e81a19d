"""Is the source ready for change data capture, and will the Neon target take the changes? (pure rules)

The rules take plain records and return findings; small catalog readers fill the records from a
live connection. Each finding names the setting and the fix; severity ``error`` is a blocker that
must fail the pre-flight before anything is created on AWS.

Sources (AWS DMS user guide): "Using a PostgreSQL database as an AWS DMS source" (wal_level =
logical, or rds.logical_replication = 1 on RDS; max_replication_slots and max_wal_senders above the
number of tasks; a role with REPLICATION, or rds_replication on RDS; DMS ignores UPDATE and DELETE
of a table without a primary key unless REPLICA IDENTITY FULL makes the old row its key) and
"Using a MySQL-compatible database as a source" (binary logging on, binlog_format = ROW,
binlog_row_image = FULL, binary logs kept at least 24 hours). On Neon the migration role cannot
``SET session_replication_role = replica``, so target triggers fire for every applied change and
foreign keys are checked while tables load in parallel. The full-load pre-flight reports the same
foreign keys as ``target_foreign_key``; these findings add what they do to change apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from airflow_neon_dms.schema.types import Severity

#: The binary log retention DMS recommends for a MySQL-compatible CDC source, in hours.
MIN_BINLOG_RETENTION_HOURS = 24


@dataclass(frozen=True)
class Finding:
    """One readiness finding: severity, the object it is about, a stable code, and the fix."""

    severity: Severity
    subject: str
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def blockers(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that must stop the migration."""
    return [f for f in findings if f.severity == "error"]


# --- PostgreSQL source -------------------------------------------------------------------------
@dataclass(frozen=True)
class PostgresCdcSource:
    """A PostgreSQL source's replication settings and the migration role's rights."""

    wal_level: str
    max_replication_slots: int
    used_replication_slots: int
    max_wal_senders: int
    used_wal_senders: int
    role: str
    is_superuser: bool = False
    has_replication: bool = False
    #: Member of Amazon RDS's rds_replication role.
    rds_replication: bool = False
    #: The value of rds.logical_replication on Amazon RDS and Aurora; None elsewhere.
    rds_logical_replication: str | None = None


@dataclass(frozen=True)
class TableReplicaIdentity:
    """A source table's primary key presence and REPLICA IDENTITY (d, n, f or i, as pg_class)."""

    schema: str
    table: str
    has_primary_key: bool
    replica_identity: str

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.table}"


def postgres_source_findings(
    source: PostgresCdcSource, tables: Sequence[TableReplicaIdentity] = (), *, tasks: int = 1
) -> list[Finding]:
    """Every reason the PostgreSQL source cannot feed ``tasks`` CDC tasks."""
    findings: list[Finding] = []
    on_rds = source.rds_logical_replication is not None
    if source.wal_level != "logical":
        fix = (
            "Set rds.logical_replication = 1 in the DB parameter group and reboot the instance."
            if on_rds
            else "Set wal_level = logical in postgresql.conf and restart the server."
        )
        findings.append(
            Finding(
                "error",
                "wal_level",
                "wal_level_not_logical",
                f"The source has wal_level = {source.wal_level}; CDC reads changes by logical decoding, "
                f"which needs wal_level = logical. {fix}",
            )
        )
    free_slots = source.max_replication_slots - source.used_replication_slots
    if free_slots < tasks:
        findings.append(
            Finding(
                "error",
                "max_replication_slots",
                "replication_slots_exhausted",
                f"{free_slots} of max_replication_slots = {source.max_replication_slots} are free; each "
                f"CDC task needs one. Raise max_replication_slots (restart needed) or drop unused slots "
                "with pg_drop_replication_slot().",
            )
        )
    free_senders = source.max_wal_senders - source.used_wal_senders
    if free_senders < tasks:
        findings.append(
            Finding(
                "error",
                "max_wal_senders",
                "wal_senders_exhausted",
                f"{free_senders} of max_wal_senders = {source.max_wal_senders} are free; each CDC task "
                "needs one. Raise max_wal_senders (restart needed).",
            )
        )
    if not (source.is_superuser or source.has_replication or source.rds_replication):
        grant = (
            f"GRANT rds_replication TO {source.role}"
            if on_rds
            else f"ALTER ROLE {source.role} WITH REPLICATION"
        )
        findings.append(
            Finding(
                "error",
                f"role {source.role}",
                "role_cannot_replicate",
                f"Role {source.role} may not create replication slots (no REPLICATION attribute"
                f"{', not in rds_replication' if on_rds else ''}). Run {grant}.",
            )
        )
    for table in tables:
        if table.replica_identity == "f" or table.replica_identity == "i":
            continue
        if table.replica_identity == "d" and table.has_primary_key:
            continue
        why = (
            "REPLICA IDENTITY NOTHING"
            if table.replica_identity == "n"
            else "no primary key and REPLICA IDENTITY DEFAULT"
        )
        findings.append(
            Finding(
                "error",
                table.qualified_name,
                "no_replica_identity",
                f"Table {table.qualified_name} has {why}: its UPDATE and DELETE changes carry no key, and "
                "DMS does not apply them. Add a primary key, or run ALTER TABLE "
                f"{table.qualified_name} REPLICA IDENTITY FULL.",
            )
        )
    return findings


def read_postgres_cdc_source(conn: Any) -> PostgresCdcSource:
    """Read the settings and role rights from a psycopg connection to the source database."""
    row = conn.execute(
        "SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int, "
        "(SELECT count(*) FROM pg_replication_slots)::int, current_setting('max_wal_senders')::int, "
        "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int, r.rolname, "
        "r.rolsuper, r.rolreplication, EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication' "
        "AND pg_has_role(r.oid, g.oid, 'MEMBER')), current_setting('rds.logical_replication', true) "
        "FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    if row is None:
        raise LookupError("The connection's role is not in pg_roles")
    return PostgresCdcSource(
        wal_level=row[0],
        max_replication_slots=row[1],
        used_replication_slots=row[2],
        max_wal_senders=row[3],
        used_wal_senders=row[4],
        role=row[5],
        is_superuser=bool(row[6]),
        has_replication=bool(row[7]),
        rds_replication=bool(row[8]),
        rds_logical_replication=row[9],
    )


def _table_arrays(tables: Iterable[tuple[str, str]]) -> list[list[str]]:
    wanted = list(tables)
    return [[s for s, _ in wanted], [t for _, t in wanted]]


def read_replica_identities(conn: Any, tables: Iterable[tuple[str, str]]) -> list[TableReplicaIdentity]:
    """Primary key presence and REPLICA IDENTITY of the given source tables (missing ones skipped)."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
        "AND i.indisprimary), c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN unnest(%s::text[], %s::text[]) w(s, t) ON w.s = n.nspname AND w.t = c.relname "
        "WHERE c.relkind IN ('r', 'p') ORDER BY 1, 2",
        _table_arrays(tables),
    ).fetchall()
    return [TableReplicaIdentity(r[0], r[1], bool(r[2]), r[3]) for r in rows]


# --- MySQL / MariaDB source --------------------------------------------------------------------
@dataclass(frozen=True)
class MySqlCdcSource:
    """A MySQL or MariaDB source's binary log settings."""

    log_bin: bool
    binlog_format: str
    binlog_row_image: str
    #: expire_logs_days (0 = never purged); MariaDB keeps it as a decimal.
    expire_logs_days: float = 0.0
    #: binlog_expire_logs_seconds (MySQL 8, MariaDB 10.6+); None where the server has no such setting.
    binlog_expire_logs_seconds: int | None = None

    @property
    def retention_hours(self) -> float | None:
        """How long binary logs are kept; None when the server never purges them."""
        if self.binlog_expire_logs_seconds:
            return self.binlog_expire_logs_seconds / 3600
        if self.expire_logs_days:
            return self.expire_logs_days * 24
        return None


def mysql_source_findings(source: MySqlCdcSource) -> list[Finding]:
    """Every reason a MySQL/MariaDB source cannot feed CDC from its binary log."""
    findings: list[Finding] = []
    restart = "in my.cnf (on Amazon RDS: the DB parameter group)"
    if not source.log_bin:
        findings.append(
            Finding(
                "error",
                "log_bin",
                "binlog_disabled",
                "The binary log is off (log_bin = OFF); CDC reads changes from it. Turn it on with log_bin "
                "and a server_id in my.cnf and restart (on Amazon RDS: enable automated backups).",
            )
        )
    if source.binlog_format.upper() != "ROW":
        findings.append(
            Finding(
                "error",
                "binlog_format",
                "binlog_format_not_row",
                f"binlog_format = {source.binlog_format}; CDC needs row events. Set binlog_format = ROW "
                f"{restart}.",
            )
        )
    if source.binlog_row_image.upper() != "FULL":
        findings.append(
            Finding(
                "error",
                "binlog_row_image",
                "binlog_row_image_not_full",
                f"binlog_row_image = {source.binlog_row_image}; CDC needs whole rows before and after each "
                f"change. Set binlog_row_image = FULL {restart}.",
            )
        )
    hours = source.retention_hours
    if hours is not None and hours < MIN_BINLOG_RETENTION_HOURS:
        findings.append(
            Finding(
                "warning",
                "binlog retention",
                "binlog_retention_short",
                f"Binary logs are purged after {hours:g} hours; a task stopped or lagging longer loses its "
                f"place. Keep them at least {MIN_BINLOG_RETENTION_HOURS} hours (binlog_expire_logs_seconds "
                f"or expire_logs_days; on Amazon RDS: CALL mysql.rds_set_configuration('binlog retention "
                f"hours', {MIN_BINLOG_RETENTION_HOURS})).",
            )
        )
    return findings


def read_mysql_cdc_source(conn: Any) -> MySqlCdcSource:
    """Read the binary log settings from a PyMySQL connection."""
    with conn.cursor() as cur:
        cur.execute(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', "
            "'expire_logs_days', 'binlog_expire_logs_seconds')"
        )
        values = {str(name).lower(): str(value) for name, value in cur.fetchall()}
    seconds = values.get("binlog_expire_logs_seconds")
    return MySqlCdcSource(
        log_bin=values.get("log_bin", "OFF").upper() in ("ON", "1"),
        binlog_format=values.get("binlog_format", ""),
        binlog_row_image=values.get("binlog_row_image", ""),
        expire_logs_days=float(values.get("expire_logs_days") or 0),
        binlog_expire_logs_seconds=int(seconds) if seconds not in (None, "") else None,
    )


# --- Neon target -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetTrigger:
    """A user trigger on a target table that fires for ordinary sessions."""

    schema: str
    table: str
    name: str


@dataclass(frozen=True)
class TargetForeignKey:
    """A foreign key of a target table."""

    schema: str
    table: str
    name: str
    referenced_schema: str
    referenced_table: str


def target_apply_findings(
    triggers: Iterable[TargetTrigger], foreign_keys: Iterable[TargetForeignKey]
) -> list[Finding]:
    """Triggers that would fire, and foreign keys that could refuse rows, while DMS applies changes."""
    findings = [
        Finding(
            "error",
            f"{t.schema}.{t.table}",
            "cdc_target_trigger",
            f"Trigger {t.name} on {t.schema}.{t.table} fires for every row DMS loads and applies (Neon's "
            "role cannot SET session_replication_role = replica), repeating what the source already did. "
            f"Disable it for the migration: ALTER TABLE {t.schema}.{t.table} DISABLE TRIGGER {t.name}; "
            "enable it after cutover.",
        )
        for t in triggers
    ]
    findings += [
        Finding(
            "error",
            f"{k.schema}.{k.table}",
            "cdc_target_foreign_key",
            f"Foreign key {k.name} on {k.schema}.{k.table} references {k.referenced_schema}."
            f"{k.referenced_table}; DMS loads tables in parallel and applies each table's cached changes "
            f"after its own load, so a row can arrive before the row it references. Drop it for the "
            f"migration (ALTER TABLE {k.schema}.{k.table} DROP CONSTRAINT {k.name}) and add it after "
            "cutover.",
        )
        for k in foreign_keys
    ]
    return findings


def read_target_triggers(conn: Any, tables: Iterable[tuple[str, str]]) -> list[TargetTrigger]:
    """User triggers on the target tables that fire in ordinary sessions (enabled O or A)."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname, tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN unnest(%s::text[], %s::text[]) w(s, t) ON w.s = n.nspname AND w.t = c.relname "
        "WHERE NOT tg.tgisinternal AND tg.tgenabled IN ('O', 'A') ORDER BY 1, 2, 3",
        _table_arrays(tables),
    ).fetchall()
    return [TargetTrigger(*r) for r in rows]


def read_target_foreign_keys(conn: Any, tables: Iterable[tuple[str, str]]) -> list[TargetForeignKey]:
    """Foreign keys declared on the target tables."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname, k.conname, rn.nspname, rc.relname FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN unnest(%s::text[], %s::text[]) w(s, t) ON w.s = n.nspname AND w.t = c.relname "
        "JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
        "WHERE k.contype = 'f' ORDER BY 1, 2, 3",
        _table_arrays(tables),
    ).fetchall()
    return [TargetForeignKey(*r) for r in rows]

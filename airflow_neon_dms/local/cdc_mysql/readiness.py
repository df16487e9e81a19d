"""Is a MySQL/MariaDB source ready for CDC? The settings and privileges AWS DMS asks for.

Source: AWS DMS User Guide, "Using a MySQL-compatible database as a source for AWS DMS"
(CHAP_Source.MySQL): REPLICATION CLIENT and REPLICATION SLAVE for CDC tasks (MariaDB 10.5.2+
names the first BINLOG MONITOR); for a self-managed source ``server_id`` 1 or greater, ``log-bin``
set, ``binlog_format=ROW``, ``binlog_row_image=FULL`` and ``expire_logs_days`` 1 or greater (with
the advice not to keep the default 0, which never purges and fills the disk); on Amazon RDS,
automated backups (which turn the binary log on) and ``binlog retention hours``. The premigration
assessments for MySQL check the same (server_id, binlog image, REPLICATION CLIENT/SLAVE, automatic
removal of binary logs).

One more setting is the local DMS's own, not AWS's: ``binlog_row_metadata=FULL``, without which the
binlog carries no column names, signedness, character sets or ENUM/SET labels, so the emulator's
reader could not decode values exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_neon_dms.local.databases import DatabaseAddress, connect_mysql

#: GLOBAL variables the checks read (a missing one reads as absent, e.g. on older servers).
VARIABLES = (
    "log_bin",
    "binlog_format",
    "binlog_row_image",
    "binlog_row_metadata",
    "server_id",
    "expire_logs_days",
    "binlog_expire_logs_seconds",
    "version",
)
#: What the DMS user guide asks for: expire_logs_days of 1 or greater.
MIN_RETENTION_SECONDS = 86_400
_DAY = 86_400


@dataclass(frozen=True)
class ReadinessFinding:
    """One setting or privilege that is not as CDC needs it, and how to fix it."""

    setting: str
    actual: str
    required: str
    fix: str
    #: False for a warning that does not stop CDC (e.g. logs that are never purged).
    blocker: bool = True
    #: Who asks for it: "AWS DMS" or "local DMS" (the emulator's own reader).
    required_by: str = "AWS DMS"

    @property
    def message(self) -> str:
        return (
            f"{self.setting} is {self.actual} on the MySQL source; {self.required_by} CDC needs "
            f"{self.required}. {self.fix}"
        )


class SourceNotReadyForCdc(Exception):
    """The source cannot serve CDC; ``findings`` lists every blocker with its fix."""

    def __init__(self, endpoint: str, findings: list[ReadinessFinding]) -> None:
        self.findings = findings
        lines = "\n".join(f"- {f.message}" for f in findings)
        super().__init__(f"MySQL source {endpoint} is not ready for change data capture:\n{lines}")


def _grants_cover(grants: Iterable[str], *names: str) -> bool:
    """Whether a global (``ON *.*``) grant gives any of ``names`` or ALL PRIVILEGES."""
    for grant in grants:
        text = " ".join(grant.upper().split())
        if not text.startswith("GRANT ") or " ON *.* " not in f"{text} ":
            continue
        privileges = text[len("GRANT ") : text.index(" ON *.*")]
        granted = {p.strip() for p in privileges.split(",")}
        if "ALL PRIVILEGES" in granted or granted & set(names):
            return True
    return False


def _retention_seconds(variables: Mapping[str, str]) -> float:
    seconds = float(variables.get("binlog_expire_logs_seconds") or 0)
    if seconds == 0:
        seconds = float(variables.get("expire_logs_days") or 0) * _DAY
    return seconds


def binlog_findings(variables: Mapping[str, str], grants: Iterable[str]) -> list[ReadinessFinding]:
    """Every CDC finding for a source with these GLOBAL variables and ``SHOW GRANTS`` lines."""
    grants = list(grants)
    mariadb = "mariadb" in variables.get("version", "").lower()
    findings: list[ReadinessFinding] = []
    restart = "in the server's my.cnf (on Amazon RDS, the DB parameter group) and restart the server"
    if variables.get("log_bin", "OFF").upper() not in ("ON", "1"):
        findings.append(
            ReadinessFinding(
                "log_bin",
                variables.get("log_bin", "OFF"),
                "ON",
                f"Set log-bin=<path without extension> and server_id=1 or greater {restart}; "
                "on Amazon RDS, turn on automated backups.",
            )
        )
    if int(variables.get("server_id") or 0) < 1:
        findings.append(
            ReadinessFinding(
                "server_id", variables.get("server_id", "0"), "1 or greater", f"Set server_id=1 {restart}."
            )
        )
    if variables.get("binlog_format", "").upper() != "ROW":
        findings.append(
            ReadinessFinding(
                "binlog_format",
                variables.get("binlog_format") or "unset",
                "ROW",
                f"Set binlog_format=ROW {restart} "
                "(SET GLOBAL binlog_format='ROW' reaches new sessions only).",
            )
        )
    if variables.get("binlog_row_image", "").upper() != "FULL":
        findings.append(
            ReadinessFinding(
                "binlog_row_image",
                variables.get("binlog_row_image") or "unset",
                "FULL",
                f"Set binlog_row_image=FULL {restart}.",
            )
        )
    retention = _retention_seconds(variables)
    if retention == 0:
        findings.append(
            ReadinessFinding(
                "expire_logs_days",
                "0 (binary logs are never purged)",
                "1 or greater",
                "Set expire_logs_days=1 or more (binlog_expire_logs_seconds=86400 or more) so the disk "
                "does not fill; on Amazon RDS, "
                "CALL mysql.rds_set_configuration('binlog retention hours', 24).",
                blocker=False,
            )
        )
    elif retention < MIN_RETENTION_SECONDS:
        findings.append(
            ReadinessFinding(
                "binlog retention",
                f"{retention:g} seconds",
                "at least 1 day (expire_logs_days=1)",
                "Raise expire_logs_days to 1 or more (binlog_expire_logs_seconds=86400 or more), or on "
                "Amazon RDS CALL mysql.rds_set_configuration('binlog retention hours', 24), so binary "
                "logs are kept until DMS has read them.",
            )
        )
    if not _grants_cover(grants, "REPLICATION CLIENT", "BINLOG MONITOR"):
        name = "REPLICATION CLIENT (BINLOG MONITOR)" if mariadb else "REPLICATION CLIENT"
        findings.append(
            ReadinessFinding(
                "privilege " + name,
                "not granted",
                "it on *.*",
                f"GRANT {name.split(' (')[0]} ON *.* TO the endpoint's user.",
            )
        )
    if not _grants_cover(grants, "REPLICATION SLAVE", "REPLICATION REPLICA"):
        findings.append(
            ReadinessFinding(
                "privilege REPLICATION SLAVE",
                "not granted",
                "it on *.*",
                "GRANT REPLICATION SLAVE ON *.* TO the endpoint's user.",
            )
        )
    if variables.get("log_bin", "OFF").upper() in ("ON", "1"):
        metadata = variables.get("binlog_row_metadata") or "unsupported by this server version"
        if metadata.upper() != "FULL":
            findings.append(
                ReadinessFinding(
                    "binlog_row_metadata",
                    metadata,
                    "FULL (MariaDB 10.5+, MySQL 8.0.14+)",
                    "Set binlog_row_metadata=FULL (SET GLOBAL binlog_row_metadata='FULL', or in my.cnf); "
                    "AWS DMS itself does not need it.",
                    required_by="local DMS",
                )
            )
    return findings


def read_source_settings(conn: Any) -> tuple[dict[str, str], list[str]]:
    """The GLOBAL variables the checks use and the user's ``SHOW GRANTS`` lines (read only)."""
    with conn.cursor() as cur:
        placeholders = ", ".join(["%s"] * len(VARIABLES))
        cur.execute(f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({placeholders})", VARIABLES)
        variables = {str(r[0]).lower(): str(r[1]) for r in cur.fetchall()}
        cur.execute("SHOW GRANTS")
        grants = [str(r[0]) for r in cur.fetchall()]
    return variables, grants


def check_cdc_readiness(address: DatabaseAddress) -> list[ReadinessFinding]:
    """Connect and return every finding (blockers and warnings); the source is not changed."""
    conn = connect_mysql(address)
    try:
        variables, grants = read_source_settings(conn)
    finally:
        conn.close()
    return binlog_findings(variables, grants)


def require_cdc_ready(address: DatabaseAddress, endpoint: str) -> list[ReadinessFinding]:
    """Raise SourceNotReadyForCdc when a blocker is found; return the warnings otherwise."""
    findings = check_cdc_readiness(address)
    blockers = [f for f in findings if f.blocker]
    if blockers:
        raise SourceNotReadyForCdc(endpoint, blockers)
    return [f for f in findings if not f.blocker]

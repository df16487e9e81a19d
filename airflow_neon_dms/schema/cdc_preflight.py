"""The CDC part of the schema pre-flight: source readiness and Neon apply findings as report problems.

Runs when the migration type includes CDC (``cdc`` or ``full-load-and-cdc``). It reads the rules'
records with the catalog readers of :mod:`airflow_neon_dms.schema.cdc_readiness` and turns each
finding into a pre-flight problem. A target foreign key the full-load comparison already reported
(``target_foreign_key``) is not reported twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_neon_dms.exceptions import NeonConfigError
from airflow_neon_dms.schema import cdc_readiness as rules
from airflow_neon_dms.schema.compare import Problem
from airflow_neon_dms.schema.model import Engine

MIGRATION_TYPES = ("full-load", "cdc", "full-load-and-cdc")
#: The full-load problem code that already covers a target foreign key.
FULL_LOAD_FK_CODE = "target_foreign_key"
#: Finding codes about one table; the others are about a source setting or role.
TABLE_CODES = frozenset({"no_replica_identity", "cdc_target_trigger", "cdc_target_foreign_key"})
#: The report's table column for a finding about the source server's settings or role.
SOURCE_SUBJECT = "source"


def check_migration_type(migration_type: str) -> bool:
    """True when ``migration_type`` captures changes; raise naming the valid values when unknown."""
    if migration_type not in MIGRATION_TYPES:
        raise NeonConfigError(
            f"migration_type {migration_type!r} is not one of {', '.join(MIGRATION_TYPES)} (DMS "
            "MigrationType). Use full-load for a one-time copy, full-load-and-cdc to keep replicating."
        )
    return migration_type != "full-load"


def cdc_findings(
    source_conn: Any,
    source_engine: Engine,
    target_conn: Any,
    source_tables: Sequence[tuple[str, str]],
    target_tables: Sequence[tuple[str, str]],
) -> list[rules.Finding]:
    """Every CDC readiness finding for the selected tables, source first, then the Neon target."""
    if source_engine == "postgresql":
        findings = rules.postgres_source_findings(
            rules.read_postgres_cdc_source(source_conn),
            rules.read_replica_identities(source_conn, source_tables),
        )
    else:
        findings = rules.mysql_source_findings(rules.read_mysql_cdc_source(source_conn))
    findings += rules.target_apply_findings(
        rules.read_target_triggers(target_conn, target_tables),
        rules.read_target_foreign_keys(target_conn, target_tables),
    )
    return findings


def as_problems(findings: Sequence[rules.Finding], reported: Sequence[Problem]) -> list[Problem]:
    """The findings as pre-flight problems, leaving out foreign keys already in ``reported``."""
    fk_tables = {p.table for p in reported if p.code == FULL_LOAD_FK_CODE}
    return [
        Problem(f.severity, f.subject, f.code, f.message)
        if f.code in TABLE_CODES
        else Problem(f.severity, SOURCE_SUBJECT, f.code, f.message, column=f.subject)
        for f in findings
        if not (f.code == "cdc_target_foreign_key" and f.subject in fk_tables)
    ]

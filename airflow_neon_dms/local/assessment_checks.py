"""The individual premigration assessments the local DMS really runs, under AWS's names.

Each check reads the real source (PostgreSQL or MySQL/MariaDB) and the real PostgreSQL target and
returns a ``CheckResult``. The names and what each one checks come from AWS's DMS user guide,
"Assessments for all endpoint types" (CHAP_Tasks.AssessmentReport.Assessments.All) and
"PostgreSQL assessments" (CHAP_Tasks.AssessmentReport.PG). Which checks apply to a task is
``applicable_assessments`` (what DescribeApplicableIndividualAssessments answers). The rules here
are the emulator's own reading of AWS's guide; the provider's rule modules are not imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from airflow_neon_dms.local.databases import (
    DatabaseAddress,
    DatabaseUnreachable,
    connect_mysql,
    connect_postgres,
    mask,
)
from airflow_neon_dms.local.table_mappings import TableMappings

UNSUPPORTED_TYPES = "unsupported-data-types-in-source"
LOB_NOT_NULLABLE = "full-lob-not-nullable-at-target"
LOB_WITHOUT_KEY = "table-with-lob-but-without-primary-key-or-unique-constraint"
NO_KEY_FOR_CDC = "table-with-no-primary-key-or-unique-constraint"
TARGET_NO_KEY_FOR_CDC = "target-table-has-unique-key-or-primary-key-for-cdc"
PG_POSTGIS = "postgres-check-postgis-data-type"
PG_DDL_TRIGGER = "postgres-check-ddl-event-trigger"
PG_WAL_SENDERS = "postgres-check-maxwalsenders"

#: Individual assessment statuses (botocore's ReplicationTaskIndividualAssessment.Status doc),
#: plus "warning", which the run's "warning" status implies an individual assessment can have.
PASSED, FAILED, WARNING, ERROR, SKIPPED = "passed", "failed", "warning", "error", "skipped"

#: PostgreSQL source types absent from AWS's "Source data types for PostgreSQL" table (row
#: types of tables or CREATE TYPE ... AS, and these built-ins); every other type maps to a DMS type.
_PG_UNMAPPED_BUILTINS = ("pg_lsn", "txid_snapshot", "pg_snapshot")
#: Types DMS migrates as LOBs: PostgreSQL TEXT/BYTEA/JSON/JSONB/XML (NCLOB/BLOB in "Source data
#: types for PostgreSQL"); MySQL TEXT/BLOB families and JSON ("Source data types for MySQL").
_PG_LOB_TYPES = ("text", "bytea", "json", "jsonb", "xml")
_MYSQL_LOB_TYPES = ("tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob",
                    "longblob", "json")  # fmt: skip


@dataclass
class CheckResult:
    """What one individual assessment found: a status, a sentence and the objects it names."""

    status: str
    description: str
    objects: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class AssessedTask:
    """What the checks need to know of the task: where, which tables, which settings."""

    source: DatabaseAddress
    target: DatabaseAddress
    mappings: TableMappings
    migration_type: str
    settings_json: str

    @property
    def has_cdc(self) -> bool:
        return self.migration_type in ("cdc", "full-load-and-cdc")

    def target_metadata(self) -> dict[str, Any]:
        try:
            document = json.loads(self.settings_json or "{}")
        except ValueError:
            return {}
        value = document.get("TargetMetadata") if isinstance(document, dict) else None
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class SourceColumn:
    schema: str
    table: str
    column: str
    data_type: str
    #: True when the type is absent from AWS's source data type table.
    unmapped: bool
    lob: bool
    postgis: bool


def applicable_assessments(source_engine: str, target_engine: str, migration_type: str) -> list[str]:
    """The individual assessments the local DMS runs for such a task, in AWS's names."""
    postgres = ("postgres", "aurora-postgresql")
    mysql = ("mysql", "mariadb", "aurora")
    if target_engine not in postgres or source_engine not in (*postgres, *mysql):
        return []
    cdc = migration_type in ("cdc", "full-load-and-cdc")
    names = [UNSUPPORTED_TYPES, LOB_NOT_NULLABLE, LOB_WITHOUT_KEY]
    if cdc:
        names.append(NO_KEY_FOR_CDC)
    if migration_type == "cdc":
        names.append(TARGET_NO_KEY_FOR_CDC)
    if source_engine in postgres:
        names.append(PG_POSTGIS)
        if cdc:
            names += [PG_DDL_TRIGGER, PG_WAL_SENDERS]
    return names


@contextmanager
def _pg(address: DatabaseAddress) -> Iterator[Any]:
    conn = connect_postgres(address, autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def _pg_source_columns(conn: Any) -> list[SourceColumn]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typname, "
        "t.typtype, bt.typname "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_type bt ON bt.oid = t.typbasetype "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 "
        "AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%%' ORDER BY 1, 2, a.attnum"
    ).fetchall()
    out = []
    for schema, table, column, shown, typname, typtype, base in rows:
        name = str(base or typname)
        out.append(
            SourceColumn(
                str(schema),
                str(table),
                str(column),
                str(shown),
                unmapped=typtype == "c" or name in _PG_UNMAPPED_BUILTINS,
                lob=name in _PG_LOB_TYPES,
                postgis=name in ("geometry", "geography"),
            )
        )
    return out


def _pg_keyed_tables(conn: Any) -> set[tuple[str, str]]:
    """Tables with a primary key or a unique constraint/index."""
    rows = conn.execute(
        "SELECT DISTINCT n.nspname, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.indisprimary OR i.indisunique"
    ).fetchall()
    return {(str(r[0]), str(r[1])) for r in rows}


def _mysql_source(address: DatabaseAddress) -> tuple[list[SourceColumn], set[tuple[str, str]]]:
    conn = connect_mysql(address)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.column_type "
                "FROM information_schema.columns c JOIN information_schema.tables t "
                "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                "WHERE t.table_type = 'BASE TABLE' ORDER BY 1, 2, c.ordinal_position"
            )
            columns = [
                SourceColumn(
                    str(r[0]),
                    str(r[1]),
                    str(r[2]),
                    str(r[4]),
                    False,
                    str(r[3]).lower() in _MYSQL_LOB_TYPES,
                    False,
                )
                for r in cur.fetchall()
            ]
            cur.execute(
                "SELECT DISTINCT table_schema, table_name FROM information_schema.table_constraints "
                "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
            )
            keyed = {(str(r[0]), str(r[1])) for r in cur.fetchall()}
    finally:
        conn.close()
    return columns, keyed


def _source(task: AssessedTask) -> tuple[list[SourceColumn], set[tuple[str, str]]]:
    """The selected tables' columns and which of them have a key, read from the source."""
    if task.source.is_postgres:
        with _pg(task.source) as conn:
            columns, keyed = _pg_source_columns(conn), _pg_keyed_tables(conn)
    else:
        columns, keyed = _mysql_source(task.source)
    return [c for c in columns if task.mappings.selects(c.schema, c.table)], keyed


def _tables(columns: list[SourceColumn]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((c.schema, c.table) for c in columns))


def _table_objects(tables: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"SchemaName": s, "TableName": t} for s, t in tables]


def _column_objects(columns: list[SourceColumn]) -> list[dict[str, str]]:
    return [
        {"SchemaName": c.schema, "TableName": c.table, "ColumnName": c.column, "DataType": c.data_type}
        for c in columns
    ]


def _verdict(found: list[dict[str, str]], failed: str, passed: str) -> CheckResult:
    return CheckResult(FAILED, failed, found) if found else CheckResult(PASSED, passed)


def check_unsupported_types(task: AssessedTask, columns: list[SourceColumn], _: Any) -> CheckResult:
    bad = [c for c in columns if c.unmapped]
    return _verdict(
        _column_objects(bad),
        f"{len(bad)} source column(s) have data types DMS does not support; exclude or convert them.",
        "No source column has a data type DMS does not support.",
    )


def check_lob_without_key(
    task: AssessedTask, columns: list[SourceColumn], keyed: set[tuple[str, str]]
) -> CheckResult:
    tables = [t for t in _tables([c for c in columns if c.lob]) if t not in keyed]
    return _verdict(
        _table_objects(tables),
        f"{len(tables)} source table(s) have LOB columns but no primary key or unique constraint; "
        "DMS needs one to migrate LOBs.",
        "Every source table with LOB columns has a primary key or unique constraint.",
    )


def check_no_key_for_cdc(
    task: AssessedTask, columns: list[SourceColumn], keyed: set[tuple[str, str]]
) -> CheckResult:
    tables = [t for t in _tables(columns) if t not in keyed]
    return _verdict(
        _table_objects(tables),
        f"{len(tables)} source table(s) have no primary key or unique constraint; CDC on them is "
        "slow and updates/deletes cannot be matched reliably.",
        "Every source table has a primary key or unique constraint.",
    )


def _target_not_null_columns(task: AssessedTask) -> set[tuple[str, str, str]]:
    with _pg(task.target) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE is_nullable = 'NO'"
        ).fetchall()
    return {(str(r[0]), str(r[1]), str(r[2])) for r in rows}


def check_lob_not_nullable(task: AssessedTask, columns: list[SourceColumn], _: Any) -> CheckResult:
    meta = task.target_metadata()
    if not meta.get("FullLobMode") and not int(meta.get("InlineLobMaxSize") or 0):
        return CheckResult(
            SKIPPED, "The task uses limited LOB mode; this assessment applies to full or inline LOB mode."
        )
    not_null = _target_not_null_columns(task)
    bad = []
    for c in columns:
        target_schema, target_table = task.mappings.target_name(c.schema, c.table)
        if c.lob and (target_schema, target_table, c.column) in not_null:
            bad.append(c)
    return _verdict(
        _column_objects(bad),
        f"{len(bad)} LOB column(s) are NOT NULL on the target; full and inline LOB mode need them nullable.",
        "Every LOB column is nullable on the target (or does not exist there yet).",
    )


def check_target_no_key_for_cdc(task: AssessedTask, columns: list[SourceColumn], _: Any) -> CheckResult:
    with _pg(task.target) as conn:
        keyed = _pg_keyed_tables(conn)
        existing = {
            (str(r[0]), str(r[1]))
            for r in conn.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
    targets = [task.mappings.target_name(*t) for t in _tables(columns)]
    bad = [t for t in targets if t in existing and t not in keyed]
    return _verdict(
        _table_objects(bad),
        f"{len(bad)} target table(s) have no primary key or unique constraint for CDC.",
        "Every existing target table has a primary key or unique constraint.",
    )


def check_postgis(task: AssessedTask, columns: list[SourceColumn], _: Any) -> CheckResult:
    found = [c for c in columns if c.postgis]
    if not found or task.target.is_postgres:
        return CheckResult(PASSED, "No PostGIS column needs a heterogeneous migration.")
    return CheckResult(FAILED, "PostGIS columns migrate only to PostgreSQL targets.", _column_objects(found))


def check_ddl_event_trigger(task: AssessedTask, columns: list[SourceColumn], _: Any) -> CheckResult:
    with _pg(task.source) as conn:
        row = conn.execute(
            "SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'awsdms_intercept_ddl'"
        ).fetchone()
    if row is None or row[0] == "A":
        return CheckResult(PASSED, "The awsdms_intercept_ddl event trigger is absent or ENABLE ALWAYS.")
    return CheckResult(
        FAILED,
        "The awsdms_intercept_ddl event trigger is not ENABLE ALWAYS; run "
        "ALTER EVENT TRIGGER awsdms_intercept_ddl ENABLE ALWAYS on the source.",
    )


def check_wal_senders(task: AssessedTask, columns: list[SourceColumn], _: Any) -> CheckResult:
    with _pg(task.source) as conn:
        row = conn.execute(
            "SELECT current_setting('max_wal_senders')::int, (SELECT count(*) FROM pg_stat_replication)::int"
        ).fetchone()
    limit, used = (int(row[0]), int(row[1])) if row else (0, 0)
    if used < limit:
        return CheckResult(PASSED, f"max_wal_senders is {limit}; {used} in use, so CDC can connect.")
    return CheckResult(
        FAILED, f"max_wal_senders is {limit} and {used} are in use; raise max_wal_senders on the source."
    )


Check = Callable[[AssessedTask, list[SourceColumn], set[tuple[str, str]]], CheckResult]
CHECKS: dict[str, Check] = {
    UNSUPPORTED_TYPES: check_unsupported_types,
    LOB_NOT_NULLABLE: check_lob_not_nullable,
    LOB_WITHOUT_KEY: check_lob_without_key,
    NO_KEY_FOR_CDC: check_no_key_for_cdc,
    TARGET_NO_KEY_FOR_CDC: check_target_no_key_for_cdc,
    PG_POSTGIS: check_postgis,
    PG_DDL_TRIGGER: check_ddl_event_trigger,
    PG_WAL_SENDERS: check_wal_senders,
}


class SourceSnapshot:
    """The source's columns and keyed tables, read once for every check of a run."""

    def __init__(self, task: AssessedTask) -> None:
        self.task = task
        self._read: tuple[list[SourceColumn], set[tuple[str, str]]] | None = None
        self.error = ""

    def read(self) -> tuple[list[SourceColumn], set[tuple[str, str]]] | None:
        if self._read is None and not self.error:
            try:
                self._read = _source(self.task)
            except DatabaseUnreachable as err:
                self.error = f"The source database could not be read: {err}"
            except Exception as err:  # a query failed after connecting: report it, end the run
                text = mask(f"{type(err).__name__}: {err}".strip(), self.task.source.password)
                self.error = f"The source database could not be read: {text}"
        return self._read


def run_check(name: str, snapshot: SourceSnapshot) -> CheckResult:
    """Run one individual assessment; a database that cannot be reached is an ``error``."""
    read = snapshot.read()
    if read is None:
        return CheckResult(ERROR, snapshot.error)
    try:
        return CHECKS[name](snapshot.task, *read)
    except DatabaseUnreachable as err:
        return CheckResult(ERROR, f"A database could not be read: {err}")
    except Exception as err:  # a query failed (e.g. the database went away): the run must end
        text = mask(
            f"{type(err).__name__}: {err}".strip(),
            snapshot.task.source.password,
            snapshot.task.target.password,
        )
        return CheckResult(ERROR, f"The assessment could not finish: {text}")

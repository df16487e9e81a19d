"""OpenLineage for the steps that move or check data: source tables in, Neon tables out.

The ``openlineage`` extra (apache-airflow-providers-openlineage) calls the operators'
``get_openlineage_facets_on_complete`` / ``_on_failure``; they build their answer here. Every
OpenLineage import is inside :func:`operator_lineage`, so without the extra nothing changes and a
DAG file parses as fast as before.

Dataset names follow OpenLineage's naming spec (spec/Naming.md): PostgreSQL
``postgres://{host}:{port}`` + ``{database}.{schema}.{table}``; MySQL ``mysql://{host}:{port}`` +
``{database}.{table}`` (a MySQL "schema" is a database: DMS's SchemaName is that database);
SQL Server ``mssql://{host}:{port}`` + ``{database}.{schema}.{table}``; Oracle
``oracle://{host}:{port}`` + ``{serviceName}.{schema}.{table}``. DMS copies each column to the
same-named column, so the column lineage is IDENTITY; the DMS task ARN is the external run id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from airflow_neon_dms.dms.table_names import TableRef

if TYPE_CHECKING:
    from airflow_neon_dms.hooks.dms import NeonDmsHook

#: DMS EngineName (botocore's DMS model; DB-API schemes of the diff's endpoints) -> the
#: OpenLineage scheme. Engines missing here get no dataset (their naming is not specified here).
ENGINE_SCHEMES: Mapping[str, str] = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "aurora-postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "aurora": "mysql",
    "sqlserver": "mssql",
    "oracle": "oracle",
}
#: Schemes whose dataset name has no schema part (the schema is the database).
SCHEMELESS = frozenset({"mysql"})
#: ExternalQueryRunFacet.source of a DMS run.
DMS_SOURCE = "aws-dms"


@dataclass(frozen=True)
class Database:
    """Where a database lives, as OpenLineage names it: scheme, host, port and database."""

    scheme: str
    host: str
    port: int
    database: str

    @classmethod
    def from_engine(cls, engine: str, host: str, port: int | str, database: str) -> Database | None:
        """A database of a DMS or DB-API engine name; None for an engine without a naming rule."""
        scheme = ENGINE_SCHEMES.get(engine.lower())
        if scheme is None or not host:
            return None
        return cls(scheme, host.lower(), int(port), database)

    @property
    def namespace(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def table_name(self, schema: str, table: str) -> str:
        """``database.schema.table``, or ``database.table`` for MySQL (``schema`` is the database)."""
        if self.scheme in SCHEMELESS:
            return f"{schema}.{table}"
        return f"{self.database}.{schema}.{table}"


@dataclass(frozen=True)
class TableCopy:
    """One source table and the Neon table it went to, with the columns both have (when known)."""

    source: Database
    source_schema: str
    source_table: str
    target: Database
    target_schema: str
    target_table: str
    columns: Sequence[str] = field(default_factory=tuple)

    @property
    def source_name(self) -> str:
        return self.source.table_name(self.source_schema, self.source_table)

    @property
    def target_name(self) -> str:
        return self.target.table_name(self.target_schema, self.target_table)


def dms_endpoint_database(endpoint: Mapping[str, Any] | None) -> Database | None:
    """The database a DMS endpoint (DescribeEndpoints) points at; None when it cannot be named."""
    if not endpoint:
        return None
    port = endpoint.get("Port")
    engine = str(endpoint.get("EngineName") or "")
    if not port:
        port = 3306 if ENGINE_SCHEMES.get(engine.lower()) == "mysql" else 5432
    return Database.from_engine(
        engine, str(endpoint.get("ServerName") or ""), port, str(endpoint.get("DatabaseName") or "")
    )


def operator_lineage(
    copies: Iterable[TableCopy],
    *,
    external_run_id: str | None = None,
    error: str | None = None,
) -> Any:
    """The ``OperatorLineage`` for ``copies``: inputs, outputs with schema and IDENTITY column
    lineage, the DMS task as the external query, and an error message facet for a failure."""
    from airflow.providers.common.compat.openlineage.facet import (
        ColumnLineageDatasetFacet,
        Dataset,
        ErrorMessageRunFacet,
        ExternalQueryRunFacet,
        Fields,
        InputField,
        SchemaDatasetFacet,
        SchemaDatasetFacetFields,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage

    inputs: dict[tuple[str, str], Any] = {}
    outputs: dict[tuple[str, str], Any] = {}
    for copy in copies:
        inputs.setdefault(
            (copy.source.namespace, copy.source_name),
            Dataset(namespace=copy.source.namespace, name=copy.source_name),
        )
        facets: dict[str, Any] = {}
        if copy.columns:
            facets["schema"] = SchemaDatasetFacet(
                fields=[SchemaDatasetFacetFields(name=column) for column in copy.columns]
            )
            facets["columnLineage"] = ColumnLineageDatasetFacet(
                fields={
                    column: Fields(
                        inputFields=[
                            InputField(namespace=copy.source.namespace, name=copy.source_name, field=column)
                        ],
                        transformationType="IDENTITY",
                        transformationDescription="copied unchanged by AWS DMS",
                    )
                    for column in copy.columns
                }
            )
        outputs[(copy.target.namespace, copy.target_name)] = Dataset(
            namespace=copy.target.namespace, name=copy.target_name, facets=facets
        )
    run_facets: dict[str, Any] = {}
    if external_run_id:
        run_facets["externalQuery"] = ExternalQueryRunFacet(
            externalQueryId=external_run_id, source=DMS_SOURCE
        )
    if error:
        run_facets["errorMessage"] = ErrorMessageRunFacet(message=error, programmingLanguage="python")
    return OperatorLineage(
        inputs=list(inputs.values()), outputs=list(outputs.values()), run_facets=run_facets
    )


def dms_failure(task: Mapping[str, Any]) -> str | None:
    """What DMS says about a failed run (StopReason, LastFailureMessage), or None."""
    reason = " ".join(
        str(task[key]) for key in ("Status", "StopReason", "LastFailureMessage") if task.get(key)
    )
    if str(task.get("Status")) != "failed" and not task.get("LastFailureMessage"):
        return None
    name = task.get("ReplicationTaskIdentifier") or task.get("ReplicationTaskArn")
    return f"Replication task {name}: {reason}"


def neon_columns(neon_conn_id: str, tables: Sequence[TableRef]) -> dict[TableRef, list[str]]:
    """The columns of ``tables`` in the Neon database, in table order (information_schema)."""
    from airflow_neon_dms.hooks.neon import NeonHook

    if not tables:
        return {}
    wanted = set(tables)
    found: dict[TableRef, list[str]] = {}
    with NeonHook(neon_conn_id=neon_conn_id).get_conn() as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = ANY(%s) AND table_name = ANY(%s) "
            "ORDER BY table_schema, table_name, ordinal_position",
            (sorted({t.schema for t in tables}), sorted({t.table for t in tables})),
        ).fetchall()
    for schema, table, column in rows:
        ref = TableRef(str(schema), str(table))
        if ref in wanted:
            found.setdefault(ref, []).append(str(column))
    return found


def dms_task_copies(
    hook: NeonDmsHook,
    task_arn: str,
    *,
    tables: Sequence[TableRef] | None = None,
    neon_conn_id: str | None = None,
) -> tuple[list[TableCopy], dict[str, Any]]:
    """The tables a DMS task copies (``tables``, or every table in its statistics), each with the
    Neon table its mapping writes it to, and the task as DMS describes it.

    Columns come from the Neon tables when ``neon_conn_id`` is given (DMS does not list them).
    """
    from airflow_neon_dms.dms.mapping_match import target_name

    task = hook.describe_task(task_arn, with_settings=True)
    source = dms_endpoint_database(hook.describe_endpoint(str(task.get("SourceEndpointArn") or "")))
    target = dms_endpoint_database(hook.describe_endpoint(str(task.get("TargetEndpointArn") or "")))
    if source is None or target is None:
        return [], task
    refs = (
        list(tables)
        if tables is not None
        else [TableRef.from_statistics(r) for r in hook.table_statistics(task_arn)]
    )
    mappings = task.get("TableMappings")
    pairs = [
        (ref, TableRef(*target_name(mappings, ref.schema, ref.table)) if mappings else ref) for ref in refs
    ]
    columns = neon_columns(neon_conn_id, [t for _, t in pairs]) if neon_conn_id else {}
    copies = [
        TableCopy(source, s.schema, s.table, target, t.schema, t.table, tuple(columns.get(t, ())))
        for s, t in pairs
    ]
    return copies, task


class _DmsTaskOperator(Protocol):
    replication_task_arn: str
    neon_conn_id: str | None

    @property
    def hook(self) -> NeonDmsHook: ...

    def lineage_tables(self) -> list[TableRef] | None: ...


class DmsTaskLineageMixin:
    """``get_openlineage_facets_on_complete``/``_on_failure`` for an operator that runs a DMS task
    (``replication_task_arn``, ``hook``, ``neon_conn_id``) over ``lineage_tables()``."""

    def lineage_tables(self) -> list[TableRef] | None:
        """The tables this step moved; None means every table in the task's statistics."""
        return None

    def get_openlineage_facets_on_complete(self: _DmsTaskOperator, task_instance: Any) -> Any:
        copies, _ = dms_task_copies(
            self.hook, self.replication_task_arn, tables=self.lineage_tables(), neon_conn_id=self.neon_conn_id
        )
        return operator_lineage(copies, external_run_id=self.replication_task_arn)

    def get_openlineage_facets_on_failure(self: _DmsTaskOperator, task_instance: Any) -> Any:
        copies, task = dms_task_copies(
            self.hook, self.replication_task_arn, tables=self.lineage_tables(), neon_conn_id=self.neon_conn_id
        )
        return operator_lineage(copies, external_run_id=self.replication_task_arn, error=dms_failure(task))

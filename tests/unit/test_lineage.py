"""OpenLineage naming and the lineage the operators hand to the openlineage provider."""

from __future__ import annotations

import pytest

from airflow_neon_dms.diff.connect import Endpoint
from airflow_neon_dms.diff.model import TableDiff
from airflow_neon_dms.lineage import Database, TableCopy, dms_endpoint_database, dms_failure
from airflow_neon_dms.operators.data_diff import _table_copies


def test_dataset_names_follow_the_openlineage_naming_spec() -> None:
    pg = Database.from_engine("aurora-postgresql", "Db.Example.com", "5433", "shop")
    mysql = Database.from_engine("mariadb", "mysql.local", 3306, "")
    assert pg is not None and mysql is not None
    assert (pg.namespace, pg.table_name("public", "orders")) == (
        "postgres://db.example.com:5433",
        "shop.public.orders",
    )
    # MySQL: {database}.{table}, and DMS's SchemaName is the MySQL database.
    assert (mysql.namespace, mysql.table_name("shop", "orders")) == (
        "mysql://mysql.local:3306",
        "shop.orders",
    )
    assert Database.from_engine("s3", "bucket", 443, "") is None


def test_dms_endpoint_database_reads_describe_endpoints_fields() -> None:
    endpoint = {"EngineName": "mysql", "ServerName": "src.example.com", "DatabaseName": ""}
    database = dms_endpoint_database(endpoint)
    assert database is not None and database.namespace == "mysql://src.example.com:3306"
    neon = dms_endpoint_database(
        {
            "EngineName": "postgres",
            "ServerName": "ep-x-1.eu.aws.neon.tech",
            "Port": 5432,
            "DatabaseName": "neondb",
        }
    )
    assert neon is not None and neon.table_name("public", "t") == "neondb.public.t"
    assert dms_endpoint_database(None) is None


def test_dms_failure_names_the_stop_reason_and_message() -> None:
    task = {
        "ReplicationTaskIdentifier": "orders",
        "Status": "failed",
        "StopReason": "Stop Reason FATAL_ERROR",
        "LastFailureMessage": "Source unreachable",
    }
    assert dms_failure(task) == "Replication task orders: failed Stop Reason FATAL_ERROR Source unreachable"
    assert dms_failure({"Status": "stopped", "StopReason": "Stop Reason FULL_LOAD_ONLY_FINISHED"}) is None


def test_data_diff_lineage_names_a_mysql_source_and_the_compared_columns() -> None:
    source = Endpoint("mysql", {"host": "mysql.local", "port": 3307, "database": "shop"})
    target = Endpoint("postgresql", {"host": "ep-x-1.eu.aws.neon.tech", "port": 5432, "dbname": "neondb"})
    result = TableDiff("shop", "orders", "public", "orders", ["id"], ["id", "total"])
    [copy] = _table_copies(source, target, [result])
    assert (copy.source.namespace, copy.source_name) == ("mysql://mysql.local:3307", "shop.orders")
    assert (copy.target.namespace, copy.target_name) == (
        "postgres://ep-x-1.eu.aws.neon.tech:5432",
        "neondb.public.orders",
    )
    assert copy.columns == ("id", "total")


def test_operator_lineage_has_identity_column_lineage_and_the_task_arn() -> None:
    pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
    from airflow_neon_dms.lineage import operator_lineage

    src = Database("postgres", "src", 5432, "shop")
    neon = Database("postgres", "ep-x-1.eu.aws.neon.tech", 5432, "neondb")
    lineage = operator_lineage(
        [TableCopy(src, "public", "orders", neon, "public", "orders", ("id", "total"))],
        external_run_id="arn:aws:dms:eu-west-1:1:task:T",
        error="Replication task T: failed",
    )
    [out] = lineage.outputs
    fields = out.facets["columnLineage"].fields
    assert set(fields) == {"id", "total"}
    assert fields["total"].transformationType == "IDENTITY"
    assert [(f.namespace, f.name, f.field) for f in fields["total"].inputFields] == [
        ("postgres://src:5432", "shop.public.orders", "total")
    ]
    assert lineage.run_facets["externalQuery"].externalQueryId == "arn:aws:dms:eu-west-1:1:task:T"
    assert lineage.run_facets["externalQuery"].source == "aws-dms"
    assert lineage.run_facets["errorMessage"].message == "Replication task T: failed"

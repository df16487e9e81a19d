"""Migrated Neon tables as Airflow assets: URIs, and asset events for verified tables only.

A ``dag.test()`` run of ``NeonDataDiffOperator`` with an ``AssetAlias`` outlet compares two real
PostgreSQL databases (one table identical, one not); the events are read back from the run's
metadata database.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from airflow_neon_dms.assets import neon_table_uri, verified_migration_asset, verified_tables_alias
from tests.dag_runs import run_dag_script

DAG_FILE = """
from __future__ import annotations

import json

import pendulum
from airflow.sdk import DAG, AssetAlias

from airflow_neon_dms.operators.data_diff import NeonDataDiffOperator

with DAG("asset_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
    NeonDataDiffOperator(
        task_id="data_diff", source_conn_id="src", neon_conn_id="neon",
        tables=["app.users", "app.orders"], outlets=[AssetAlias("asset_dag.verified_tables")],
    )

if __name__ == "__main__":
    run = dag.test()
    ti = run.get_task_instances()[0]
    print("RESULT " + json.dumps({"state": str(ti.state), "run_id": run.run_id,
                                  "report": ti.xcom_pull(task_ids="data_diff")}))
"""

TABLES = """
CREATE SCHEMA app;
CREATE TABLE app.users (id int PRIMARY KEY, name text);
CREATE TABLE app.orders (id int PRIMARY KEY, total numeric);
INSERT INTO app.users SELECT g, 'u' || g FROM generate_series(1, 25) g;
INSERT INTO app.orders SELECT g, g * 1.5 FROM generate_series(1, 40) g;
"""


def _conn(server: Any, database: str, conn_type: str, **extra: Any) -> str:
    fields = {"conn_type": conn_type, "host": server.host, "port": server.port, "login": server.user}
    return json.dumps({**fields, "password": server.password, "schema": database, "extra": extra})


def _events(home: Path, dag_id: str) -> list[tuple[str, dict[str, Any]]]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT asset.uri, asset_event.extra FROM asset_event "
            "JOIN asset ON asset.id = asset_event.asset_id "
            "WHERE asset_event.source_dag_id = ? ORDER BY asset.uri",
            (dag_id,),
        ).fetchall()
    return [(uri, json.loads(extra)) for uri, extra in rows]


def test_uri_is_the_postgres_scheme_with_explicit_port_and_encoded_names() -> None:
    assert neon_table_uri(
        "EP-Cool-Darkness-123456.us-east-2.aws.neon.tech", 5432, "neondb", "public", "orders"
    ) == ("postgres://ep-cool-darkness-123456.us-east-2.aws.neon.tech:5432/neondb/public/orders")
    assert neon_table_uri("127.0.0.1", 6543, "shop db", "Sales", "a/b") == (
        "postgres://127.0.0.1:6543/shop%20db/Sales/a%2Fb"
    )


def test_uri_is_kept_as_written_by_airflow() -> None:
    from airflow.sdk import Asset

    uri = neon_table_uri("ep-x.neon.tech", 5432, "neondb", "public", "orders")
    assert Asset(uri=uri).uri == uri
    assert verified_migration_asset("neon_dms_migration").name == "neon_dms_migration.verified"
    assert verified_tables_alias("neon_dms_migration").name == "neon_dms_migration.verified_tables"


def test_only_identical_tables_get_asset_events(dag_test_home: Path, pg_server, make_pg_database) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    source_db, neon_db = make_pg_database(), make_pg_database()
    for database in (source_db, neon_db):
        with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
            conn.execute(TABLES)
    with psycopg.connect(pg_server.dsn(neon_db), autocommit=True) as conn:
        conn.execute("DELETE FROM app.orders WHERE id = 7")

    run = run_dag_script(
        dag_test_home,
        "asset_dag",
        DAG_FILE,
        AIRFLOW_CONN_SRC=_conn(pg_server, source_db, "postgres"),
        AIRFLOW_CONN_NEON=_conn(pg_server, neon_db, "neon", sslmode="disable"),
    )

    assert run.result["state"] == "success", run.output[-3000:]
    users = f"postgres://{pg_server.host}:{pg_server.port}/{neon_db}/app/users"
    assert run.result["report"]["verified_assets"] == [users]
    events = _events(dag_test_home, "asset_dag")
    assert events == [(users, {"source_table": "app.users", "rows": 25, "compared_as": "key"})]
    with sqlite3.connect(dag_test_home / "airflow.db") as db:
        aliased = db.execute(
            "SELECT asset_alias.name FROM asset_alias_asset_event "
            "JOIN asset_alias ON asset_alias.id = asset_alias_asset_event.alias_id "
            "JOIN asset_event ON asset_event.id = asset_alias_asset_event.event_id "
            "WHERE asset_event.source_run_id = ?",
            (run.result["run_id"],),
        ).fetchall()
    assert aliased == [("asset_dag.verified_tables",)]

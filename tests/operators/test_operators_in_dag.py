"""The pre-flight, list, sequence and diff operators in a real DAG run (``dag.test()``).

Each run gets its own Airflow home with a migrated SQLite metadata database, connections from
``AIRFLOW_CONN_*`` variables, and real PostgreSQL databases for the source and the Neon stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

SECRET = "pw-never-shown-7781"

DAG_FILE = """
from __future__ import annotations

import json

import pendulum
from airflow.sdk import DAG

from airflow_neon_dms.operators.data_diff import NeonDataDiffOperator, NeonListMappedTablesOperator
from airflow_neon_dms.operators.schema_preflight import NeonSchemaPreflightOperator
from airflow_neon_dms.operators.sequences import NeonSequenceSyncOperator

MAPPING = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "app",
           "object-locator": {"schema-name": "app", "table-name": "%"}, "rule-action": "include"}]}
WITH_FK = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "fk",
           "object-locator": {"schema-name": "fk", "table-name": "%"}, "rule-action": "include"}]}

with DAG("neon_dms_proof_test", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
    preflight = NeonSchemaPreflightOperator(
        task_id="preflight", source_conn_id="src", neon_conn_id="neon", table_mappings=MAPPING
    )
    preflight_fk = NeonSchemaPreflightOperator(
        task_id="preflight_fk", source_conn_id="src", neon_conn_id="neon", table_mappings=WITH_FK
    )
    listed = NeonListMappedTablesOperator(task_id="list_tables", source_conn_id="src", table_mappings=MAPPING)
    sequences = NeonSequenceSyncOperator(
        task_id="sync_sequences", neon_conn_id="neon", source_conn_id="src", table_mappings=MAPPING
    )
    diff_all = NeonDataDiffOperator(
        task_id="diff_all", source_conn_id="src", neon_conn_id="neon", table_mappings=MAPPING
    )
    diff_each = NeonDataDiffOperator.partial(
        task_id="diff_each", source_conn_id="src", neon_conn_id="neon", max_connections=2
    ).expand(table=listed.output)
    diff_keyless = NeonDataDiffOperator(
        task_id="diff_keyless", source_conn_id="src", neon_conn_id="neon", table="logs.page_views"
    )
    diff_columns = NeonDataDiffOperator(
        task_id="diff_columns", source_conn_id="src", neon_conn_id="neon", table="cols.t",
        fail_on_difference=True,
    )
    diff_columns_ignored = NeonDataDiffOperator(
        task_id="diff_columns_ignored", source_conn_id="src", neon_conn_id="neon", table="cols.t",
        ignore_columns=["{{ 'sec' ~ 'ret' }}"], fail_on_difference=True,
    )
    preflight >> listed >> sequences >> diff_all

if __name__ == "__main__":
    run = dag.test()
    out = {}
    for ti in run.get_task_instances():
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        out[name] = {
            "state": str(ti.state),
            "return": ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index),
            "report": ti.xcom_pull(task_ids=ti.task_id, key="report", map_indexes=ti.map_index),
        }
    print("RESULT " + json.dumps(out, default=str))
"""

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.users (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE app.orders (id bigint PRIMARY KEY, user_id int, total numeric(10, 2));
CREATE SCHEMA fk;
CREATE TABLE fk.parent (id int PRIMARY KEY);
CREATE SCHEMA logs;
CREATE TABLE logs.page_views (path text, n int);
INSERT INTO logs.page_views SELECT '/p/' || (g % 20), g % 20 FROM generate_series(1, 60) g;
CREATE SCHEMA cols;
"""


def _prepare(source_dsn: str, target_dsn: str) -> None:
    for dsn in (source_dsn, target_dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SCHEMA)
            conn.execute("INSERT INTO app.users (name) SELECT 'u' || g FROM generate_series(1, 40) g")
            conn.execute(
                "INSERT INTO app.orders SELECT g, g % 40 + 1, g * 2.5 FROM generate_series(1, 500) g"
            )
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE fk.child (id int PRIMARY KEY, parent_id int)")
        conn.execute("CREATE TABLE cols.t (id int PRIMARY KEY, v text, secret text)")  # not on Neon
        conn.execute("INSERT INTO cols.t SELECT g, 'v' || g, 's' || g FROM generate_series(1, 30) g")
    with psycopg.connect(target_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE fk.child (id int PRIMARY KEY, parent_id int REFERENCES fk.parent (id))")
        conn.execute("CREATE TABLE cols.t (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO cols.t SELECT g, 'v' || g FROM generate_series(1, 30) g")
        conn.execute("DELETE FROM app.orders WHERE id IN (17, 401)")
        conn.execute("UPDATE app.orders SET total = 0 WHERE id = 250")
        conn.execute(  # one of three equal rows of a table without a key
            "DELETE FROM logs.page_views WHERE ctid = (SELECT ctid FROM logs.page_views WHERE n = 4 LIMIT 1)"
        )
        conn.execute("SELECT setval('app.users_id_seq', 1, false)")  # a load leaves the sequence behind


def _conn_json(server: Any, database: str, conn_type: str, **extra: Any) -> str:
    return json.dumps(
        {
            "conn_type": conn_type,
            "host": server.host,
            "port": server.port,
            "login": server.user,
            "password": server.password or SECRET,
            "schema": database,
            "extra": extra,
        }
    )


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home


def test_operators_in_a_dag_run(airflow_home: Path, pg_server, make_pg_database) -> None:  # type: ignore[no-untyped-def]
    source_db, target_db = make_pg_database(), make_pg_database()
    _prepare(pg_server.dsn(source_db), pg_server.dsn(target_db))
    dags = airflow_home / "dags"
    dags.mkdir(exist_ok=True)
    (dags / "proof_dag.py").write_text(DAG_FILE)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_SRC": _conn_json(pg_server, source_db, "postgres"),
        "AIRFLOW_CONN_NEON": _conn_json(pg_server, target_db, "neon", sslmode="disable"),
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    proc = subprocess.run(
        [sys.executable, str(dags / "proof_dag.py")], env=env, capture_output=True, text=True, timeout=600
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT ") :])

    assert result["preflight"]["state"] == "success"
    assert result["preflight"]["return"]["passed"] is True
    assert result["preflight"]["report"] is None  # pushed separately only when the task fails
    assert result["preflight_fk"]["state"] == "failed"
    fk_codes = [p["code"] for p in result["preflight_fk"]["report"]["problems"]]
    assert fk_codes == ["target_foreign_key"]

    assert result["list_tables"]["return"] == [
        {"schema": "app", "table": "orders", "target_schema": "app", "target_table": "orders"},
        {"schema": "app", "table": "users", "target_schema": "app", "target_table": "users"},
    ]
    sequences = result["sync_sequences"]["return"]
    assert sequences["changed"] == 1
    assert [(s["sequence"], s["new_next"]) for s in sequences["sequences"]] == [("app.users_id_seq", 41)]

    report = result["diff_all"]["return"]
    assert result["diff_all"]["state"] == "success"
    assert report["complete"] is True and report["identical"] is False
    assert report["tables_to_reload"] == [
        {
            "schema": "app",
            "table": "orders",
            "target_schema": "app",
            "target_table": "orders",
            "missing_in_target": 2,
            "missing_in_source": 0,
            "different": 1,
        }
    ]
    orders = next(t for t in report["tables"] if t["table"] == "orders")
    assert (orders["missing_in_target"], orders["different"]) == ([[17], [401]], [[250]])

    mapped = [result[f"diff_each[{i}]"]["return"] for i in range(2)]
    assert [m["tables"][0]["table"] for m in mapped] == ["orders", "users"]
    assert [m["identical"] for m in mapped] == [False, True]

    keyless = result["diff_keyless"]["return"]
    assert result["diff_keyless"]["state"] == "success"
    assert [t["compared_as"] for t in keyless["tables"]] == ["multiset"]
    assert keyless["tables"][0]["missing_in_target"] == [["/p/4", 4]]
    assert keyless["tables_to_reload"] == [
        {
            "schema": "logs",
            "table": "page_views",
            "target_schema": "logs",
            "target_table": "page_views",
            "missing_in_target": 1,
            "missing_in_source": 0,
            "different": 0,
        }
    ]

    # A column on one side only fails a strict diff; naming it in ignore_columns (templated) passes.
    assert result["diff_columns"]["state"] == "failed"
    columns_report = result["diff_columns"]["report"]
    assert columns_report["identical"] is False and columns_report["tables_to_reload"] == []
    assert columns_report["column_differences"][0]["only_in_source_columns"] == ["secret"]
    assert result["diff_columns_ignored"]["state"] == "success"
    ignored = result["diff_columns_ignored"]["return"]
    assert ignored["identical"] is True
    assert ignored["tables"][0]["ignored_columns"] == ["secret"]

    everything = json.dumps(result) + proc.stdout + proc.stderr
    for log_file in (airflow_home / "logs").rglob("*"):
        if log_file.is_file():
            everything += log_file.read_text(errors="replace")
    assert "Comparing 1 table(s)" in everything  # the task logs are part of what is searched
    assert "logs.page_views: DIFFERENT, compared as a multiset of full rows (no key)" in everything
    assert "cols.t has column(s) only on the source: secret (name them in ignore_columns" in everything
    assert "cols.t: identical, compared by key" in everything and "; ignored: secret)" in everything
    assert SECRET not in everything

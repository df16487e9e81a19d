"""NeonDmsStartReplicationOperator with PremigrationAssessmentSettings, against the local DMS over
HTTP and real databases: DMS runs the assessment before the replication, and the operator judges
it with the instance path's rules (operators/assessment.judge_assessment)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from airflow.sdk.exceptions import AirflowFailException
from psycopg import sql

from airflow_neon_dms.exceptions import NeonConfigError, PremigrationAssessmentError
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.local.assessment_checks import LOB_WITHOUT_KEY, UNSUPPORTED_TYPES
from tests.unit.conftest import PAIR_ROWS, make_context
from tests.unit.operators.test_serverless import (  # noqa: F401 (fixtures)
    _create,
    _start,
    _start_deferred,
    configs,
    dms_server,
    provisioning_dms,
)


def _target_rows(pg_server: Any, database: str, table: str) -> int:
    with psycopg.connect(pg_server.dsn(database)) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
        if found is None or found[0] is None:
            return -1
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", table))
        row = conn.execute(query).fetchone()
        return int(row[0]) if row else 0


def _add_keyless_lob_table(pg_server: Any, endpoint_pair: Any) -> None:
    for database in (endpoint_pair.source_db, endpoint_pair.target_db):
        with psycopg.connect(pg_server.dsn(database), autocommit=True) as conn:
            conn.execute("CREATE TABLE notes (id int, body text)")
    with psycopg.connect(pg_server.dsn(endpoint_pair.source_db), autocommit=True) as conn:
        conn.execute("INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 7) g")


def _new_config(endpoint_pair: Any, configs: list[str], unique_id: Callable[[str], str]) -> str:  # noqa: F811
    identifier = unique_id("config")
    configs.append(identifier)
    return str(_create(endpoint_pair, identifier, max_capacity_units=2).execute(make_context()))


def test_failed_assessment_keeps_the_replication_from_starting_and_fails_with_the_table(
    aws_conn: str,
    endpoint_pair: Any,
    pg_server: Any,
    configs: list[str],  # noqa: F811
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with psycopg.connect(pg_server.dsn(endpoint_pair.source_db), autocommit=True) as conn:
        conn.execute("CREATE TYPE price_pair AS (amount numeric, currency text)")
        conn.execute("CREATE TABLE priced (id int PRIMARY KEY, price price_pair)")
    arn = _new_config(endpoint_pair, configs, unique_id)
    with pytest.raises(PremigrationAssessmentError, match=f"failed.*{UNSUPPORTED_TYPES}") as raised:
        _start_deferred(arn, context_factory(), premigration_assessment_settings={})
    # a retry would only read the same result: the task fails without retries
    assert isinstance(raised.value, AirflowFailException)
    logged = capsys.readouterr().out
    rows = [line for line in logged.splitlines() if line.startswith(UNSUPPORTED_TYPES)]
    assert rows and "failed" in rows[0], logged
    replication = NeonDmsHook(aws_conn_id="aws_default").require_replication(arn)
    assert replication["Status"] == "failed"  # DMS did not start it (FailOnAssessmentFailure)
    assert _target_rows(pg_server, endpoint_pair.target_db, "items") == 0


def test_warn_only_runs_the_replication_and_reports_the_failed_assessment(
    aws_conn: str,
    endpoint_pair: Any,
    pg_server: Any,
    configs: list[str],  # noqa: F811
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    _add_keyless_lob_table(pg_server, endpoint_pair)
    arn = _new_config(endpoint_pair, configs, unique_id)
    summary = _start(
        arn,
        premigration_assessment_settings='{"FailOnAssessmentFailure": false, "ResultLocationFolder": "pre"}',
    ).execute(context_factory())
    assert (summary["status"], summary["stop_reason"]) == ("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED")
    assessment = summary["premigration_assessment"]
    assert assessment["status"] == "failed"
    assert assessment["failed"] == [LOB_WITHOUT_KEY]
    assert assessment["assessments"][UNSUPPORTED_TYPES] == "passed"
    assert "/pre/" in assessment["result_location"]
    assert _target_rows(pg_server, endpoint_pair.target_db, "items") == PAIR_ROWS
    assert _target_rows(pg_server, endpoint_pair.target_db, "notes") == 7


def test_settings_dms_serverless_does_not_take_are_refused_before_the_start(
    aws_conn: str,
    endpoint_pair: Any,
    configs: list[str],  # noqa: F811
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    arn = _new_config(endpoint_pair, configs, unique_id)
    op = _start(arn, premigration_assessment_settings={"ResultLocationBucket": "my-bucket"})
    with pytest.raises(NeonConfigError, match="system-managed S3 bucket"):
        op.execute(context_factory())
    assert NeonDmsHook(aws_conn_id="aws_default").require_replication(arn)["Status"] == "created"


@pytest.mark.parametrize(
    ("replication", "words"),
    [
        ({"Status": "stopped"}, "no PremigrationAssessmentStatuses"),
        (
            {"Status": "stopped", "PremigrationAssessmentStatuses": [{"Status": "rethinking"}]},
            "does not model",
        ),
        ({"Status": "stopped", "PremigrationAssessmentStatuses": [{"Status": "running"}]}, "does not model"),
    ],
)
def test_a_missing_or_unmodelled_assessment_status_fails_closed(
    replication: dict[str, Any], words: str
) -> None:
    op = _start("arn:aws:dms:us-east-1:123456789012:replication-config:X")
    with pytest.raises(PremigrationAssessmentError, match=words):
        op.judge_premigration(replication, fail_on_failed=True)

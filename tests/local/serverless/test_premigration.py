"""StartReplication's PremigrationAssessmentSettings on the local DMS: the assessment runs against
the real databases before the replication, its results land in the system-managed S3 bucket, and a
failed assessment keeps the replication from starting unless FailOnAssessmentFailure is false."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from airflow_neon_dms.local.assessment_checks import LOB_WITHOUT_KEY, NO_KEY_FOR_CDC, UNSUPPORTED_TYPES
from tests.local.serverless.support import create_config, replication, wait_for
from tests.local.support import Dms
from tests.local.test_assessments import s3_client


def _settings(**values: Any) -> str:
    return json.dumps(values)


def _individual(dms: Dms, run_arn: str) -> dict[str, str]:
    answer = dms.client.describe_replication_task_individual_assessments(
        Filters=[{"Name": "replication-task-assessment-run-arn", "Values": [run_arn]}]
    )["ReplicationTaskIndividualAssessments"]
    return {a["IndividualAssessmentName"]: a["Status"] for a in answer}


def _target_tables(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        return [r[0] for r in rows]


def _settled(current: dict[str, Any]) -> bool:
    return current["Status"] in ("stopped", "failed")


def test_failed_assessment_names_the_keyless_table_and_the_unsupported_type_and_blocks_the_start(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str], local_dms: Any
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TYPE money_pair AS (amount numeric, currency text)")
        conn.execute("CREATE TABLE keyed (id int PRIMARY KEY, note text)")
        conn.execute("CREATE TABLE no_key (id int, note text)")
        conn.execute("CREATE TABLE odd_type (id int PRIMARY KEY, price money_pair)")
    config = create_config(
        dms.client,
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
        replication_type="full-load-and-cdc",
    )
    applicable = dms.client.describe_applicable_individual_assessments(ReplicationConfigArn=config)[
        "IndividualAssessmentNames"
    ]
    assert {UNSUPPORTED_TYPES, NO_KEY_FOR_CDC, LOB_WITHOUT_KEY} <= set(applicable)

    started = dms.client.start_replication(
        ReplicationConfigArn=config,
        StartReplicationType="start-replication",
        PremigrationAssessmentSettings=_settings(ResultLocationFolder="premigration"),
    )["Replication"]
    assert started["PremigrationAssessmentStatuses"][0]["Status"] in ("starting", "running")

    done = wait_for(dms.client, config, _settled, "settled after its assessment")
    assert done["Status"] == "failed"
    assert "Premigration assessment" in done["FailureMessages"][0]
    [status] = done["PremigrationAssessmentStatuses"]
    assert status["Status"] == "failed"
    assert status["FailOnAssessmentFailure"] is True
    assert status["ResultStatistic"]["Failed"] >= 3
    assert status["AssessmentProgress"]["IndividualAssessmentCompletedCount"] == len(applicable)
    assert status["ResultLocationFolder"] == "premigration"
    assert _target_tables(pg_server.dsn(target_db)) == []  # not a row moved

    run_arn = status["PremigrationAssessmentRunArn"]
    statuses = _individual(dms, run_arn)
    assert statuses[UNSUPPORTED_TYPES] == statuses[NO_KEY_FOR_CDC] == "failed"

    s3 = s3_client(local_dms.endpoint_url)
    bucket, run_id = status["ResultLocationBucket"], run_arn.rsplit(":", 1)[-1]

    def result(name: str) -> dict[str, Any]:
        key = f"premigration/{run_id}/{name}/{name}-result.json"
        return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))

    unsupported = result(UNSUPPORTED_TYPES)
    assert unsupported["ReplicationConfigArn"] == config
    assert [(o["TableName"], o["ColumnName"]) for o in unsupported["Objects"]] == [("odd_type", "price")]
    assert [o["TableName"] for o in result(NO_KEY_FOR_CDC)["Objects"]] == ["no_key"]

    # the replication never ran, so its next start is a first run again, and it lists both runs
    dms.client.start_replication(
        ReplicationConfigArn=config,
        StartReplicationType="start-replication",
        PremigrationAssessmentSettings=_settings(IncludeOnly=UNSUPPORTED_TYPES),
    )
    again = wait_for(dms.client, config, _settled, "settled after its second assessment")
    runs = again["PremigrationAssessmentStatuses"]
    assert len(runs) == 2
    assert runs[1]["AssessmentProgress"]["IndividualAssessmentCount"] == 1
    assert list(_individual(dms, runs[1]["PremigrationAssessmentRunArn"])) == [UNSUPPORTED_TYPES]


def test_warn_only_assessment_lets_the_full_load_run(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE no_key (id int, note text)")
        conn.execute("INSERT INTO no_key SELECT g, 'n' || g FROM generate_series(1, 5) AS g")
    with psycopg.connect(pg_server.dsn(target_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE no_key (id int, note text)")
    config = create_config(
        dms.client,
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
    )
    dms.client.start_replication(
        ReplicationConfigArn=config,
        StartReplicationType="start-replication",
        PremigrationAssessmentSettings=_settings(FailOnAssessmentFailure=False),
    )
    done = wait_for(dms.client, config, _settled, "finished its full load")
    assert (done["Status"], done["StopReason"]) == ("stopped", "Stop Reason FULL_LOAD_ONLY_FINISHED")
    [status] = done["PremigrationAssessmentStatuses"]
    assert (status["Status"], status["FailOnAssessmentFailure"]) == ("failed", False)
    assert _individual(dms, status["PremigrationAssessmentRunArn"])[LOB_WITHOUT_KEY] == "failed"
    with psycopg.connect(pg_server.dsn(target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM no_key").fetchone() == (5,)


@pytest.mark.parametrize(
    ("settings", "code", "words"),
    [
        ("{not json", "InvalidParameterValueException", "not valid JSON"),
        (_settings(ResultLocationBucket="mine"), "InvalidParameterValueException", "unknown key"),
        (
            _settings(IncludeOnly=UNSUPPORTED_TYPES, Exclude=LOB_WITHOUT_KEY),
            "InvalidParameterCombinationException",
            "both IncludeOnly and Exclude",
        ),
        (_settings(Exclude="no-such-assessment"), "InvalidParameterValueException", "do not apply"),
        (_settings(ResultEncryptionMode="PLAIN"), "InvalidParameterValueException", "ResultEncryptionMode"),
        (_settings(FailOnAssessmentFailure="maybe"), "InvalidParameterValueException", "true or false"),
    ],
)
def test_bad_settings_are_refused_and_start_nothing(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str], settings: str, code: str, words: str
) -> None:
    source_db, target_db = pg_pair
    config = create_config(
        dms.client,
        dms.pg_endpoint("source", pg_server, source_db),
        dms.pg_endpoint("target", pg_server, target_db),
    )
    start: Callable[[], Any] = lambda: dms.client.start_replication(  # noqa: E731
        ReplicationConfigArn=config,
        StartReplicationType="start-replication",
        PremigrationAssessmentSettings=settings,
    )
    with pytest.raises(ClientError) as raised:
        start()
    assert raised.value.response["Error"]["Code"] == code
    assert words in raised.value.response["Error"]["Message"]
    current = replication(dms.client, config)
    assert current["Status"] == "created"
    assert "PremigrationAssessmentStatuses" not in current

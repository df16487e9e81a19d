"""
Migrate a database into Neon with AWS DMS, end to end.

Connections: ``dms_source`` (the source database), ``neon_target`` (type ``neon``) and
``aws_default`` (its extra ``endpoint_url`` points boto3 at the local DMS emulator; leave it out
for real AWS); ``smtp_default`` (type ``smtp``) when mail alerts are on. Params:
``replication_instance_arn`` (required; an ARN or the instance identifier), ``source_schema``
(default: ``public`` for a PostgreSQL source; for a MySQL/MariaDB source the database in the
``dms_source`` connection's Schema field, since DMS takes a MySQL database as the table mapping's
schema and never as the endpoint's DatabaseName), ``exclude_tables`` (table-name patterns to leave
out), ``task_identifier``, ``endpoint_prefix``, ``target_load_logging`` (TARGET_LOAD log severity:
LOGGER_SEVERITY_DEBUG; LOGGER_SEVERITY_DETAILED_DEBUG is an opt-in that may write row data to
CloudWatch), ``notify_email`` (addresses that get the failure alert and the closing report),
``migration_type`` (``full-load``, the default, or ``full-load-and-cdc``), ``cutover`` (with CDC:
``approval``, the default, or ``quiet``; empty for a full load), ``quiet_seconds``,
``premigration_assessment`` (on by default), ``assessment_role_arn`` and ``assessment_bucket`` (the
IAM role DMS assumes and the S3 bucket for the assessment's results),
``compute`` (``instance``, the default, or ``serverless``: DMS Serverless with
``max_capacity_units``/``min_capacity_units`` and no replication instance).

Flow: table mapping -> schema pre-flight -> source and Neon endpoints -> connection tests from
the replication instance -> replication task -> DMS premigration assessment (when the Param is on)
-> start and wait -> DMS validation -> reload the
failed tables, only if there are any -> independent data diff -> sequence sync -> report.
With ``compute=serverless`` a replication config and its replication (task group ``serverless``)
take the place of the connection tests, the task and its run; the rest is the same, the CDC path
included (DescribeReplications, DescribeReplicationTableStatistics, the replication's
``ReplicationConfigId`` metrics, StopReplication at cutover). There the premigration assessment is
part of StartReplication (PremigrationAssessmentSettings: DMS runs it before the replication and
keeps its results in its own bucket, so the role and bucket Params are not used), judged by the
same rules as the task's run.

With ``full-load-and-cdc`` the task keeps applying the source's changes after its load, and the
``cdc`` group takes it to the cutover: the full load done (every table loaded, its cached changes
applied) before validation; after validation, replication lag under ``NEON_DMS_MAX_LAG_SECONDS``,
then either a person approves that the application stopped writing (``cutover=approval``) or the
task shows no changes for ``quiet_seconds`` (``cutover=quiet``); the cutover proves the target
caught up and stops the task; then the data diff (must be identical) and the sequence sync, after
the last change. The report states the cutover window.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, BaseNotifier, Param, TaskGroup, get_current_context, task

from airflow_neon_dms.assets import verified_migration_asset, verified_tables_alias
from airflow_neon_dms.callbacks import log_failed_step
from airflow_neon_dms.notifications.notifier import (
    NeonDmsAlertNotifier,
    NeonDmsSmtpNotifier,
    slack_webhook_notifier,
)
from airflow_neon_dms.operators.assessment import NeonDmsPremigrationAssessmentOperator
from airflow_neon_dms.operators.connection_test import NeonDmsTestConnectionOperator
from airflow_neon_dms.operators.cutover import NeonDmsCutoverOperator
from airflow_neon_dms.operators.data_diff import NeonDataDiffOperator
from airflow_neon_dms.operators.endpoint import NeonDmsSourceEndpointOperator, NeonTargetEndpointOperator
from airflow_neon_dms.operators.reload import NeonDmsReloadTablesOperator
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.operators.schema_preflight import NeonSchemaPreflightOperator
from airflow_neon_dms.operators.sequences import NeonSequenceSyncOperator
from airflow_neon_dms.operators.serverless import (
    NeonDmsCreateReplicationConfigOperator,
    NeonDmsStartReplicationOperator,
)
from airflow_neon_dms.operators.task import NeonDmsCreateTaskOperator
from airflow_neon_dms.operators.validation import NeonDmsValidationOperator
from airflow_neon_dms.sensors.full_load import NeonDmsFullLoadDoneSensor
from airflow_neon_dms.sensors.lag import NeonDmsQuiescenceSensor, NeonDmsReplicationLagSensor

DAG_ID = "neon_dms_migration"
SOURCE_CONN_ID = "dms_source"
NEON_CONN_ID = "neon_target"
AWS_CONN_ID = "aws_default"
SMTP_CONN_ID = "smtp_default"
#: A Slack incoming-webhook connection id turns Slack alerts on (needs the slack provider).
SLACK_WEBHOOK_CONN_ID = os.environ.get("NEON_DMS_SLACK_WEBHOOK_CONN_ID")
#: Seconds between polls of DMS; the local demo sets a short one.
POLL_SECONDS = float(os.environ.get("NEON_DMS_POLL_SECONDS", "30"))
#: CloudWatch period of the CDC waits: AWS DMS publishes task metrics every 60 s (the local DMS
#: every 5 s, which the demo sets).
METRICS_PERIOD = int(os.environ.get("NEON_DMS_METRICS_PERIOD", "60"))
#: Replication lag (CDCLatencySource/Target, seconds) the target must stay under, and for how long,
#: before the cutover is offered.
MAX_LAG_SECONDS = float(os.environ.get("NEON_DMS_MAX_LAG_SECONDS", "5"))
LAG_WINDOW_SECONDS = float(os.environ.get("NEON_DMS_LAG_WINDOW_SECONDS", "300"))
#: "false" lets a failed premigration assessment only warn (the local demo's keyless table).
ASSESSMENT_FAIL_ON_FAILED = os.environ.get("NEON_DMS_ASSESSMENT_FAIL_ON_FAILED", "true").lower() != "false"
#: S3 folder of the assessment results (in assessment_bucket, or DMS Serverless's own bucket).
ASSESSMENT_FOLDER = "premigration-assessments"

# [START aws_retries]
#: ControlTablesSettings.ControlSchema of a task with CDC.
CONTROL_SCHEMA = "awsdms_control"

AWS_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay": datetime.timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "max_retry_delay": datetime.timedelta(minutes=10),
}
# [END aws_retries]

# [START notifiers]
# Any Airflow notifier can go here; its templates read the message as ``neon_dms_alert``
# (subject, text, html). The mail goes to the run's ``notify_email`` Param (none: no mail).
NOTIFIERS: list[BaseNotifier] = [
    NeonDmsSmtpNotifier(to="{{ params.notify_email }}", smtp_conn_id=SMTP_CONN_ID)
]
if SLACK_WEBHOOK_CONN_ID:
    NOTIFIERS.append(slack_webhook_notifier(SLACK_WEBHOOK_CONN_ID))
# [END notifiers]

# [START assets]
# One event per migrated table proven identical (through the alias, as tables are known only at
# run time), and one on the fixed asset when the whole migration finished verified: schedule a
# downstream DAG on MIGRATION_VERIFIED (see dags/neon_migration_consumer.py).
VERIFIED_TABLES = verified_tables_alias(DAG_ID)
MIGRATION_VERIFIED = verified_migration_asset(DAG_ID)
# [END assets]

with DAG(
    dag_id=DAG_ID,
    description="Migrate a database into Neon with AWS DMS, verified end to end",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["neon", "dms", "migration"],
    default_args={"on_failure_callback": [log_failed_step, NeonDmsAlertNotifier(*NOTIFIERS)]},
    params={
        "replication_instance_arn": Param(
            os.environ.get("NEON_DMS_REPLICATION_INSTANCE_ARN"),
            type=["null", "string"],
            description="ARN (or identifier) of the DMS replication instance that runs the migration.",
        ),
        # [START serverless_params]
        "compute": Param(
            "instance",
            enum=["instance", "serverless"],
            description="instance: a replication task on replication_instance_arn. serverless: DMS "
            "Serverless (a replication config; leave replication_instance_arn empty).",
        ),
        "max_capacity_units": Param(
            2,
            enum=[1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384],
            description="Serverless: the most DMS capacity units (DCU, 2 GB each) DMS may provision.",
        ),
        "min_capacity_units": Param(
            None,
            type=["null", "integer"],
            description="Serverless: the fewest DCUs (DMS's default when empty).",
        ),
        # [END serverless_params]
        "source_schema": Param(
            None,
            type=["null", "string"],
            description="Source schema to migrate. Default: public for PostgreSQL; for MySQL/MariaDB "
            "the database in the source connection's Schema field.",
        ),
        "exclude_tables": Param(
            [p for p in os.environ.get("NEON_DMS_EXCLUDE_TABLES", "").split(",") if p],
            type="array",
            description="Table-name patterns (% wildcard) to leave out.",
        ),
        "task_identifier": Param("neon-dms-migration", type="string", description="DMS task identifier."),
        "endpoint_prefix": Param("neon-dms", type="string", description="Prefix of the DMS endpoint ids."),
        "notify_email": Param(
            [a for a in os.environ.get("NEON_DMS_NOTIFY_EMAIL", "").split(",") if a],
            type="array",
            items={"type": "string"},
            description=f"Mail addresses for the failure alert and the closing report (sent through "
            f"the {SMTP_CONN_ID!r} connection). Empty: no mail.",
        ),
        "target_load_logging": Param(
            "LOGGER_SEVERITY_DEBUG",
            enum=["LOGGER_SEVERITY_DEBUG", "LOGGER_SEVERITY_DETAILED_DEBUG", "LOGGER_SEVERITY_INFO"],
            description="TARGET_LOAD log severity in CloudWatch. DETAILED_DEBUG may write row data "
            "to the log: choose it only where the log may hold the data.",
        ),
        "premigration_assessment": Param(
            True, type="boolean", description="Run DMS's premigration assessment before the full load."
        ),
        "assessment_role_arn": Param(
            os.environ.get("NEON_DMS_ASSESSMENT_ROLE_ARN"),
            type=["null", "string"],
            description="IAM role DMS assumes to write the assessment results to S3 (iam:PassRole).",
        ),
        "assessment_bucket": Param(
            os.environ.get("NEON_DMS_ASSESSMENT_BUCKET"),
            type=["null", "string"],
            description="S3 bucket for the premigration assessment results.",
        ),
        # [START cdc_params]
        "migration_type": Param(
            os.environ.get("NEON_DMS_MIGRATION_TYPE", "full-load"),
            enum=["full-load", "full-load-and-cdc"],
            description="full-load: a one-time copy. full-load-and-cdc: load, keep applying the "
            "source's changes, and cut over when the application has stopped writing (the source "
            "needs logical decoding or a ROW binary log: see the pre-flight).",
        ),
        "cutover": Param(
            os.environ.get("NEON_DMS_CUTOVER") or None,
            type=["null", "string"],
            enum=[None, "approval", "quiet"],
            description="With full-load-and-cdc: approval (default) asks a person to confirm the "
            "application stopped writing; quiet waits until the task sees no changes for "
            "quiet_seconds. Leave empty for full-load.",
        ),
        "quiet_seconds": Param(
            float(os.environ.get("NEON_DMS_QUIET_SECONDS", "300")),
            type="number",
            minimum=0,
            description="cutover=quiet: how long the task must see no changes and no lag.",
        ),
        # [END cdc_params]
    },
    doc_md=__doc__,
) as dag:
    # [START build_mapping]
    @task(multiple_outputs=True)
    def plan(params: dict[str, Any]) -> dict[str, Any]:
        """Check the Params, find the replication instance, build the table mapping and settings once."""
        from airflow_neon_dms.dms.assessments import checked_premigration_settings
        from airflow_neon_dms.dms.cutover_plan import cutover_mode
        from airflow_neon_dms.dms.mappings import TableMappings
        from airflow_neon_dms.dms.replication_states import COMPUTE_SERVERLESS, compute_choice, compute_config
        from airflow_neon_dms.dms.task_settings import TaskSettings
        from airflow_neon_dms.exceptions import NeonConfigError
        from airflow_neon_dms.hooks.dms import NeonDmsHook
        from airflow_neon_dms.operators.db_endpoints import source_schema
        from airflow_neon_dms.operators.fail_fast import fail_fast

        with fail_fast():  # a bad Param or an unknown instance fails at once, without retries
            migration_type = params.get("migration_type") or "full-load"
            cutover = cutover_mode(migration_type, params.get("cutover"))  # before anything exists on AWS
            try:  # a contradiction or a capacity AWS refuses stops here, before anything is created
                compute = compute_choice(params.get("compute"), params.get("replication_instance_arn"))
                capacity = (
                    compute_config(params.get("max_capacity_units"), params.get("min_capacity_units"))
                    if compute == COMPUTE_SERVERLESS
                    else {}
                )
            except ValueError as err:
                raise NeonConfigError(str(err)) from None
            # serverless: DMS runs the assessment as part of StartReplication (results in its own
            # bucket, so no role or bucket); checked here, before any config exists
            assess_serverless = compute == COMPUTE_SERVERLESS and params.get("premigration_assessment")
            premigration = (
                checked_premigration_settings(
                    {
                        "ResultLocationFolder": ASSESSMENT_FOLDER,
                        "FailOnAssessmentFailure": ASSESSMENT_FAIL_ON_FAILED,
                    }
                )
                if assess_serverless
                else None
            )
            instance_arn = (
                None
                if compute == COMPUTE_SERVERLESS
                else NeonDmsHook(aws_conn_id=AWS_CONN_ID).resolve_replication_instance_arn(
                    params.get("replication_instance_arn") or ""
                )
            )
            schema = source_schema(SOURCE_CONN_ID, params.get("source_schema"))
        mappings = TableMappings.include(schema, exclude=params["exclude_tables"])
        # TRUNCATE_BEFORE_LOAD, validation on, CloudWatch logging; TARGET_LOAD at the chosen severity.
        # With CDC, DMS's control tables go to their own schema, not among the migrated tables.
        settings = TaskSettings(
            target_load_severity=params["target_load_logging"],
            control_schema=CONTROL_SCHEMA if cutover else None,
        )
        return {
            "migration_type": migration_type,
            "cutover": cutover,
            "replication_instance_arn": instance_arn,
            "table_mappings": mappings.to_dict(),
            "task_settings": settings.to_dict(),
            "compute": compute,
            "compute_config": capacity,
            "premigration_settings": premigration,
        }

    migration_plan = plan()
    mappings = migration_plan["table_mappings"]
    instance_arn = migration_plan["replication_instance_arn"]
    # [END build_mapping]

    # [START preflight]
    preflight = NeonSchemaPreflightOperator(
        task_id="schema_preflight",
        source_conn_id=SOURCE_CONN_ID,
        neon_conn_id=NEON_CONN_ID,
        table_mappings=mappings,
        migration_type="{{ params.migration_type }}",
    )
    # [END preflight]

    # [START endpoints]
    source_endpoint = NeonDmsSourceEndpointOperator(
        task_id="source_endpoint",
        endpoint_identifier="{{ params.endpoint_prefix }}-source",
        source_conn_id=SOURCE_CONN_ID,
        aws_conn_id=AWS_CONN_ID,
        **AWS_RETRIES,
    )
    neon_endpoint = NeonTargetEndpointOperator(
        task_id="neon_endpoint",
        endpoint_identifier="{{ params.endpoint_prefix }}-neon",
        neon_conn_id=NEON_CONN_ID,
        aws_conn_id=AWS_CONN_ID,
        **AWS_RETRIES,
    )
    test_source = NeonDmsTestConnectionOperator(
        task_id="test_source_connection",
        replication_instance_arn=instance_arn,
        endpoint_arn=source_endpoint.output,
        aws_conn_id=AWS_CONN_ID,
        waiter_delay=POLL_SECONDS,
        **AWS_RETRIES,
    )
    test_neon = NeonDmsTestConnectionOperator(
        task_id="test_neon_connection",
        replication_instance_arn=instance_arn,
        endpoint_arn=neon_endpoint.output,
        aws_conn_id=AWS_CONN_ID,
        waiter_delay=POLL_SECONDS,
        **AWS_RETRIES,
    )
    # [END endpoints]

    # [START replication_task]
    create_task = NeonDmsCreateTaskOperator(
        task_id="create_replication_task",
        replication_task_identifier="{{ params.task_identifier }}",
        source_endpoint_arn=source_endpoint.output,
        target_endpoint_arn=neon_endpoint.output,
        replication_instance_arn=instance_arn,
        table_mappings=mappings,
        task_settings=migration_plan["task_settings"],
        migration_type=migration_plan["migration_type"],
        aws_conn_id=AWS_CONN_ID,
        **AWS_RETRIES,
    )
    # [END replication_task]

    # [START premigration_assessment]
    @task.branch
    def assess_first(params: dict[str, Any]) -> str:
        """Run DMS's premigration assessment unless the run's Param turns it off."""
        return "premigration_assessment" if params["premigration_assessment"] else "run_full_load"

    assessment = NeonDmsPremigrationAssessmentOperator(
        task_id="premigration_assessment",
        replication_task_arn=create_task.output,
        service_access_role_arn="{{ params.assessment_role_arn or '' }}",
        result_bucket="{{ params.assessment_bucket or '' }}",
        result_folder=ASSESSMENT_FOLDER,
        fail_on_failed=ASSESSMENT_FAIL_ON_FAILED,
        aws_conn_id=AWS_CONN_ID,
        waiter_delay=POLL_SECONDS,
    )
    # [END premigration_assessment]

    full_load = NeonDmsStartTaskOperator(
        task_id="run_full_load",
        replication_task_arn=create_task.output,
        neon_conn_id=NEON_CONN_ID,  # OpenLineage: the Neon tables' columns for column lineage
        aws_conn_id=AWS_CONN_ID,
        waiter_delay=POLL_SECONDS,
        trigger_rule="none_failed_min_one_success",
        **AWS_RETRIES,
    )

    # [START serverless]
    @task.branch
    def choose_compute(compute: str) -> list[str]:
        """Instance-based (connection tests from the instance, then the task) or DMS Serverless."""
        if compute == "serverless":
            return ["serverless.create_replication_config"]
        return ["test_source_connection", "test_neon_connection"]

    with TaskGroup("serverless") as serverless:
        create_config = NeonDmsCreateReplicationConfigOperator(
            task_id="create_replication_config",
            replication_config_identifier="{{ params.task_identifier }}",
            source_endpoint_arn=source_endpoint.output,
            target_endpoint_arn=neon_endpoint.output,
            table_mappings=mappings,
            replication_settings=migration_plan["task_settings"],
            replication_type=migration_plan["migration_type"],
            compute_config=migration_plan["compute_config"],
            aws_conn_id=AWS_CONN_ID,
            **AWS_RETRIES,
        )
        run_serverless = NeonDmsStartReplicationOperator(
            task_id="run_replication",
            replication_config_arn=create_config.output,
            # the premigration assessment, when the Param is on: DMS runs it before the replication
            premigration_assessment_settings=migration_plan["premigration_settings"],
            aws_conn_id=AWS_CONN_ID,
            waiter_delay=POLL_SECONDS,
            **AWS_RETRIES,
        )
        create_config >> run_serverless

    @task(trigger_rule="none_failed_min_one_success")
    def migration_run(task_arn: str | None, config_arn: str | None) -> str:
        """The ARN the validation and the reload work on: the task's, or the replication config's."""
        return str(task_arn or config_arn)

    compute_branch = choose_compute(migration_plan["compute"])
    [source_endpoint, neon_endpoint] >> compute_branch >> [test_source, test_neon, serverless]
    run_arn = migration_run(create_task.output, create_config.output)
    [full_load, serverless] >> run_arn
    # [END serverless]

    # [START validate_and_reload]
    validation = NeonDmsValidationOperator(
        task_id="check_validation",
        replication_task_arn=run_arn,
        fail_on_failed_tables=False,
        aws_conn_id=AWS_CONN_ID,
        waiter_delay=POLL_SECONDS,
        trigger_rule="none_failed_min_one_success",  # after the full-load-done wait, or without it
        **AWS_RETRIES,
    )

    @task.branch
    def any_failed_tables(report: dict[str, Any]) -> str:
        """Reload only when DMS reported failed tables."""
        return "reload_failed_tables" if report["failed_tables"] else "cutover_path"

    reload_tables = NeonDmsReloadTablesOperator(
        task_id="reload_failed_tables",
        replication_task_arn=run_arn,
        tables=validation.output["failed_tables"],
        neon_conn_id=NEON_CONN_ID,
        aws_conn_id=AWS_CONN_ID,
        waiter_delay=POLL_SECONDS,
        **AWS_RETRIES,
    )
    # [END validate_and_reload]

    # [START cdc]
    @task.branch(trigger_rule="none_failed_min_one_success")
    def load_path(plan: dict[str, Any]) -> str:
        """A run with CDC keeps running: wait until its full load is done before validating."""
        return "cdc.wait_full_load_done" if plan["cutover"] else "check_validation"

    @task.branch(trigger_rule="none_failed_min_one_success")
    def cutover_path(plan: dict[str, Any]) -> str:
        """A full load is over: straight to the diff. A task with CDC goes through the cutover."""
        return "cdc.replication_lag" if plan["cutover"] else "data_diff"

    with TaskGroup("cdc", tooltip="Full load done, replication lag, approval or quiescence, cutover"):
        full_load_done = NeonDmsFullLoadDoneSensor(
            task_id="wait_full_load_done",
            replication_task_arn=run_arn,
            aws_conn_id=AWS_CONN_ID,
            poke_interval=POLL_SECONDS,
        )
        lag = NeonDmsReplicationLagSensor(
            task_id="replication_lag",
            replication_task_arn=run_arn,
            max_lag_seconds=MAX_LAG_SECONDS,
            window_seconds=LAG_WINDOW_SECONDS,
            period=METRICS_PERIOD,
            aws_conn_id=AWS_CONN_ID,
            poke_interval=POLL_SECONDS,
        )

        @task.branch
        def how_to_cut_over(plan: dict[str, Any]) -> str:
            """A person approves (cutover=approval), or the task goes quiet (cutover=quiet)."""
            return "cdc.approve_cutover" if plan["cutover"] == "approval" else "cdc.wait_until_quiet"

        approval = ApprovalOperator(
            task_id="approve_cutover",
            subject="Cut over {{ params.task_identifier }} to Neon?",
            body=f"The replication task keeps Neon within {MAX_LAG_SECONDS:g} seconds of the source. "
            "Stop every writer to the source database, then approve: the DAG waits until Neon has "
            "caught up, stops the task, proves every table identical and moves the sequences. "
            "Reject leaves the task replicating and skips the cutover.",
            ignore_downstream_trigger_rules=True,
        )
        quiet = NeonDmsQuiescenceSensor(
            task_id="wait_until_quiet",
            replication_task_arn=run_arn,
            quiet_seconds="{{ params.quiet_seconds }}",
            period=METRICS_PERIOD,
            aws_conn_id=AWS_CONN_ID,
            poke_interval=POLL_SECONDS,
        )

        @task(trigger_rule="none_failed_min_one_success")
        def writes_stopped(approval: dict[str, Any] | None, params: dict[str, Any]) -> dict[str, Any]:
            """When the application's writes stopped: the approval, or the start of the quiet window."""
            from airflow_neon_dms.migration_report import writes_stopped_at

            return writes_stopped_at(approval, quiet_seconds=float(params["quiet_seconds"]))

        stopped_writing = writes_stopped(approval.output)
        cutover = NeonDmsCutoverOperator(
            task_id="cutover",
            replication_task_arn=run_arn,
            source_conn_id=SOURCE_CONN_ID,
            catch_up_seconds=METRICS_PERIOD,
            period=METRICS_PERIOD,
            aws_conn_id=AWS_CONN_ID,
            waiter_delay=POLL_SECONDS,
            **AWS_RETRIES,
        )
        gate = how_to_cut_over(migration_plan)
        lag >> gate >> [approval, quiet] >> stopped_writing >> cutover
    # [END cdc]

    # [START verify]
    data_diff = NeonDataDiffOperator(
        task_id="data_diff",
        source_conn_id=SOURCE_CONN_ID,
        neon_conn_id=NEON_CONN_ID,
        table_mappings=mappings,
        fail_on_difference=True,
        trigger_rule="none_failed_min_one_success",
        outlets=[VERIFIED_TABLES],
    )
    sequences = NeonSequenceSyncOperator(
        task_id="sync_sequences",
        neon_conn_id=NEON_CONN_ID,
        source_conn_id=SOURCE_CONN_ID,
        table_mappings=mappings,
    )
    # [END verify]

    @task(
        trigger_rule="none_failed_min_one_success",
        on_success_callback=NeonDmsAlertNotifier(*NOTIFIERS, kind="report"),
        outlets=[MIGRATION_VERIFIED],
    )
    def report(
        validation: dict[str, Any],
        reload: dict[str, Any] | None,
        diff: dict[str, Any],
        sequences: dict[str, Any],
        writes_stopped: dict[str, Any] | None,
        cutover: dict[str, Any] | None,
        assessment: dict[str, Any] | None = None,
        replication: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One summary of the migration: what DMS said, what was reloaded, what the diff proved,
        the premigration assessment (the task's run, or the one StartReplication ran), and with
        CDC the cutover window."""
        from airflow_neon_dms.exceptions import DataDiffError
        from airflow_neon_dms.migration_report import build_report, cutover_window, format_report

        window = cutover_window(writes_stopped, cutover, poll_seconds=POLL_SECONDS) if cutover else None
        summary = build_report(
            validation=validation,
            reload=reload,
            diff=diff,
            sequences=sequences,
            cutover=window,
            assessment=assessment or (replication or {}).get("premigration_assessment"),
        )
        print(format_report(summary))
        if not summary["verified"]:  # no "verified" asset event for a migration the diff did not prove
            raise DataDiffError("The migration is not verified: the data diff did not prove every table.")
        get_current_context()["outlet_events"][MIGRATION_VERIFIED].extra = {
            "tables": diff.get("verified_assets", []),
            "rows": summary["rows_neon"],
            "reloaded_tables": summary["reloaded_tables"],
        }
        return summary

    branch = any_failed_tables(validation.output)
    after_validation = cutover_path(migration_plan)
    migration_plan >> preflight >> [source_endpoint, neon_endpoint]
    source_endpoint >> test_source
    neon_endpoint >> test_neon
    choose_load = load_path(migration_plan)
    [test_source, test_neon] >> create_task >> assess_first() >> [assessment, full_load]
    assessment >> full_load
    run_arn >> choose_load >> [full_load_done, validation]
    full_load_done >> validation >> branch
    run_arn >> validation
    branch >> reload_tables >> after_validation
    branch >> after_validation
    after_validation >> [lag, data_diff]
    cutover >> data_diff >> sequences
    report(
        validation.output,
        reload_tables.output,
        data_diff.output,
        sequences.output,
        stopped_writing,
        cutover.output,
        assessment.output,
        run_serverless.output,
    )

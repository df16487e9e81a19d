"""DMS Serverless replications of the local DMS: Start/Stop/DescribeReplications,
DescribeReplicationTableStatistics and ReloadReplicationTables.

A replication runs on the task runner (``task_runner.TaskJob``), the same code that runs a
replication task, through an adapter: the config's internal ``ReplicationTask`` (see
``ReplicationConfig.task``) is what the runner reads and updates. StartReplication builds the
job exactly as StartReplicationTask does, with the provisioning phase as the runner's
``starting`` wait (``running_at``), so no table loads before the capacity is provisioned, nor
after a StopReplication (the runner's step to ``running`` and each table's commit check for a
stop under the service lock StopReplication holds). Whatever the runner does for a migration
type (full load, and change capture where it supports it) a replication of that
``ReplicationType`` does too; the Replication answer is derived from the
task's state (``ReplicationConfig.replication_to_api``).

A StartReplication with ``PremigrationAssessmentSettings`` first runs a premigration assessment
(``AssessmentOperations``'s runner and checks, results in the system-managed bucket), while the
replication shows its provisioning statuses; the data phase begins once the assessment ends, unless
it failed and ``FailOnAssessmentFailure`` is true (AWS's default): then the replication ends
``failed`` without moving a row. ``Replication.PremigrationAssessmentStatuses`` lists the runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast

from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    paginate,
    parse_filters,
    required,
    with_marker,
)
from airflow_neon_dms.local.assessment_checks import AssessedTask, applicable_assessments
from airflow_neon_dms.local.assessment_operations import AssessmentOperations, AssessmentRun
from airflow_neon_dms.local.faults import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    InvalidResourceStateFault,
)
from airflow_neon_dms.local.models import ReplicationTask, ResourceObserver
from airflow_neon_dms.local.premigration_settings import parse_premigration_settings
from airflow_neon_dms.local.reload_request import reload_option, tables_to_reload
from airflow_neon_dms.local.replication_config_operations import ReplicationConfigOperations
from airflow_neon_dms.local.replication_models import ACTIVE_STATUSES, ReplicationConfig
from airflow_neon_dms.local.table_mappings import parse_table_mappings
from airflow_neon_dms.local.task_metrics import TaskMetrics
from airflow_neon_dms.local.task_operations import _cdc_parameters
from airflow_neon_dms.local.task_runner import TaskJob
from airflow_neon_dms.local.task_settings import parse_task_settings

log = logging.getLogger(__name__)

START_REPLICATION_TYPES = ("start-replication", "resume-processing", "reload-target")
#: MaxRecords bounds of DescribeReplicationTableStatistics: botocore states none for it, so the
#: emulator applies DescribeTableStatistics's documented 20..500 (same TableStatistics pages).
TABLE_STATISTICS_MAX = (20, 500)
TABLE_STATISTICS_FILTERS: dict[str, Callable[[Any], Any]] = {
    "schema-name": lambda s: s.schema,
    "table-name": lambda s: s.table,
    "table-state": lambda s: s.state,
}


class _MetricsOnly:
    """The observer of a replication's internal task: it publishes the task's CloudWatch metrics
    and nothing else (no replication-task events or task logs for a serverless replication)."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def status_changed(self, resource: Any, old: str, new: str) -> None:
        return None

    def task_log(self, task: ReplicationTask, component: str, severity: str, text: str) -> None:
        return None

    def task_metrics(self, task: ReplicationTask) -> TaskMetrics | None:
        return cast(TaskMetrics | None, self.service.task_metrics(task))


class ReplicationOperations(ReplicationConfigOperations, AssessmentOperations):
    """The serverless replication operations (the configs' operations included)."""

    #: Each config's job while its replication runs (kept for reloads).
    replication_jobs: dict[str, TaskJob]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replication_jobs = {}

    def _forget_config(self, config: ReplicationConfig) -> None:
        super()._forget_config(config)
        self.replication_jobs.pop(config.arn, None)
        self.forget_premigration_runs(config.arn)

    def _check_start(self, config: ReplicationConfig, start_type: str) -> None:
        status = config.status()
        if status == "modifying":  # AWS's own words (terraform-provider-aws issue 35650)
            raise InvalidResourceStateFault(
                f"Replication for Replication Config: {config.identifier} is in MODIFYING state and "
                "cannot start. Start it once DescribeReplications shows it created again."
            )
        if status in (*ACTIVE_STATUSES, "deleting"):
            raise InvalidResourceStateFault(
                f"Replication {config.identifier} is {status}; it can be started when it is "
                "created, stopped or failed."
            )
        if config.provision_state(self.timing) == "deprovisioning":
            raise InvalidResourceStateFault(
                f"Replication {config.identifier} is deprovisioning; start it again once "
                "ProvisionData.ProvisionState is deprovisioned."
            )
        # a replication a failed premigration assessment kept from starting never ran
        ever_started = config.started_at is not None and not config.assessment_blocked
        # botocore's StartReplicationType docs: start-replication is the only valid first start,
        # and resume-processing "isn't applicable for a full-load replication"
        if start_type == "start-replication" and ever_started:
            raise InvalidParameterCombinationException(
                f"Replication {config.identifier} ran before: start-replication is valid only for "
                "its first run; use resume-processing or reload-target."
            )
        if start_type != "start-replication" and not ever_started:
            raise InvalidParameterCombinationException(
                f"Replication {config.identifier} never ran: its first run must use start-replication."
            )
        if start_type == "resume-processing" and config.replication_type == "full-load":
            raise InvalidParameterCombinationException(
                f"resume-processing isn't applicable to the full-load replication {config.identifier}; "
                "use reload-target to load every table again."
            )

    @staticmethod
    def _cdc_positions(params: Params) -> dict[str, Any]:
        if params.get("CdcStartTime") is not None and params.get("CdcStartPosition") is not None:
            raise InvalidParameterCombinationException(
                "Give either CdcStartTime or CdcStartPosition, not both."
            )
        names = ("CdcStartTime", "CdcStartPosition", "CdcStopPosition")
        return {name: params[name] for name in names if params.get(name) is not None}

    def _config_applicable(self, config: ReplicationConfig) -> list[str]:
        source, target = self._endpoint(config.source_arn), self._endpoint(config.target_arn)
        return applicable_assessments(source.engine_name, target.engine_name, config.replication_type)

    def describe_applicable_individual_assessments(self, params: Params) -> Result:
        """For a ReplicationConfigArn: the assessments a StartReplication of it would run."""
        if not params.get("ReplicationConfigArn"):
            return super().describe_applicable_individual_assessments(params)
        names = self._config_applicable(self._replication_config(params["ReplicationConfigArn"]))
        page, marker = paginate(params, names, DESCRIBE_MAX)
        return with_marker({"IndividualAssessmentNames": page}, marker)

    def _replication_api(self, config: ReplicationConfig) -> dict[str, Any]:
        answer = config.replication_to_api(self.timing)
        statuses = self.premigration_statuses(config.arn)
        if statuses:
            answer["PremigrationAssessmentStatuses"] = statuses
        return answer

    def _assess_then_run(
        self, config: ReplicationConfig, run: AssessmentRun, job: TaskJob, start_type: str
    ) -> None:
        """The replication thread when StartReplication carries assessment settings."""
        assessed = AssessedTask(
            source=job.source,
            target=job.target,
            mappings=job.mappings,
            migration_type=config.replication_type,
            settings_json=config.settings,
        )
        self._execute(run, assessed)
        with self.lock:
            # a stop accepted meanwhile wins: the runner ends the replication stopped at once
            stopped = config.task.stop_event.is_set()
            failed = run.fail_on_assessment_failure and run.status in ("failed", "error-executing")
            if failed and not stopped:
                task = config.task
                task.status = "failed"
                task.last_failure = (
                    f"Premigration assessment {run.name} ended {run.status}: "
                    f"{run.last_failure or 'see its results'}; the replication did not start "
                    "(FailOnAssessmentFailure is true)."
                )
                task.stop_date = time.time()
                config.assessment_blocked = True
                config.provisioning_until = min(config.provisioning_until or task.stop_date, task.stop_date)
                task.running_at = None
                log.info("Replication %s: premigration assessment %s", config.identifier, run.status)
                return
            config.assessment_blocked = False
        job.run(start_type)

    def start_replication(self, params: Params) -> Result:
        config = self._replication_config(required(params, "ReplicationConfigArn"))
        start_type = required(params, "StartReplicationType")
        if start_type not in START_REPLICATION_TYPES:
            raise InvalidParameterValueException(
                f"Invalid StartReplicationType {start_type!r}; use one of "
                f"{', '.join(START_REPLICATION_TYPES)}."
            )
        self._check_start(config, start_type)
        cdc = self._cdc_positions(params)
        # the runner's change capture reads CdcStartPosition/CdcStartTime/CdcStopPosition off the
        # task; a replication's are those of this StartReplication only (Replication shows them so)
        config.task.cdc_stop_position = config.task.cdc_start_position = config.task.cdc_start_time = ""
        _cdc_parameters(params, config.task)
        assessment = parse_premigration_settings(
            params.get("PremigrationAssessmentSettings"), self._config_applicable(config)
        )
        source = self._endpoint(config.source_arn)
        target = self._endpoint(config.target_arn)
        settings, _ = parse_task_settings(config.settings)
        task = config.task
        job = TaskJob(
            task=task,
            lock=self.lock,
            source=self.address(source),
            target=self.address(target),
            mappings=parse_table_mappings(config.table_mappings),
            settings=settings,
        )
        now = time.time()
        # capacity still provisioned from the last run is reused; otherwise DMS provisions first
        still_provisioned = config.provision_state(self.timing, now) == "provisioned"
        provisioning = 0.0 if still_provisioned else self.timing.serverless_provisioning_seconds
        config.start_type = start_type
        config.started_at = now
        config.provisioning_until = now + provisioning if provisioning > 0 else None
        if not still_provisioned:
            config.provisioned_at = now + provisioning
        config.cdc = cdc
        config.premigration_assessment_settings = params.get("PremigrationAssessmentSettings") or None
        task.status = "starting"
        task.running_at = config.provisioning_until
        task.scheduled_start = now
        task.ever_started = True
        task.stop_event.clear()
        task.stop_reason = ""
        task.last_failure = ""
        task.stop_date = None
        # its CloudWatch metrics, under the config's dimension (task_metrics.replication_dimensions)
        task.observer = cast(ResourceObserver, _MetricsOnly(self))
        self.replication_jobs[config.arn] = job
        if assessment is None:
            self._spawn(f"replication-{config.identifier}", lambda: job.run(start_type))
        else:
            run = self.start_premigration_run(
                config.arn, f"{config.identifier}-premigration-{int(now * 1000)}", assessment
            )
            self._spawn(
                f"replication-{config.identifier}",
                lambda: self._assess_then_run(config, run, job, start_type),
            )
        log.info("Replication %s starting (%s)", config.identifier, start_type)
        return {"Replication": self._replication_api(config)}

    def stop_replication(self, params: Params) -> Result:
        config = self._replication_config(required(params, "ReplicationConfigArn"))
        status = config.status()
        if status not in ACTIVE_STATUSES or status == "stopping":
            raise InvalidResourceStateFault(
                f"Replication {config.identifier} is {status}; only a running (or starting) "
                "replication can be stopped."
            )
        now = time.time()
        if config.provisioning_until is not None and now < config.provisioning_until:
            # a stop ends the provisioning: the capacity DMS holds is kept, like any stopped
            # replication's, until ReplicationDeprovisionTime (never "provisioning" while stopped)
            config.provisioning_until = config.provisioned_at = now
        config.task.status = "stopping"
        config.task.stop_event.set()
        log.info("Replication %s stopping", config.identifier)
        return {"Replication": self._replication_api(config)}

    def describe_replications(self, params: Params) -> Result:
        page, marker = paginate(params, self._described_configs(params), DESCRIBE_MAX)
        return with_marker({"Replications": [self._replication_api(c) for c in page]}, marker)

    def describe_replication_table_statistics(self, params: Params) -> Result:
        config = self._replication_config(required(params, "ReplicationConfigArn"))
        filters = parse_filters(params, TABLE_STATISTICS_FILTERS)
        items = apply_filters(list(config.task.tables.values()), filters)
        page, marker = paginate(params, items, TABLE_STATISTICS_MAX)
        return with_marker(
            {
                "ReplicationConfigArn": config.arn,
                # with the changes applied to each table, as DescribeTableStatistics answers
                "ReplicationTableStatistics": [
                    s.to_api(config.task.table_changes((s.schema, s.table))) for s in page
                ],
            },
            marker,
        )

    def reload_replication_tables(self, params: Params) -> Result:
        config = self._replication_config(required(params, "ReplicationConfigArn"))
        option = reload_option(params)
        status = config.status()
        if status != "running":
            raise InvalidResourceStateFault(
                f"Replication {config.identifier} is {status}; tables can be reloaded only while "
                "the replication is running."
            )
        keys = tables_to_reload(params, config.task.tables, f"replication {config.identifier}")
        job = self.replication_jobs[config.arn]
        tables = config.task.tables
        if option == "validate-only":
            if not job.settings.validation:
                raise InvalidParameterCombinationException(
                    f"Replication {config.identifier} does not have validation enabled "
                    "(ReplicationSettings ValidationSettings.EnableValidation)."
                )
            for key in keys:
                tables[key].validation_state = "Pending revalidation"
            self._spawn(f"revalidate-{config.identifier}", lambda: job.revalidate(keys))
        else:
            for key in keys:
                tables[key].state = "Table is being reloaded"
            self._spawn(f"reload-{config.identifier}", lambda: job.reload(keys))
        log.info("Replication %s: %s of %d table(s)", config.identifier, option, len(keys))
        return {"ReplicationConfigArn": config.arn}

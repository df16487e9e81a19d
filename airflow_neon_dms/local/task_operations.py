"""Replication task operations of the local DMS: lifecycle, table statistics and ReloadTables."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import psycopg

from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    check_identifier,
    paginate,
    parse_filters,
    required,
    resource_id,
    with_marker,
)
from airflow_neon_dms.local.cdc.errors import CdcStopPositionError
from airflow_neon_dms.local.cdc.stop_position import check_not_past, parse_cdc_stop_position
from airflow_neon_dms.local.cdc_capture import drop_task_slot
from airflow_neon_dms.local.databases import DatabaseUnreachable
from airflow_neon_dms.local.faults import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    InvalidResourceStateFault,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.models import ReplicationTask
from airflow_neon_dms.local.service_state import ServiceState
from airflow_neon_dms.local.table_mappings import parse_table_mappings
from airflow_neon_dms.local.task_runner import TaskJob
from airflow_neon_dms.local.task_settings import parse_task_settings

log = logging.getLogger(__name__)

MIGRATION_TYPES = ("full-load", "cdc", "full-load-and-cdc")
START_TYPES = ("start-replication", "resume-processing", "reload-target")
RELOAD_OPTIONS = ("data-reload", "validate-only")
_ACTIVE_TASK_STATES = ("starting", "running", "stopping")
_TABLE_STATS_MAX = (20, 500)
_TABLE_STATS_FILTERS: dict[str, Callable[[Any], Any]] = {
    "schema-name": lambda s: s.schema,
    "table-name": lambda s: s.table,
    "table-state": lambda s: s.state,
}


def _cdc_parameters(params: Params, task: ReplicationTask) -> None:
    """CdcStartPosition / CdcStartTime / CdcStopPosition of Create, Modify and Start (botocore).

    Both start parameters at once is an error (botocore: "Specifying both values results in an
    error"); a stop position that is not of the form ``server_time:``/``commit_time:`` or already
    in the past (UTC, the replication instance's clock) is refused.
    """
    if params.get("CdcStartPosition") and params.get("CdcStartTime"):
        raise InvalidParameterCombinationException(
            "Use either CdcStartPosition or CdcStartTime to specify when CDC starts, not both."
        )
    stop = params.get("CdcStopPosition")
    if stop:
        try:
            check_not_past(parse_cdc_stop_position(str(stop)), datetime.now(timezone.utc))
        except CdcStopPositionError as err:
            raise InvalidParameterValueException(str(err)) from None
        task.cdc_stop_position = str(stop).strip()
    if params.get("CdcStartPosition"):
        task.cdc_start_position, task.cdc_start_time = str(params["CdcStartPosition"]), ""
    elif params.get("CdcStartTime"):
        start_time = params["CdcStartTime"]
        task.cdc_start_position = ""
        task.cdc_start_time = start_time.isoformat() if isinstance(start_time, datetime) else str(start_time)


class TaskOperations(ServiceState):
    """Create/Modify/Start/Stop/Delete/DescribeReplicationTasks, DescribeTableStatistics, ReloadTables."""

    def _validate_task_parts(self, params: Params, task: ReplicationTask | None) -> None:
        migration_type = params.get("MigrationType", task.migration_type if task else None)
        if migration_type not in MIGRATION_TYPES:
            raise InvalidParameterValueException(
                f"Invalid MigrationType {migration_type!r}; use one of {', '.join(MIGRATION_TYPES)}."
            )
        parse_table_mappings(params.get("TableMappings", task.table_mappings if task else None))
        parse_task_settings(params.get("ReplicationTaskSettings"), task.settings if task else None)

    def create_replication_task(self, params: Params) -> Result:
        identifier = check_identifier(
            "ReplicationTaskIdentifier", required(params, "ReplicationTaskIdentifier")
        )
        source = self._endpoint(required(params, "SourceEndpointArn"))
        target = self._endpoint(required(params, "TargetEndpointArn"))
        instance = self._instance(required(params, "ReplicationInstanceArn"))
        for endpoint in (source, target):
            self._not_deleting("Endpoint", endpoint.identifier, endpoint.status)
        self._not_deleting("Replication instance", instance.identifier, instance.status)
        if source.endpoint_type != "source":
            raise InvalidParameterValueException(f"Endpoint {source.identifier} is not a source endpoint.")
        if target.endpoint_type != "target":
            raise InvalidParameterValueException(f"Endpoint {target.identifier} is not a target endpoint.")
        required(params, "TableMappings")
        self._validate_task_parts(params, None)
        if any(t.identifier == identifier for t in self.tasks.values()):
            raise ResourceAlreadyExistsFault(f"Replication task {identifier} already exists.")
        _, settings_text = parse_task_settings(params.get("ReplicationTaskSettings"))
        arn = self._arn("task", params.get("ResourceIdentifier") or resource_id())
        task = ReplicationTask(
            identifier=identifier,
            arn=arn,
            source_arn=source.arn,
            target_arn=target.arn,
            instance_arn=instance.arn,
            migration_type=params["MigrationType"],
            table_mappings=params["TableMappings"],
            settings=settings_text,
        )
        _cdc_parameters(params, task)
        if self.timing.task_creating_seconds > 0:
            task.status = "creating"
            task.ready_at = time.time() + self.timing.task_creating_seconds
        self.tasks[arn] = task
        self._tag(arn, params.get("Tags"))
        log.info("Replication task %s created", identifier)
        return {"ReplicationTask": task.to_api(status="creating")}

    def modify_replication_task(self, params: Params) -> Result:
        task = self._task(required(params, "ReplicationTaskArn"))
        if task.status in (*_ACTIVE_TASK_STATES, "creating", "deleting"):
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; it can be modified when it "
                "is ready, stopped or failed."
            )
        self._validate_task_parts(params, task)
        _cdc_parameters(params, task)
        new_id = params.get("ReplicationTaskIdentifier")
        if new_id is not None:
            new_id = check_identifier("ReplicationTaskIdentifier", new_id)
            if any(t.identifier == new_id and t is not task for t in self.tasks.values()):
                raise ResourceAlreadyExistsFault(f"Replication task {new_id} already exists.")
            task.identifier = new_id
        task.migration_type = params.get("MigrationType", task.migration_type)
        task.table_mappings = params.get("TableMappings", task.table_mappings)
        if "ReplicationTaskSettings" in params:
            # DMS merges the given settings into the task's current document
            task.settings = parse_task_settings(params["ReplicationTaskSettings"], task.settings)[1]
        return {"ReplicationTask": task.to_api(status="modifying")}

    def start_replication_task(self, params: Params) -> Result:
        task = self._task(required(params, "ReplicationTaskArn"))
        start_type = params.get("StartReplicationTaskType") or "start-replication"
        if start_type not in START_TYPES:
            raise InvalidParameterValueException(
                f"Invalid StartReplicationTaskType {start_type!r}; use one of {', '.join(START_TYPES)}."
            )
        if task.status in _ACTIVE_TASK_STATES:
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; it cannot be started again."
            )
        if task.status == "creating":
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is creating; start it once it is ready."
            )
        self._not_deleting("Replication task", task.identifier, task.status)
        if start_type == "start-replication" and task.ever_started:
            raise InvalidParameterCombinationException(
                "Start Type : START_REPLICATION, valid only for tasks running for the first time. "
                "Use resume-processing or reload-target."
            )
        if start_type == "resume-processing" and not task.ever_started:
            raise InvalidParameterCombinationException(
                "Start Type : RESUME_PROCESSING, valid only for tasks that ran before and were stopped."
            )
        _cdc_parameters(params, task)
        if task.cdc_stop_position and "CdcStopPosition" not in params:
            try:  # a stop position set earlier that has passed since
                check_not_past(parse_cdc_stop_position(task.cdc_stop_position), datetime.now(timezone.utc))
            except CdcStopPositionError as err:
                raise InvalidParameterValueException(str(err)) from None
        source = self._endpoint(task.source_arn)
        target = self._endpoint(task.target_arn)
        settings, _ = parse_task_settings(task.settings)
        job = TaskJob(
            task=task,
            lock=self.lock,
            source=self.address(source),
            target=self.address(target),
            mappings=parse_table_mappings(task.table_mappings),
            settings=settings,
        )
        # AWS shows "starting" before "running" (botocore's replication_task_stopped waiter fails
        # on "starting"). With task_starting_seconds == 0 no Describe call sees it.
        now = time.time()
        starting = self.timing.task_starting_seconds
        task.status = "starting" if starting > 0 else "running"
        task.running_at = now + starting if starting > 0 else None
        task.scheduled_start = now
        task.ever_started = True
        task.stop_event.clear()
        task.stop_reason = ""
        task.last_failure = ""
        task.stop_date = None
        self.jobs[task.arn] = job
        self._spawn(f"task-{task.identifier}", lambda: job.run(start_type))
        log.info("Replication task %s starting (%s)", task.identifier, start_type)
        return {"ReplicationTask": task.to_api(status="starting")}

    def stop_replication_task(self, params: Params) -> Result:
        task = self._task(required(params, "ReplicationTaskArn"))
        if task.status not in ("starting", "running"):
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; only a running task can be stopped."
            )
        task.status = "stopping"
        task.stop_event.set()
        return {"ReplicationTask": task.to_api()}

    def delete_replication_task(self, params: Params) -> Result:
        task = self._task(required(params, "ReplicationTaskArn"))
        if task.status in _ACTIVE_TASK_STATES:
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; stop it before deleting it."
            )
        self._not_deleting("Replication task", task.identifier, task.status)
        task.status = "deleting"
        self._drop_slot(task)
        task.gone_at = self._deleted_at()
        if task.gone_at is None:
            self._forget_task(task)
        return {"ReplicationTask": task.to_api()}

    def _drop_slot(self, task: ReplicationTask) -> None:
        """Deleting a CDC task drops its replication slot on the PostgreSQL source."""
        if not task.slot_name:
            return
        try:
            drop_task_slot(self.address(self._endpoint(task.source_arn)), task.slot_name)
        except (ResourceNotFoundFault, DatabaseUnreachable, psycopg.Error) as err:
            log.warning("Replication task %s: slot %s not dropped: %s", task.identifier, task.slot_name, err)
            task.note("SOURCE_CAPTURE", "W", f"The replication slot {task.slot_name} could not be dropped.")
            return
        task.slot_name = ""

    def describe_replication_tasks(self, params: Params) -> Result:
        filters = parse_filters(
            params,
            {
                "replication-task-arn": lambda t: t.arn,
                "replication-task-id": lambda t: t.identifier,
                "migration-type": lambda t: t.migration_type,
                "endpoint-arn": lambda t: (t.source_arn, t.target_arn),
                "replication-instance-arn": lambda t: t.instance_arn,
            },
        )
        items = apply_filters(list(self.tasks.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No replication tasks found matching the filters.")
        page, marker = paginate(params, items, DESCRIBE_MAX)
        with_settings = not params.get("WithoutSettings", False)
        return with_marker(
            {"ReplicationTasks": [t.to_api(with_settings=with_settings) for t in page]}, marker
        )

    def describe_table_statistics(self, params: Params) -> Result:
        task = self._task(required(params, "ReplicationTaskArn"))
        filters = parse_filters(params, _TABLE_STATS_FILTERS)
        items = apply_filters(list(task.tables.values()), filters)
        page, marker = paginate(params, items, _TABLE_STATS_MAX)
        return with_marker(
            {
                "ReplicationTaskArn": task.arn,
                "TableStatistics": [s.to_api(task.table_changes((s.schema, s.table))) for s in page],
            },
            marker,
        )

    def reload_tables(self, params: Params) -> Result:
        task = self._task(required(params, "ReplicationTaskArn"))
        tables = params.get("TablesToReload") or []
        option = params.get("ReloadOption") or "data-reload"
        if option not in RELOAD_OPTIONS:
            raise InvalidParameterValueException(
                f"Invalid ReloadOption {option!r}; use one of {', '.join(RELOAD_OPTIONS)}."
            )
        if task.status != "running":
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; tables can be reloaded only "
                "while the task is running."
            )
        if not tables:
            raise InvalidParameterValueException("TablesToReload must name at least one table.")
        if len(tables) > 10:
            raise InvalidParameterValueException(
                f"TablesToReload names {len(tables)} tables; at most 10 can be reloaded in one call."
            )
        keys = [(str(t.get("SchemaName")), str(t.get("TableName"))) for t in tables]
        if len(set(keys)) != len(keys):
            raise InvalidParameterValueException("TablesToReload names the same table more than once.")
        missing = [f"{s}.{t}" for s, t in keys if (s, t) not in task.tables]
        if missing:
            raise InvalidParameterValueException(
                f"Table(s) {', '.join(missing)} are not part of replication task {task.identifier}."
            )
        job = self.jobs[task.arn]
        if option == "validate-only":
            if not job.settings.validation:
                raise InvalidParameterCombinationException(
                    f"Replication task {task.identifier} does not have validation enabled."
                )
            for key in keys:
                task.tables[key].validation_state = "Pending revalidation"
            self._spawn(f"revalidate-{task.identifier}", lambda: job.revalidate(keys))
        else:
            for key in keys:
                task.tables[key].state = "Table is being reloaded"
            self._spawn(f"reload-{task.identifier}", lambda: job.reload(keys))
        log.info("Replication task %s: %s of %d table(s)", task.identifier, option, len(keys))
        return {"ReplicationTaskArn": task.arn}

"""Reload selected tables of a replication task, running or already stopped."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_neon_dms.dms.wait_events import check_event, check_startable_event
from airflow_neon_dms.exceptions import (
    DmsResourceError,
    NeonConfigError,
    ReplicationTaskFailedError,
    TableValidationFailedError,
)
from airflow_neon_dms.lineage import DmsTaskLineageMixin
from airflow_neon_dms.links.dms import OPERATOR_LINKS_FOR_TASK
from airflow_neon_dms.operators.base import (
    AWS_TEMPLATE_FIELDS,
    NeonDmsBaseOperator,
    WaitMixin,
    dag_run_started,
    task_or_config_arn,
)

if TYPE_CHECKING:
    from airflow_neon_dms.dms.states import TaskOutcome
    from airflow_neon_dms.dms.table_names import TableRef

# DMS states, the reload plan, the triggers and the report load in the methods that use them: a
# DAG file that uses this operator parses without them.

METHOD_RELOAD_TABLES = "reload-tables"
METHOD_TEMPORARY_TASK = "temporary-task"
METHOD_TEMPORARY_CONFIG = "temporary-replication-config"


class NeonDmsReloadTablesOperator(DmsTaskLineageMixin, NeonDmsBaseOperator, WaitMixin):
    """
    Reload the given tables and wait until each is in a terminal state, then judge them.

    Tables come as ``[{"schema": s, "table": t}]`` (the validation operator's ``failed_tables``)
    or ``"schema.table"`` strings. A running task gets ReloadTables calls of at most 10 tables,
    checked first against what DMS would refuse (a task not running, a CDC-only task). In
    DO_NOTHING prep mode DMS appends on a reload, so each call's target tables are truncated
    through ``neon_conn_id`` in a transaction that commits only once DMS has accepted the call: a
    refused call leaves every row. A task that is not running (a finished full-load task) is
    handled with a temporary full-load task that selects only those tables with the original's
    filters and table-settings, with TRUNCATE_BEFORE_LOAD; it is tagged
    ``neon-dms:reload-of=<task arn>``, deleted afterwards (also when the reload fails), and a
    new try deletes one a killed try left behind. A table in ``Table error`` (or another failed
    state) ends the wait, and a state the provider does not model fails it, naming the table.
    A stopped or failed DMS Serverless replication is handled the same way with a temporary
    replication config (ReloadReplicationTables needs a running replication).
    Returns ``{"replication_task_arn", "method", "tables", "reload_calls",
    "temporary_task_identifier", "report"}``.

    :param replication_task_arn: the task whose tables to reload.
    :param replication_config_arn: instead of a task, a DMS Serverless replication config: the
        same rules through DescribeReplicationTableStatistics and ReloadReplicationTables. (A
        config ARN given as ``replication_task_arn`` works too: the ARN's resource type picks the
        DMS calls, so a DAG can pass whichever ARN its run produced.)
    :param tables: the tables; an empty list does nothing.
    :param reload_option: data-reload or validate-only (running tasks only).
    :param neon_conn_id: Neon connection, needed for a running task in DO_NOTHING prep mode (and
        read for OpenLineage's column lineage when given).
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds before the wait gives up.
    :param settle_timeout: seconds to wait for the temporary task to leave ``creating`` before
        starting it (deferred to the triggerer when ``deferrable``).
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "replication_task_arn",
        "replication_config_arn",
        "tables",
        "neon_conn_id",
    )
    template_fields_renderers = {"tables": "json"}
    operator_extra_links = OPERATOR_LINKS_FOR_TASK

    def __init__(
        self,
        *,
        replication_task_arn: str | None = None,
        replication_config_arn: str | None = None,
        tables: Sequence[Mapping[str, Any] | str] | str,
        reload_option: str = "data-reload",
        neon_conn_id: str | None = None,
        deferrable: bool | None = None,
        waiter_delay: float = 30,
        max_wait: float = 12 * 3600,
        settle_timeout: float = 600,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # One code path for both: the hook picks the DMS calls by the ARN's resource type.
        self.replication_task_arn = task_or_config_arn(replication_task_arn, replication_config_arn)
        self.replication_config_arn = replication_config_arn
        self.tables = tables
        self.reload_option = reload_option
        self.neon_conn_id = neon_conn_id
        self.settle_timeout = settle_timeout
        self._temporary_task_arn: str | None = None
        self._init_wait(deferrable=deferrable, waiter_delay=waiter_delay, max_wait=max_wait)

    # Entry ------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_neon_dms.dms.replication_states import is_replication_config_arn
        from airflow_neon_dms.dms.states import TASK_ACTIVE

        tables = self._tables()
        if not tables:
            self.log.info("No tables to reload")
            return self._result(METHOD_RELOAD_TABLES, tables, 0, None, None)
        task = self.describe_task_with_links(context, self.replication_task_arn, with_settings=True)
        if is_replication_config_arn(self.replication_task_arn):
            return self._reload_replication(context, task, tables)
        if str(task.get("Status")) in TASK_ACTIVE:
            return self._reload_running(context, task, tables)
        return self._reload_with_temporary_task(context, task, tables)

    def lineage_tables(self) -> list[TableRef]:
        """OpenLineage: the reloaded tables (see :mod:`airflow_neon_dms.lineage`)."""
        return self._tables()

    def _tables(self) -> list[TableRef]:
        from airflow_neon_dms.dms.table_names import parse_tables

        value: Any = self.tables
        if isinstance(value, str) and value.strip().startswith("["):
            value = json.loads(value)
        return parse_tables(value)

    def _reload_replication(
        self, context: Context, replication: dict[str, Any], tables: list[TableRef]
    ) -> dict[str, Any]:
        """A serverless replication: ReloadReplicationTables while it runs (DMS takes it only
        then); a stopped or failed one gets a temporary replication config of just these tables."""
        from airflow_neon_dms.dms.replication_states import reload_refusal, temporary_reload_refusal

        if reload_refusal(replication) is None:
            return self._reload_running(context, replication, tables)
        refusal = temporary_reload_refusal(replication)
        if refusal:
            raise DmsResourceError(refusal)
        return self._reload_with_temporary_config(context, replication, tables)

    # A stopped serverless replication: a temporary replication config with just these tables ---

    def _reload_with_temporary_config(
        self, context: Context, replication: dict[str, Any], tables: list[TableRef]
    ) -> dict[str, Any]:
        """ReloadReplicationTables needs a running replication, and StartReplication reloads every
        table (reload-target) or none (resume-processing, not for a full load). So, as a stopped task
        gets a temporary task, a stopped replication gets a temporary full-load config that selects
        only ``tables`` (the original's filters and table-settings, TRUNCATE_BEFORE_LOAD, its
        endpoints and capacity), tagged ``neon-dms:reload-of=<config arn>``; it is started, judged
        and deleted (also when the reload fails; a new try deletes one a killed try left)."""
        from airflow_neon_dms.dms.reload_plan import (
            temporary_task_identifier,
            temporary_task_mappings,
            temporary_task_settings,
            temporary_task_tags,
        )

        if self.reload_option != "data-reload":
            raise NeonConfigError(
                f"Replication {self.replication_task_arn} is {replication.get('Status')}; ReloadOption "
                f"{self.reload_option} needs a running replication. Use reload_option='data-reload', or "
                "resume the replication (NeonDmsStartReplicationOperator, resume-processing) first."
            )
        config = self.hook.describe_replication_config(self.replication_task_arn) or {}
        identifier = str(
            config.get("ReplicationConfigIdentifier") or replication["ReplicationTaskIdentifier"]
        )
        temp_id = temporary_task_identifier(identifier, tables)
        self._delete_leftover_configs(identifier)
        temp_arn: str | None = None
        try:
            temp_arn, action = self.hook.ensure_replication_config(
                temp_id,
                source_endpoint_arn=str(config["SourceEndpointArn"]),
                target_endpoint_arn=str(config["TargetEndpointArn"]),
                compute_config=_capacity_of(config.get("ComputeConfig") or {}),
                replication_type="full-load",
                table_mappings=temporary_task_mappings(config.get("TableMappings") or "{}", tables),
                replication_settings=temporary_task_settings(config.get("ReplicationSettings")),
                tags=temporary_task_tags(self.replication_task_arn, _dag_run_label(context)),
            )
            self._temporary_task_arn = temp_arn
            self.log.info("Temporary reload config %s %s for %d table(s)", temp_id, action, len(tables))
            result = self._run_temporary_config(context, temp_arn, temp_id, tables)
        except Exception as err:
            # A deferral (TaskDeferred is a BaseException) keeps the config for the trigger.
            self._delete_after_failure(temp_arn or "", err)
            raise
        self._delete_temporary(temp_arn)
        return result

    def _run_temporary_config(
        self, context: Context, temp_arn: str, temp_id: str, tables: list[TableRef]
    ) -> dict[str, Any]:
        from airflow_neon_dms.dms.replication_states import classify_replication
        from airflow_neon_dms.dms.states import Outcome, StartType
        from airflow_neon_dms.triggers.replication import NeonDmsReplicationTrigger

        run_started = dag_run_started(context)
        call_time = datetime.now(timezone.utc)
        started, replication = self.hook.start_replication_run(
            temp_arn, StartType.START_REPLICATION, started_since=run_started
        )
        started_after = (run_started or call_time) if started else None
        verdict = classify_replication(replication, started_after=started_after)
        deadline = self._deadline()
        if verdict.outcome == Outcome.WAITING and self.deferrable:
            self.defer(
                trigger=NeonDmsReplicationTrigger(
                    replication_config_arn=temp_arn,
                    started_after=started_after.timestamp() if started_after else None,
                    deadline=deadline,
                    waiter_delay=self.waiter_delay,
                    **self.aws_kwargs,
                ),
                method_name="execute_complete_temporary",
                kwargs={"temporary_task_arn": temp_arn, "temporary_task_identifier": temp_id},
            )
        while verdict.outcome == Outcome.WAITING and time.time() < deadline:
            self.log.info("%s", verdict.message)
            time.sleep(self.waiter_delay)
            replication = self.hook.require_replication(temp_arn)
            verdict = classify_replication(replication, started_after=started_after)
        return self._temporary_result(METHOD_TEMPORARY_CONFIG, verdict, temp_arn, temp_id, tables)

    def _delete_leftover_configs(self, config_identifier: str) -> None:
        """Delete temporary reload configs of this config that an earlier, killed try left behind."""
        for leftover in self.hook.find_temporary_reload_configs(self.replication_task_arn, config_identifier):
            self.log.info(
                "Deleting temporary reload config %s left behind by an earlier try",
                leftover.get("ReplicationConfigIdentifier"),
            )
            self._delete_temporary(str(leftover["ReplicationConfigArn"]))

    # A running task: ReloadTables -------------------------------------------------------------

    def _reload_running(
        self, context: Context, task: dict[str, Any], tables: list[TableRef]
    ) -> dict[str, Any]:
        from airflow_neon_dms.dms.reload_plan import reload_refusal
        from airflow_neon_dms.dms.task_settings import TargetTablePrepMode, prep_mode
        from airflow_neon_dms.triggers.table_statistics import NeonDmsTableStatisticsTrigger

        refusal = reload_refusal(task)
        if refusal:
            raise DmsResourceError(refusal)
        settings = json.loads(task.get("ReplicationTaskSettings") or "{}")
        requested_at = time.time()
        if self.reload_option == "data-reload" and prep_mode(settings) == TargetTablePrepMode.DO_NOTHING:
            calls = self._reload_into_emptied_tables(task, tables)
        else:
            calls = self.hook.reload_tables(self.replication_task_arn, tables, self.reload_option)
        self.log.info("Requested a reload of %d table(s) in %d ReloadTables call(s)", len(tables), calls)
        deadline = self._deadline()
        since = requested_at if self.reload_option == "data-reload" else None
        if self.deferrable:
            self.defer(
                trigger=NeonDmsTableStatisticsTrigger(
                    replication_task_arn=self.replication_task_arn,
                    tables=[t.as_dict() for t in tables],
                    expect_tables=True,
                    reloaded_since=since,
                    deadline=deadline,
                    waiter_delay=self.waiter_delay,
                    **self.aws_kwargs,
                ),
                method_name="execute_complete_reload",
                kwargs={"reload_calls": calls},
            )
        rows = self._wait_for_tables(tables, since, deadline)
        return self._check(METHOD_RELOAD_TABLES, tables, calls, None, rows)

    def _wait_for_tables(
        self, tables: list[TableRef], since: float | None, deadline: float
    ) -> list[dict[str, Any]]:
        """Poll until every table is in a terminal state; stop at once on an unmodelled state."""
        from airflow_neon_dms.dms.progress import ProgressLog, table_progress_lines
        from airflow_neon_dms.dms.states import table_progress, unmodelled_state_message

        lines = ProgressLog()
        while True:
            rows = self.hook.table_statistics(self.replication_task_arn, tables)
            self.log_progress(lines, table_progress_lines(rows, tables))
            progress = table_progress(rows, tables, since)
            if progress.unknown:
                raise ReplicationTaskFailedError(
                    unmodelled_state_message(f"Reload of {self.replication_task_arn}", progress.unknown)
                )
            if progress.settled:
                return rows
            if time.time() >= deadline:
                pending = ", ".join(map(str, progress.pending))
                raise DmsResourceError(self._timeout_text(f"still reloading: {pending}"))
            time.sleep(self.waiter_delay)

    def execute_complete_reload(
        self, context: Context, event: dict[str, Any] | None = None, reload_calls: int = 0
    ) -> dict[str, Any]:
        from airflow_neon_dms.hooks.dms import RELOAD_BATCH_SIZE, batches

        self._check_event(event)
        tables = self._tables()
        reload_calls = reload_calls or len(batches(tables, RELOAD_BATCH_SIZE))
        rows = self.hook.table_statistics(self.replication_task_arn, tables)
        return self._check(METHOD_RELOAD_TABLES, tables, reload_calls, None, rows)

    def _reload_into_emptied_tables(self, task: dict[str, Any], tables: list[TableRef]) -> int:
        """DO_NOTHING prep mode: DMS appends on a reload, so each group of up to 10 tables is
        truncated in a transaction that commits only once DMS has accepted its ReloadTables call.
        A refused call rolls the TRUNCATE back; the rows stay (see :mod:`reload_truncate`)."""
        if not self.neon_conn_id:
            raise NeonConfigError(
                f"Replication task {self.replication_task_arn} uses TargetTablePrepMode DO_NOTHING, so a "
                "reload would append the rows again. Pass neon_conn_id so the target tables are "
                "truncated first, or stop the task (a stopped task is reloaded with TRUNCATE_BEFORE_LOAD)."
            )
        from airflow_neon_dms.dms.mapping_match import target_name
        from airflow_neon_dms.dms.table_names import TableRef
        from airflow_neon_dms.hooks.dms import RELOAD_BATCH_SIZE, batches
        from airflow_neon_dms.hooks.neon import NeonHook
        from airflow_neon_dms.reload_truncate import truncated_for_reload

        mappings = task.get("TableMappings")
        calls = 0
        with NeonHook(neon_conn_id=self.neon_conn_id).get_conn() as conn:
            for batch in batches(list(dict.fromkeys(tables)), RELOAD_BATCH_SIZE):
                targets = [
                    TableRef(*target_name(mappings, t.schema, t.table)) if mappings else t for t in batch
                ]
                with truncated_for_reload(conn, targets):
                    calls += self.hook.reload_tables(self.replication_task_arn, batch, self.reload_option)
                self.log.info(
                    "Emptied %s for the reload DMS accepted (DO_NOTHING prep mode)",
                    ", ".join(map(str, targets)),
                )
        return calls

    # A stopped task: a temporary task with just these tables ---------------------------------

    def _reload_with_temporary_task(
        self, context: Context, task: dict[str, Any], tables: list[TableRef]
    ) -> dict[str, Any]:
        from airflow_neon_dms.dms.reload_plan import (
            temporary_task_identifier,
            temporary_task_mappings,
            temporary_task_settings,
            temporary_task_tags,
        )
        from airflow_neon_dms.dms.states import TASK_SETTLING
        from airflow_neon_dms.triggers.task_startable import NeonDmsTaskStartableTrigger

        if self.reload_option != "data-reload":
            raise NeonConfigError(
                f"Replication task {self.replication_task_arn} is {task.get('Status')}; ReloadOption "
                f"{self.reload_option} needs a running task. Use reload_option='data-reload'."
            )
        temp_id = temporary_task_identifier(str(task["ReplicationTaskIdentifier"]), tables)
        self._delete_leftovers(str(task["ReplicationTaskIdentifier"]))
        temp_arn: str | None = None
        try:
            temp_arn, action = self.hook.ensure_task(
                temp_id,
                source_endpoint_arn=str(task["SourceEndpointArn"]),
                target_endpoint_arn=str(task["TargetEndpointArn"]),
                replication_instance_arn=str(task["ReplicationInstanceArn"]),
                migration_type="full-load",
                table_mappings=temporary_task_mappings(task.get("TableMappings") or "{}", tables),
                task_settings=temporary_task_settings(task.get("ReplicationTaskSettings")),
                tags=temporary_task_tags(self.replication_task_arn, _dag_run_label(context)),
            )
            self._temporary_task_arn = temp_arn
            self.log.info("Temporary reload task %s %s for %d table(s)", temp_id, action, len(tables))
            status = str(self.hook.describe_task(temp_arn).get("Status", ""))
            if self.deferrable and status in TASK_SETTLING:
                self.log.info("Temporary reload task %s is %s; waiting in the triggerer", temp_id, status)
                self.defer(
                    trigger=NeonDmsTaskStartableTrigger(
                        replication_task_arn=temp_arn,
                        deadline=time.time() + self.settle_timeout,
                        waiter_delay=min(self.waiter_delay, 10),
                        **self.aws_kwargs,
                    ),
                    method_name="execute_temporary_startable",
                    kwargs={"temporary_task_arn": temp_arn, "temporary_task_identifier": temp_id},
                )
        except Exception as err:
            # A deferral (TaskDeferred is a BaseException) keeps the task for the trigger.
            self._delete_after_failure(temp_arn or "", err)
            raise
        return self._run_temporary(context, temp_arn, temp_id, tables)

    def execute_temporary_startable(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        temporary_task_arn: str = "",
        temporary_task_identifier: str = "",
    ) -> dict[str, Any]:
        """Resume once the temporary task can start: start it and wait for the reload."""
        tables = self._tables()
        # The event names the temporary task too: runners that drop the deferral kwargs still work.
        arn = temporary_task_arn or str((event or {}).get("replication_task_arn") or "")
        if not arn:
            raise DmsResourceError(
                f"Reload wait for {self.replication_task_arn} ended with an invalid event: {event!r}"
            )
        try:
            check_startable_event(event, arn, self.settle_timeout)
            identifier = temporary_task_identifier or str(
                self.hook.describe_task(arn).get("ReplicationTaskIdentifier", "")
            )
        except Exception as err:
            self._delete_after_failure(arn, err)
            raise
        self._temporary_task_arn = arn
        return self._run_temporary(context, arn, identifier, tables)

    def _run_temporary(
        self, context: Context, temp_arn: str, temp_id: str, tables: list[TableRef]
    ) -> dict[str, Any]:
        """Start the temporary task (once per DAG run), wait for it, check and delete it."""
        from airflow_neon_dms.dms.progress import ProgressLog
        from airflow_neon_dms.dms.states import Outcome, StartType, classify_task
        from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger

        try:
            _, temp_task = self.hook.start_task(
                temp_arn,
                StartType.START_REPLICATION,
                started_since=dag_run_started(context),
                settle_timeout=self.settle_timeout,
                settle_delay=min(self.waiter_delay, 10),
            )
            verdict = classify_task(temp_task)
            deadline = self._deadline()
            if verdict.outcome == Outcome.WAITING and self.deferrable:
                self.defer(
                    trigger=NeonDmsTaskCompletionTrigger(
                        replication_task_arn=temp_arn,
                        deadline=deadline,
                        waiter_delay=self.waiter_delay,
                        **self.aws_kwargs,
                    ),
                    method_name="execute_complete_temporary",
                    kwargs={"temporary_task_arn": temp_arn, "temporary_task_identifier": temp_id},
                )
            progress = ProgressLog()
            while verdict.outcome == Outcome.WAITING and time.time() < deadline:
                self.log_task_progress(progress, temp_task, verdict.message)
                time.sleep(self.waiter_delay)
                temp_task = self.hook.describe_task(temp_arn)
                verdict = classify_task(temp_task)
            result = self._temporary_result(METHOD_TEMPORARY_TASK, verdict, temp_arn, temp_id, tables)
        except Exception as err:
            # A deferral (TaskDeferred is a BaseException) keeps the task for the trigger.
            self._delete_after_failure(temp_arn, err)
            raise
        self._delete_temporary(temp_arn)
        return result

    def _temporary_result(
        self, method: str, verdict: TaskOutcome, temp_arn: str, temp_id: str, tables: list[TableRef]
    ) -> dict[str, Any]:
        """The temporary task's (or config's) finished run judged: its tables' report, or raise."""
        from airflow_neon_dms.dms.states import Outcome

        if verdict.outcome == Outcome.FAILED:
            raise ReplicationTaskFailedError(
                f"Reload of {len(tables)} table(s) failed: {verdict.message}"
                f"{self._failed_tables_text(temp_arn, tables)}"
            )
        if verdict.outcome == Outcome.WAITING:
            raise DmsResourceError(self._timeout_text(verdict.message))
        rows = self.hook.table_statistics(temp_arn, tables)
        return self._check(method, tables, 0, temp_id, rows)

    def execute_complete_temporary(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        temporary_task_arn: str = "",
        temporary_task_identifier: str = "",
    ) -> dict[str, Any]:
        from airflow_neon_dms.dms.replication_states import is_replication_config_arn

        tables = self._tables()
        # The event names the temporary task (or config) too: runners that drop the deferral
        # kwargs (``dag.test()``) still work.
        named = event or {}
        arn = temporary_task_arn or str(
            named.get("replication_task_arn") or named.get("replication_config_arn") or ""
        )
        self._temporary_task_arn = arn or None
        try:
            self._check_event(event, arn)
            identifier = temporary_task_identifier or str(
                self.hook.describe_task(arn).get("ReplicationTaskIdentifier", "")
            )
            rows = self.hook.table_statistics(arn, tables)
            method = METHOD_TEMPORARY_CONFIG if is_replication_config_arn(arn) else METHOD_TEMPORARY_TASK
            result = self._check(method, tables, 0, identifier, rows)
        except Exception as err:
            self._delete_after_failure(arn, err)
            raise
        self._delete_temporary(arn)
        return result

    def _delete_temporary(self, arn: str) -> None:
        """Delete the temporary task (or replication config) and wait until DMS has removed it
        (the delete is asynchronous)."""
        from airflow_neon_dms.dms.replication_states import is_replication_config_arn

        if arn and is_replication_config_arn(arn):
            self.hook.remove_replication_config(arn, timeout=self.max_wait, delay=min(self.waiter_delay, 2))
            self.log.info("Deleted temporary reload config %s", arn)
        elif arn:
            self.hook.delete_task(arn, delay=min(self.waiter_delay, 2))
            self.log.info("Deleted temporary reload task %s", arn)
        self._temporary_task_arn = None

    def _delete_after_failure(self, arn: str, error: BaseException) -> None:
        """Clean up after ``error`` without hiding it: a failed delete is logged and noted on it."""
        try:
            self._delete_temporary(arn)
        except Exception as cleanup_error:
            self.log.warning("Could not delete temporary reload task %s: %s", arn, cleanup_error)
            error.add_note(
                f"The temporary reload task {arn} could not be deleted ({cleanup_error}); the next "
                "try of this operator finds it by its tags and deletes it."
            )

    def _delete_leftovers(self, task_identifier: str) -> None:
        """Delete temporary reload tasks of this task that an earlier, killed try left behind."""
        for leftover in self.hook.find_temporary_reload_tasks(self.replication_task_arn, task_identifier):
            self.log.info(
                "Deleting temporary reload task %s (%s) left behind by an earlier try",
                leftover.get("ReplicationTaskIdentifier"),
                leftover.get("Status"),
            )
            self.hook.delete_task(str(leftover["ReplicationTaskArn"]), delay=min(self.waiter_delay, 2))

    def on_kill(self) -> None:
        """Delete the temporary reload task this try made (a killed wait leaves nothing behind).

        Airflow calls this only for a task running in a worker; a task killed while deferred
        leaves its temporary task, which the next try deletes (it is found by its tags).
        """
        if self._temporary_task_arn:
            try:
                self._delete_temporary(self._temporary_task_arn)
            except Exception as err:  # on_kill must never raise
                self.log.warning(
                    "Could not delete temporary reload task %s: %s", self._temporary_task_arn, err
                )

    # Shared -----------------------------------------------------------------------------------

    def _check_event(self, event: dict[str, Any] | None, task_arn: str | None = None) -> None:
        """Raise unless the wait succeeded; a failure names the failed tables of ``task_arn``."""
        check_event(
            event,
            f"Reload of {self.replication_task_arn}",
            wait="reload wait",
            failed=lambda message: ReplicationTaskFailedError(
                f"Reload of tables failed: {message}"
                f"{self._failed_tables_text(task_arn, self._tables()) if task_arn else ''}"
            ),
            timed_out=lambda message: DmsResourceError(self._timeout_text(message)),
        )

    def _failed_tables_text(self, task_arn: str, tables: list[TableRef]) -> str:
        """`` Failed tables: public.t (Table error), ...`` from the task's statistics, or ''."""
        from airflow_neon_dms.dms.states import table_progress

        try:
            failed = table_progress(self.hook.table_statistics(task_arn, tables)).failed
        except Exception as err:  # the failure itself is what the user needs; this only adds detail
            self.log.warning("Could not read the table statistics of %s: %s", task_arn, err)
            return ""
        if not failed:
            return ""
        return f" Failed tables: {', '.join(v.describe() for v in failed)}."

    def _timeout_text(self, detail: str) -> str:
        return (
            f"Reload of tables of {self.replication_task_arn} did not finish within {self.max_wait:.0f} s "
            f"({detail}). Raise max_wait, or check the task's CloudWatch log."
        )

    def _check(
        self,
        method: str,
        tables: list[TableRef],
        calls: int,
        temp_id: str | None,
        rows: list[dict[str, Any]],
    ) -> dict[str, Any]:
        from airflow_neon_dms.dms.validation_report import ValidationReport

        report = ValidationReport.from_statistics(rows)
        self.log.info("Reloaded tables:\n%s", report.render())
        missing = sorted(set(tables) - {t.ref for t in report.tables})
        if report.failed or missing:
            parts = [f"{t.ref} ({t.failure})" for t in report.failed] + [
                f"{t} (no statistics)" for t in missing
            ]
            raise TableValidationFailedError(
                f"Reload on replication task {self.replication_task_arn}: {len(parts)} table(s) still "
                f"failed: "
                f"{', '.join(parts)}. Check the task's CloudWatch log for the cause."
            )
        return self._result(method, tables, calls, temp_id, report.to_xcom())

    def _result(
        self,
        method: str,
        tables: list[TableRef],
        calls: int,
        temp_id: str | None,
        report: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "replication_task_arn": self.replication_task_arn,
            "method": method,
            "tables": [t.as_dict() for t in tables],
            "reload_calls": calls,
            "temporary_task_identifier": temp_id,
            "report": report,
        }


def _capacity_of(compute: Mapping[str, Any]) -> dict[str, Any]:
    """The ComputeConfig members a new config takes from the original's (its capacity, network
    and encryption; not the read-only or one-config members)."""
    keep = (
        "MaxCapacityUnits",
        "MinCapacityUnits",
        "MultiAZ",
        "ReplicationSubnetGroupId",
        "VpcSecurityGroupIds",
        "KmsKeyId",
        "DnsNameServers",
        "AvailabilityZone",
    )
    return {key: compute[key] for key in keep if compute.get(key) not in (None, "", [])}


def _dag_run_label(context: Context) -> str | None:
    """``<dag_id>/<run_id>`` of the running DAG run, for the temporary task's tags."""
    dag_run = context.get("dag_run")
    run_id = getattr(dag_run, "run_id", None)
    if not run_id:
        return None
    return f"{getattr(dag_run, 'dag_id', '')}/{run_id}"

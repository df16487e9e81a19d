"""NeonDmsReloadTablesOperator on the local DMS emulator: running tasks, stopped tasks, no duplicates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from botocore.exceptions import ClientError

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.reload_plan import temporary_task_identifier
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.exceptions import (
    DmsResourceError,
    NeonConfigError,
    ReplicationTaskFailedError,
    TableValidationFailedError,
)
from airflow_neon_dms.operators.reload import (
    METHOD_RELOAD_TABLES,
    METHOD_TEMPORARY_TASK,
    NeonDmsReloadTablesOperator,
)
from airflow_neon_dms.triggers.table_statistics import NeonDmsTableStatisticsTrigger
from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger

#: Damage to the target copy of t1: a changed row, a lost row and a row the source never had.
DAMAGE = (
    "UPDATE t1 SET v = 'tampered' WHERE id = 7",
    "DELETE FROM t1 WHERE id = 8",
    "INSERT INTO t1 VALUES (999, 'stray')",
)


def _op(arn: str, tables: Any, **kwargs: Any) -> NeonDmsReloadTablesOperator:
    kwargs.setdefault("waiter_delay", 0.2)
    kwargs.setdefault("max_wait", 60)
    kwargs.setdefault("settle_timeout", 30)
    return NeonDmsReloadTablesOperator(task_id="reload", replication_task_arn=arn, tables=tables, **kwargs)


def _damage(run_sql: Callable[[str, str], None], database: str) -> None:
    for statement in DAMAGE:
        run_sql(database, statement)


async def _first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger yielded no event")


def _neon_conn(monkeypatch: pytest.MonkeyPatch, pg_server: Any, database: str) -> str:
    """``neon_target``: a Neon connection to the target database (TLS off on the test server)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEON_TARGET",
        json.dumps(
            {
                "conn_type": "neon",
                "host": pg_server.host,
                "port": pg_server.port,
                "login": pg_server.user,
                "password": pg_server.password or "unused",
                "schema": database,
                "extra": {"sslmode": "disable"},
            }
        ),
    )
    return "neon_target"


def _task_ids(dms: Any) -> set[str]:
    return {t["ReplicationTaskIdentifier"] for t in dms.describe_replication_tasks()["ReplicationTasks"]}


def test_template_fields() -> None:
    assert {"replication_task_arn", "tables", "neon_conn_id"} <= set(
        NeonDmsReloadTablesOperator.template_fields
    )
    assert NeonDmsReloadTablesOperator.template_fields_renderers["tables"] == "json"


def test_empty_list_does_nothing(context_factory: Callable[..., dict[str, Any]]) -> None:
    result = _op("arn:aws:dms:us-east-1:1:task:X", []).execute(context_factory())
    assert result["reload_calls"] == 0 and result["tables"] == []


def test_running_task_reloads_and_repairs_the_table(
    migrated_task: Callable[..., Any],
    run_sql: Callable[[str, str], None],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task()
    _damage(run_sql, task.target_db)
    result = _op(task.arn, [{"schema": "public", "table": "t1"}], deferrable=False).execute(context_factory())
    assert result["method"] == METHOD_RELOAD_TABLES
    assert result["reload_calls"] == 1
    assert result["report"]["summary"]["failed"] == 0
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")


def test_running_task_in_do_nothing_mode_needs_the_neon_connection(
    migrated_task: Callable[..., Any], context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = migrated_task(prep_mode="DO_NOTHING")
    with pytest.raises(
        NeonConfigError, match="DO_NOTHING, so a reload would append the rows again.*neon_conn_id"
    ):
        _op(task.arn, ["public.t1"], deferrable=False).execute(context_factory())


def test_running_task_in_do_nothing_mode_truncates_first(
    migrated_task: Callable[..., Any],
    pg_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    run_sql: Callable[[str, str], None],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task(prep_mode="DO_NOTHING")
    _neon_conn(monkeypatch, pg_server, task.target_db)
    _damage(run_sql, task.target_db)
    result = _op(task.arn, ["public.t1"], deferrable=False, neon_conn_id="neon_target").execute(
        context_factory()
    )
    assert result["method"] == METHOD_RELOAD_TABLES
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")  # no duplicates


def test_running_task_defers_with_the_tables_and_completes(
    migrated_task: Callable[..., Any],
    run_sql: Callable[[str, str], None],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task()
    _damage(run_sql, task.target_db)
    op = _op(task.arn, ["public.t1", "public.t2"], deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    trigger = deferred.value.trigger
    assert isinstance(trigger, NeonDmsTableStatisticsTrigger)
    assert deferred.value.method_name == "execute_complete_reload"
    assert deferred.value.kwargs == {"reload_calls": 1}
    fields = trigger.serialize()[1]
    assert fields["tables"] == [{"schema": "public", "table": "t1"}, {"schema": "public", "table": "t2"}]
    assert fields["expect_tables"] is True and fields["reloaded_since"] is not None
    event = asyncio.run(_first_event(trigger))
    result = op.execute_complete_reload(context_factory(), event, **deferred.value.kwargs)
    assert result["method"] == METHOD_RELOAD_TABLES and result["reload_calls"] == 1
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")


def test_stopped_full_load_task_reloads_through_a_temporary_task(
    migrated_task: Callable[..., Any],
    dms: Any,
    run_sql: Callable[[str, str], None],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task("full-load", prep_mode="DO_NOTHING")
    _damage(run_sql, task.target_db)
    untouched = table_rows(task.target_db, "t2")
    result = _op(task.arn, [{"schema": "public", "table": "t1"}], deferrable=False).execute(context_factory())
    temp_id = temporary_task_identifier(task.identifier, [TableRef("public", "t1")])
    assert result["method"] == METHOD_TEMPORARY_TASK
    assert result["temporary_task_identifier"] == temp_id
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")  # repaired, no duplicates
    assert table_rows(task.target_db, "t2") == untouched  # other tables are not touched
    assert temp_id not in _task_ids(dms)  # cleaned up


def test_stopped_task_deferred_path_cleans_up(
    migrated_task: Callable[..., Any],
    dms: Any,
    run_sql: Callable[[str, str], None],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task("full-load")
    _damage(run_sql, task.target_db)
    op = _op(task.arn, ["public.t1"], deferrable=True)
    try:
        result = op.execute(context_factory())
    except TaskDeferred as deferred:
        trigger = deferred.trigger
        assert isinstance(trigger, NeonDmsTaskCompletionTrigger)
        assert deferred.method_name == "execute_complete_temporary"
        assert deferred.kwargs is not None
        assert deferred.kwargs["temporary_task_identifier"] in _task_ids(dms)
        event = asyncio.run(_first_event(trigger))
        result = op.execute_complete_temporary(context_factory(), event, **deferred.kwargs)
    assert result["method"] == METHOD_TEMPORARY_TASK
    assert result["temporary_task_identifier"] not in _task_ids(dms)
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")


def test_failed_temporary_reload_still_cleans_up(
    migrated_task: Callable[..., Any], dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = migrated_task("full-load")
    op = _op(task.arn, ["public.t1"], deferrable=False)
    temp_id = temporary_task_identifier(task.identifier, [TableRef("public", "t1")])
    event = {"status": "failed", "message": "Stop Reason FATAL_ERROR", "replication_task_arn": "x"}
    [original] = dms.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task.arn]}]
    )["ReplicationTasks"]
    temp_arn = dms.create_replication_task(
        ReplicationTaskIdentifier=temp_id,
        SourceEndpointArn=original["SourceEndpointArn"],
        TargetEndpointArn=original["TargetEndpointArn"],
        ReplicationInstanceArn=original["ReplicationInstanceArn"],
        MigrationType="full-load",
        TableMappings=TableMappings.for_tables([TableRef("public", "t1")]).to_json(),
    )["ReplicationTask"]["ReplicationTaskArn"]
    with pytest.raises(ReplicationTaskFailedError, match="Reload of tables failed: Stop Reason FATAL_ERROR"):
        op.execute_complete_temporary(
            context_factory(), event, temporary_task_arn=temp_arn, temporary_task_identifier=temp_id
        )
    assert temp_id not in _task_ids(dms)


def test_retry_reloads_again_without_leftovers(
    migrated_task: Callable[..., Any],
    dms: Any,
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task("full-load")
    before = _task_ids(dms)
    op = _op(task.arn, ["public.t1", "public.t0"], deferrable=False)
    first = op.execute(context_factory())
    second = op.execute(context_factory())
    assert {k: v for k, v in first.items() if k != "report"} == {
        k: v for k, v in second.items() if k != "report"
    }
    assert _task_ids(dms) == before
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")


def test_on_kill_deletes_the_temporary_task(
    migrated_task: Callable[..., Any], dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    task = migrated_task("full-load")
    op = _op(task.arn, ["public.t2"], deferrable=True)
    temp_id = temporary_task_identifier(task.identifier, [TableRef("public", "t2")])
    try:
        op.execute(context_factory())
    except TaskDeferred:
        assert temp_id in _task_ids(dms)
        op.on_kill()
        assert temp_id not in _task_ids(dms)
    else:
        assert temp_id not in _task_ids(dms)  # finished before the first check and cleaned up


#: Makes the load of t1 into the target fail: the source's text values no longer fit.
BREAK_T1 = "ALTER TABLE t1 ALTER COLUMN v TYPE int USING NULL"


def test_running_task_reload_that_errors_stops_and_names_the_table(
    migrated_task: Callable[..., Any],
    run_sql: Callable[[str, str], None],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    """A reload ending in ``Table error`` ends the wait (max_wait is far away) and says why."""
    task = migrated_task()
    run_sql(task.target_db, BREAK_T1)
    op = _op(task.arn, ["public.t1"], deferrable=False, max_wait=3600)
    with pytest.raises(TableValidationFailedError, match=r"public\.t1 \(Table error\)"):
        op.execute(context_factory())


def test_running_task_reload_that_errors_ends_the_deferred_wait(
    migrated_task: Callable[..., Any],
    run_sql: Callable[[str, str], None],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task()
    run_sql(task.target_db, BREAK_T1)
    op = _op(task.arn, ["public.t1"], deferrable=True, max_wait=3600)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    event = asyncio.run(_first_event(deferred.value.trigger))
    assert event["status"] == "success"  # settled: every table is in a terminal state
    with pytest.raises(TableValidationFailedError, match=r"public\.t1 \(Table error\)"):
        op.execute_complete_reload(context_factory(), event, **(deferred.value.kwargs or {}))


def test_stopped_task_reload_that_errors_names_the_table(
    migrated_task: Callable[..., Any],
    dms: Any,
    run_sql: Callable[[str, str], None],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task("full-load")
    run_sql(task.target_db, BREAK_T1)
    op = _op(task.arn, ["public.t1"], deferrable=False, max_wait=3600)
    with pytest.raises(ReplicationTaskFailedError, match=r"Failed tables: public\.t1 \(Table error\)"):
        op.execute(context_factory())
    assert temporary_task_identifier(task.identifier, [TableRef("public", "t1")]) not in _task_ids(dms)


def test_refused_reload_in_do_nothing_mode_leaves_the_rows(
    migrated_task: Callable[..., Any],
    dms: Any,
    pg_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    """The task stops between the operator's describe and its ReloadTables call, so the local DMS
    refuses the reload for real (InvalidResourceStateFault): no table may be left emptied."""
    from airflow_neon_dms.hooks.dms import NeonDmsHook

    task = migrated_task(prep_mode="DO_NOTHING")
    before = table_rows(task.target_db, "t1")
    real_reload = NeonDmsHook.reload_tables

    def stop_then_reload(hook: NeonDmsHook, *args: Any, **kwargs: Any) -> int:
        dms.stop_replication_task(ReplicationTaskArn=task.arn)
        return real_reload(hook, *args, **kwargs)

    monkeypatch.setattr(NeonDmsHook, "reload_tables", stop_then_reload)
    op = _op(
        task.arn,
        ["public.t1"],
        deferrable=False,
        neon_conn_id=_neon_conn(monkeypatch, pg_server, task.target_db),
    )
    with pytest.raises(ClientError, match="InvalidResourceStateFault"):
        op.execute(context_factory())
    assert table_rows(task.target_db, "t1") == before == table_rows(task.source_db, "t1")


def test_cdc_only_task_is_refused_before_anything_is_emptied(
    migrated_task: Callable[..., Any],
    dms: Any,
    pg_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    stop_tasks_after: list[str],
    unique_id: Callable[[str], str],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    """DMS reloads tables only of full-load and full-load-and-cdc tasks (DMS user guide)."""
    from airflow_neon_dms.hooks.dms import NeonDmsHook

    loaded = migrated_task(prep_mode="DO_NOTHING")
    [original] = dms.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [loaded.arn]}]
    )["ReplicationTasks"]
    hook = NeonDmsHook(aws_conn_id="aws_default")
    cdc_arn, _ = hook.ensure_task(
        unique_id("cdc"),
        source_endpoint_arn=original["SourceEndpointArn"],
        target_endpoint_arn=original["TargetEndpointArn"],
        replication_instance_arn=original["ReplicationInstanceArn"],
        migration_type="cdc",
        table_mappings=original["TableMappings"],
        task_settings=original["ReplicationTaskSettings"],
    )
    stop_tasks_after.append(cdc_arn)
    hook.start_task(cdc_arn, "start-replication", settle_timeout=30, settle_delay=0.1)
    dms.get_waiter("replication_task_running").wait(
        Filters=[{"Name": "replication-task-arn", "Values": [cdc_arn]}], WaiterConfig={"Delay": 1}
    )
    before = table_rows(loaded.target_db, "t1")
    op = _op(
        cdc_arn,
        ["public.t1"],
        deferrable=False,
        neon_conn_id=_neon_conn(monkeypatch, pg_server, loaded.target_db),
    )
    with pytest.raises(DmsResourceError, match="is a cdc task: DMS reloads tables only of full-load"):
        op.execute(context_factory())
    assert table_rows(loaded.target_db, "t1") == before


def test_foreign_key_to_a_reloaded_table_is_a_clear_error_and_keeps_the_rows(
    migrated_task: Callable[..., Any],
    pg_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    run_sql: Callable[[str, str], None],
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task(prep_mode="DO_NOTHING")
    run_sql(
        task.target_db,
        "CREATE TABLE notes (id int PRIMARY KEY, t1_id int CONSTRAINT notes_t1_fk REFERENCES t1 (id));"
        "INSERT INTO notes VALUES (1, 7)",
    )
    before = table_rows(task.target_db, "t1")
    op = _op(
        task.arn,
        ["public.t1"],
        deferrable=False,
        neon_conn_id=_neon_conn(monkeypatch, pg_server, task.target_db),
    )
    with pytest.raises(NeonConfigError) as raised:
        op.execute(context_factory())
    message = str(raised.value)
    assert "constraint notes_t1_fk on public.notes references public.t1" in message
    assert "Fix: reload public.notes in the same call" in message and "drop the foreign key" in message
    assert table_rows(task.target_db, "t1") == before
    assert table_rows(task.target_db, "notes") == [(1, 7)]


def _tags(dms: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in dms.list_tags_for_resource(ResourceArn=arn)["TagList"]}


def _describe(dms: Any, identifier: str) -> dict[str, Any]:
    [task] = dms.describe_replication_tasks(
        Filters=[{"Name": "replication-task-id", "Values": [identifier]}], WithoutSettings=False
    )["ReplicationTasks"]
    return dict(task)


def _deferred_temporary_task(op: NeonDmsReloadTablesOperator, context: dict[str, Any]) -> str:
    """Run ``op`` until it defers with its temporary task; the worker is then 'killed'."""
    try:
        op.execute(context)
    except TaskDeferred as deferred:
        assert deferred.kwargs is not None
        return str(deferred.kwargs["temporary_task_identifier"])
    raise AssertionError("the reload finished without deferring")


def test_temporary_task_keeps_the_row_filter_and_table_settings(
    migrated_task: Callable[..., Any], dms: Any, context_factory: Callable[..., dict[str, Any]]
) -> None:
    """The local DMS does not apply row filters, so the test reads the temporary task's mappings."""
    task = migrated_task("full-load")
    row_filter = [
        {
            "filter-type": "source",
            "column-name": "id",
            "filter-conditions": [{"filter-operator": "lte", "value": "10"}],
        }
    ]
    mappings = json.loads(_describe(dms, task.identifier)["TableMappings"])
    mappings["rules"] += [
        {
            "rule-type": "selection",
            "rule-id": "90",
            "rule-name": "t1-first-rows",
            "rule-action": "include",
            "object-locator": {"schema-name": "public", "table-name": "t1"},
            "filters": row_filter,
        },
        {
            "rule-type": "table-settings",
            "rule-id": "91",
            "rule-name": "t1-parallel",
            "object-locator": {"schema-name": "public", "table-name": "t1"},
            "parallel-load": {"type": "partitions-auto"},
        },
    ]
    # the original's catch-all rule goes, so only the filtered rule selects t1
    mappings["rules"] = [
        r for r in mappings["rules"] if r["rule-type"] != "selection" or r.get("filters")
    ] + [
        {
            "rule-type": "selection",
            "rule-id": "92",
            "rule-name": "others",
            "rule-action": "include",
            "object-locator": {"schema-name": "public", "table-name": "t2"},
        }
    ]
    dms.modify_replication_task(ReplicationTaskArn=task.arn, TableMappings=json.dumps(mappings))
    op = _op(task.arn, ["public.t1"], deferrable=True)
    temp_id = _deferred_temporary_task(op, context_factory())
    rules = json.loads(_describe(dms, temp_id)["TableMappings"])["rules"]
    assert [r["filters"] for r in rules if r["rule-type"] == "selection"] == [row_filter]
    assert [r["parallel-load"] for r in rules if r["rule-type"] == "table-settings"] == [
        {"type": "partitions-auto"}
    ]
    op.on_kill()
    assert temp_id not in _task_ids(dms)


def test_a_try_killed_while_deferred_leaves_a_tagged_task_that_the_retry_deletes(
    migrated_task: Callable[..., Any],
    dms: Any,
    table_rows: Callable[[str, str], list[Any]],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    task = migrated_task("full-load")
    context = context_factory()
    context["dag_run"].run_id = "manual__retry"
    context["dag_run"].dag_id = "migrate"
    left_id = _deferred_temporary_task(_op(task.arn, ["public.t1"], deferrable=True), context)
    left_arn = _describe(dms, left_id)["ReplicationTaskArn"]
    assert _tags(dms, left_arn) == {
        "neon-dms:managed-by": "airflow-neon-dms",
        "neon-dms:reload-of": task.arn,
        "neon-dms:dag-run": "migrate/manual__retry",
    }
    # a task of the same name form that this provider did not tag is never touched
    [original] = dms.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [task.arn]}]
    )["ReplicationTasks"]
    stranger_id = temporary_task_identifier(task.identifier, [TableRef("public", "t0")])
    dms.create_replication_task(
        ReplicationTaskIdentifier=stranger_id,
        SourceEndpointArn=original["SourceEndpointArn"],
        TargetEndpointArn=original["TargetEndpointArn"],
        ReplicationInstanceArn=original["ReplicationInstanceArn"],
        MigrationType="full-load",
        TableMappings=TableMappings.for_tables([TableRef("public", "t0")]).to_json(),
    )
    # the retry (here with another table list) finds the leftover by its tags and deletes it
    result = _op(task.arn, ["public.t1", "public.t2"], deferrable=False).execute(context_factory())
    assert result["method"] == METHOD_TEMPORARY_TASK
    assert left_id not in _task_ids(dms)
    assert result["temporary_task_identifier"] not in _task_ids(dms)
    assert stranger_id in _task_ids(dms)
    assert table_rows(task.target_db, "t1") == table_rows(task.source_db, "t1")


def test_a_failed_clean_up_does_not_hide_the_reload_failure(
    migrated_task: Callable[..., Any],
    dms: Any,
    monkeypatch: pytest.MonkeyPatch,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    """DMS refusing the delete is a fault the local DMS cannot be made to give, so delete_task is
    replaced by one that raises it."""
    from airflow_neon_dms.hooks.dms import NeonDmsHook

    task = migrated_task("full-load")

    def refuse(hook: NeonDmsHook, arn: str, **kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InvalidResourceStateFault", "Message": "task is busy"}},
            "DeleteReplicationTask",
        )

    monkeypatch.setattr(NeonDmsHook, "delete_task", refuse)
    temp_arn = "arn:aws:dms:us-east-1:000000000000:task:TEMPORARY"
    event = {"status": "failed", "message": "Stop Reason FATAL_ERROR", "replication_task_arn": temp_arn}
    with pytest.raises(ReplicationTaskFailedError, match="Stop Reason FATAL_ERROR") as raised:
        _op(task.arn, ["public.t1"]).execute_complete_temporary(
            context_factory(), event, temporary_task_arn=temp_arn, temporary_task_identifier="temp"
        )
    assert any("could not be deleted" in note and "task is busy" in note for note in raised.value.__notes__)

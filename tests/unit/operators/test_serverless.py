"""The DMS Serverless operators against the local DMS over HTTP, moving rows between real
PostgreSQL databases: create, start (deferred through provisioning), validate, reload, stop,
delete, and the bad input that must leave no replication config behind."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.reload_plan import temporary_task_identifier, temporary_task_tags
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.exceptions import DmsResourceError, NeonConfigError, ReplicationTaskFailedError
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from airflow_neon_dms.operators.reload import NeonDmsReloadTablesOperator
from airflow_neon_dms.operators.serverless import (
    NeonDmsCreateReplicationConfigOperator,
    NeonDmsDeleteReplicationConfigOperator,
    NeonDmsStartReplicationOperator,
    NeonDmsStopReplicationOperator,
)
from airflow_neon_dms.operators.validation import NeonDmsValidationOperator
from airflow_neon_dms.triggers.replication import NeonDmsReplicationTrigger
from tests.unit.conftest import PAIR_ROWS, DmsServer, make_context

#: Provisioning takes a while (as on AWS), so a start is seen provisioning and defers, and a
#: modified config's replication is ``modifying`` for a moment (the start waits it out); nothing
#: else has a transitional state.
PROVISIONING = dataclasses.replace(INSTANT, serverless_provisioning_seconds=1.5, modifying_seconds=1.0)


@pytest.fixture(scope="module")
def provisioning_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=PROVISIONING) as running:
        yield running


@pytest.fixture
def dms_server(provisioning_dms: LocalDms) -> DmsServer:  # overrides the shared DMS of the test run
    return DmsServer(provisioning_dms.endpoint_url)


@pytest.fixture
def configs(dms: Any) -> Iterator[list[str]]:
    """Identifiers of the configs a test may create; each must be gone afterwards (checked in the
    tests that say so) and is deleted here in any case."""
    names: list[str] = []
    yield names
    hook = NeonDmsHook(aws_conn_id="aws_default")
    for name in names:
        found = hook.find_replication_config(name)
        if found:
            hook.remove_replication_config(str(found["ReplicationConfigArn"]), timeout=60, delay=0.2)


def _create(endpoint_pair: Any, identifier: str, **kwargs: Any) -> NeonDmsCreateReplicationConfigOperator:
    kwargs.setdefault("table_mappings", TableMappings.include("public").to_json())
    kwargs.setdefault("replication_settings", TaskSettings(enable_validation=True).to_json())
    return NeonDmsCreateReplicationConfigOperator(
        task_id="create",
        replication_config_identifier=identifier,
        source_endpoint_arn=endpoint_pair.source_arn,
        target_endpoint_arn=endpoint_pair.target_arn,
        **kwargs,
    )


def _start(arn: str, **kwargs: Any) -> NeonDmsStartReplicationOperator:
    kwargs.setdefault("waiter_delay", 0.2)
    kwargs.setdefault("max_wait", 120)
    return NeonDmsStartReplicationOperator(task_id="start", replication_config_arn=arn, **kwargs)


def _run_trigger(trigger: Any) -> dict[str, Any]:
    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("trigger yielded nothing")

    return asyncio.run(first_event())


def _start_deferred(arn: str, context: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    op = _start(arn, deferrable=True, **kwargs)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, NeonDmsReplicationTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.kwargs == {"started": True}
    path, fields = trigger.serialize()
    assert path == "airflow_neon_dms.triggers.replication.NeonDmsReplicationTrigger"
    assert fields["replication_config_arn"] == arn
    json.dumps(fields)  # every field is a JSON primitive
    again = NeonDmsReplicationTrigger(**fields)
    assert again.serialize() == (path, fields)
    event = _run_trigger(again)
    return op.execute_complete(context, event, **(deferred.value.kwargs or {}))


def test_full_load_replication_end_to_end(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    pg_server: Any,
    configs: list[str],
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    identifier = unique_id("config")
    configs.append(identifier)
    arn = _create(endpoint_pair, identifier, max_capacity_units=4, min_capacity_units=2).execute(
        make_context()
    )
    # The same settings again: the config is reused, not created twice.
    assert (
        _create(endpoint_pair, identifier, max_capacity_units=4, min_capacity_units=2).execute(make_context())
        == arn
    )

    context = context_factory()
    summary = _start_deferred(arn, context)
    assert summary["status"] == "stopped"
    assert summary["stop_reason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    with psycopg.connect(pg_server.dsn(endpoint_pair.target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (PAIR_ROWS,)
    # A retry in the same DAG run waits on the finished run; it does not start another.
    retry = _start(arn, deferrable=False).execute(context_factory(context["dag_run"].start_date))
    assert retry["started"] is False

    report = NeonDmsValidationOperator(
        task_id="validate", replication_config_arn=arn, waiter_delay=0.2, max_wait=60, deferrable=False
    ).execute(context)
    assert report["failed_tables"] == []
    assert [(t["schema"], t["table"], t["validation_state"]) for t in report["tables"]] == [
        ("public", "items", "Validated")
    ]

    # A stopped replication's table is reloaded through a temporary config of just that table
    # (ReloadReplicationTables needs a running replication); a leftover of a killed try is
    # deleted first, and no temporary config remains.
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    tables = [TableRef("public", "items")]
    leftover_id = temporary_task_identifier(identifier, tables)
    hook.ensure_replication_config(
        leftover_id,
        source_endpoint_arn=endpoint_pair.source_arn,
        target_endpoint_arn=endpoint_pair.target_arn,
        compute_config={"MaxCapacityUnits": 2},
        replication_type="full-load",
        table_mappings=TableMappings.include("public").to_json(),
        tags=temporary_task_tags(arn, None),
    )
    with psycopg.connect(pg_server.dsn(endpoint_pair.target_db)) as conn:
        conn.execute("DELETE FROM items WHERE id % 2 = 0")
    reload = NeonDmsReloadTablesOperator(
        task_id="reload",
        replication_config_arn=arn,
        tables=["public.items"],
        deferrable=True,
        waiter_delay=0.2,
        max_wait=120,
    )
    with pytest.raises(TaskDeferred) as deferred:  # the temporary config provisions in the triggerer
        reload.execute(context)
    assert isinstance(deferred.value.trigger, NeonDmsReplicationTrigger)
    assert deferred.value.method_name == "execute_complete_temporary"
    # resumed without the deferral's kwargs, as ``dag.test()`` does: the event names the config
    reloaded = reload.execute_complete_temporary(context, _run_trigger(deferred.value.trigger))
    assert reloaded["method"] == "temporary-replication-config"
    assert reloaded["temporary_task_identifier"] == leftover_id
    assert [t["table"] for t in reloaded["report"]["tables"]] == ["items"]
    with psycopg.connect(pg_server.dsn(endpoint_pair.target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (PAIR_ROWS,)
    assert hook.find_temporary_reload_configs(arn, identifier) == []
    assert hook.find_replication_config(leftover_id) is None
    assert hook.require_replication(arn)["Status"] == "stopped"  # the original is left as it was

    NeonDmsDeleteReplicationConfigOperator(
        task_id="delete", replication_config_arn=arn, waiter_delay=0.2, max_wait=60
    ).execute(make_context())
    assert NeonDmsHook(aws_conn_id=aws_conn).find_replication_config(identifier) is None


def test_running_cdc_replication_reloads_a_table_and_stops(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    pg_server: Any,
    configs: list[str],
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    identifier = unique_id("config")
    configs.append(identifier)
    arn = _create(
        endpoint_pair, identifier, max_capacity_units=2, replication_type="full-load-and-cdc"
    ).execute(make_context())
    context = context_factory()
    summary = _start_deferred(arn, context)
    assert summary["status"] == "running"
    assert summary["full_load_progress_percent"] == 100

    with psycopg.connect(pg_server.dsn(endpoint_pair.target_db), autocommit=True) as conn:
        conn.execute("DELETE FROM items WHERE id <= 10")
    result = NeonDmsReloadTablesOperator(
        task_id="reload",
        replication_config_arn=arn,
        tables=[{"schema": "public", "table": "items"}],
        waiter_delay=0.2,
        max_wait=60,
        deferrable=False,
    ).execute(context)
    assert result["method"] == "reload-tables"
    assert result["reload_calls"] == 1
    with psycopg.connect(pg_server.dsn(endpoint_pair.target_db)) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (PAIR_ROWS,)

    stopped = NeonDmsStopReplicationOperator(
        task_id="stop", replication_config_arn=arn, waiter_delay=0.2, max_wait=60
    ).execute(context)
    assert stopped["status"] == "stopped"
    assert stopped["stop_requested"] is True


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [
        ({"max_capacity_units": 3}, "use one of 1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384"),
        ({"max_capacity_units": 512}, "use one of 1, 2, 4"),
        ({"max_capacity_units": 2, "min_capacity_units": 0}, "MinCapacityUnits 0"),
        ({"max_capacity_units": 2, "min_capacity_units": 8}, "lower the minimum or raise the maximum"),
        (
            {"max_capacity_units": 2, "replication_instance_arn": "arn:aws:dms:us-east-1:123456789012:rep:X"},
            "Clear replication_instance_arn",
        ),
        ({"max_capacity_units": 2, "replication_type": "full"}, "not one of full-load, cdc"),
    ],
)
def test_bad_input_is_refused_before_any_config_exists(
    aws_conn: str,
    endpoint_pair: Any,
    configs: list[str],
    unique_id: Callable[[str], str],
    kwargs: dict[str, Any],
    fix: str,
) -> None:
    identifier = unique_id("config")
    configs.append(identifier)
    with pytest.raises(NeonConfigError, match=fix) as raised:
        _create(endpoint_pair, identifier, **kwargs).execute(make_context())
    assert identifier in str(raised.value)
    assert NeonDmsHook(aws_conn_id=aws_conn).find_replication_config(identifier) is None


def test_differing_config_is_modified_before_its_first_start_and_refused_after(
    aws_conn: str,
    endpoint_pair: Any,
    configs: list[str],
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    identifier = unique_id("config")
    configs.append(identifier)
    arn = _create(endpoint_pair, identifier, max_capacity_units=2).execute(make_context())
    assert _create(endpoint_pair, identifier, max_capacity_units=8).execute(make_context()) == arn
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    assert hook.describe_replication_config(arn)["ComputeConfig"]["MaxCapacityUnits"] == 8  # type: ignore[index]
    assert hook.require_replication(arn)["Status"] == "modifying"  # DMS refuses a start meanwhile
    assert _start(arn, deferrable=False).execute(context_factory())["started"] is True
    with pytest.raises(DmsResourceError, match="Delete the config"):
        _create(endpoint_pair, identifier, max_capacity_units=16).execute(make_context())


def test_failed_replication_fails_the_start(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    configs: list[str],
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    bad_source = dms.create_endpoint(
        EndpointIdentifier=unique_id("source"),
        EndpointType="source",
        EngineName="postgres",
        ServerName="127.0.0.1",
        Port=1,
        DatabaseName="nowhere",
        Username="nobody",
        Password="unused",
    )["Endpoint"]["EndpointArn"]
    identifier = unique_id("config")
    configs.append(identifier)
    arn = NeonDmsCreateReplicationConfigOperator(
        task_id="create",
        replication_config_identifier=identifier,
        source_endpoint_arn=bad_source,
        target_endpoint_arn=endpoint_pair.target_arn,
        table_mappings=TableMappings.include("public").to_json(),
        max_capacity_units=1,
    ).execute(make_context())
    with pytest.raises(ReplicationTaskFailedError, match="failed"):
        _start_deferred(arn, context_factory())


def test_invalid_event_and_start_type(endpoint_pair: Any) -> None:
    op = _start("arn:aws:dms:us-east-1:123456789012:replication-config:X", start_type="resume")
    with pytest.raises(NeonConfigError, match="start_type 'resume'"):
        op.execute(make_context())
    with pytest.raises(DmsResourceError, match="invalid event"):
        op.execute_complete(make_context(), {"status": "maybe"})


def test_validation_takes_exactly_one_arn() -> None:
    with pytest.raises(NeonConfigError, match="exactly one of replication_task_arn"):
        NeonDmsValidationOperator(task_id="v", replication_task_arn="a", replication_config_arn="b")
    with pytest.raises(NeonConfigError, match="exactly one of replication_task_arn"):
        NeonDmsReloadTablesOperator(task_id="r", tables=[])


def test_reload_of_a_replication_that_never_ran_names_the_fix_and_creates_nothing(
    aws_conn: str, dms: Any, endpoint_pair: Any, configs: list[str], unique_id: Callable[[str], str]
) -> None:
    identifier = unique_id("config")
    configs.append(identifier)
    arn = _create(endpoint_pair, identifier, max_capacity_units=2).execute(make_context())
    reload = NeonDmsReloadTablesOperator(
        task_id="reload", replication_config_arn=arn, tables=["public.items"], deferrable=False
    )
    with pytest.raises(DmsResourceError, match="never ran.*NeonDmsStartReplicationOperator"):
        reload.execute(make_context())
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    assert hook.find_temporary_reload_configs(arn, identifier) == []
    with pytest.raises(NeonConfigError, match="reload_option='data-reload'"):
        # validate-only needs the running replication itself: no temporary config can do it
        hook.conn.start_replication(ReplicationConfigArn=arn, StartReplicationType="start-replication")
        _wait_stopped(hook, arn)
        NeonDmsReloadTablesOperator(
            task_id="revalidate",
            replication_config_arn=arn,
            tables=["public.items"],
            reload_option="validate-only",
            deferrable=False,
        ).execute(make_context())


def _wait_stopped(hook: NeonDmsHook, arn: str) -> None:
    import time

    deadline = time.monotonic() + 60
    while hook.require_replication(arn)["Status"] != "stopped":
        assert time.monotonic() < deadline, hook.require_replication(arn)
        time.sleep(0.2)

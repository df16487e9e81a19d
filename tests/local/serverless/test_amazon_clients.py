"""The amazon provider's DMS Serverless operators, waiters and triggers (code not written here)
against the local DMS over HTTP, with every transitional state visible: synchronous waits, and
deferrals whose trigger runs its own loop (``trigger.run()`` under asyncio, aiobotocore over HTTP).

Each state the amazon code reads is checked against AWS's: Replication.Status goes through the
provisioning statuses of AWS's user guide ("AWS DMS Serverless components") in order, and
ProvisionData.ProvisionState through provisioning, provisioned, deprovisioning, deprovisioned.
Where the amazon code itself departs from AWS the test shows it (see docs/emulator.md, "Other
outside clients")."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from airflow.sdk.exceptions import TaskDeferred
from botocore.exceptions import ClientError

from airflow_neon_dms.local.server import LocalDms
from airflow_neon_dms.local.state_timing import INSTANT
from tests.local.serverless.support import replication
from tests.local.support import INCLUDE_ALL_PUBLIC, Dms, unique
from tests.logical_postgres import LogicalPg
from tests.unit.conftest import make_context

#: Replication.Status values in AWS's order (user guide, "AWS DMS Serverless components"; the wire
#: spelling as the amazon provider's waiters and terraform-provider-aws's DMS constants write it),
#: written out here, not imported from the emulator or the provider, so a wrong list there fails.
AWS_STATUS_ORDER = (
    "created",
    "initializing",
    "preparing_metadata_resources",
    "testing_connection",
    "fetching_metadata",
    "calculating_capacity",
    "provisioning_capacity",
    "replication_starting",
    "running",
    "stopping",
    "stopped",
)
AWS_PROVISION_ORDER = ("provisioning", "provisioned", "deprovisioning", "deprovisioned")
#: Provisioning, keeping the capacity after a stop, deprovisioning and deleting all take a while
#: (as on AWS, shorter); a test waits them out with the amazon waiters.
VISIBLE = dataclasses.replace(
    INSTANT,
    serverless_provisioning_seconds=2.0,
    serverless_deprovision_after_seconds=2.0,
    serverless_deprovisioning_seconds=1.0,
    deleting_seconds=1.0,
)
CONN_ID = "aws_amazon_serverless"


#: As VISIBLE, but a stopped replication keeps its capacity (AWS: up to 48 hours) for the whole test.
KEEPS_CAPACITY = dataclasses.replace(VISIBLE, serverless_deprovision_after_seconds=3600.0)


@pytest.fixture(scope="module")
def visible_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=VISIBLE) as running:
        yield running


@pytest.fixture(scope="module")
def keeping_dms() -> Iterator[LocalDms]:
    with LocalDms(port=0, timing=KEEPS_CAPACITY) as running:
        yield running


def _connected(running: LocalDms, make_dms: Callable[[str], Dms], monkeypatch: pytest.MonkeyPatch) -> Dms:
    """The Airflow connection CONN_ID (an environment variable) and a boto3 client, both to ``running``."""
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": running.endpoint_url, "region_name": "us-east-1"},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    return make_dms(running.endpoint_url)


@pytest.fixture
def dms(visible_dms: LocalDms, make_dms: Callable[[str], Dms], monkeypatch: pytest.MonkeyPatch) -> Dms:
    return _connected(visible_dms, make_dms, monkeypatch)


@pytest.fixture
def keeping(keeping_dms: LocalDms, make_dms: Callable[[str], Dms], monkeypatch: pytest.MonkeyPatch) -> Dms:
    return _connected(keeping_dms, make_dms, monkeypatch)


class StateLog:
    """Polls DescribeReplications in a thread and keeps every (Status, ProvisionState) change."""

    def __init__(self, client: Any, config_arn: str) -> None:
        self.client, self.config_arn = client, config_arn
        self.seen: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                current = replication(self.client, self.config_arn)
            except ClientError:  # the config is gone
                return
            pair = (str(current["Status"]), str(current.get("ProvisionData", {}).get("ProvisionState", "")))
            if not self.seen or self.seen[-1] != pair:
                self.seen.append(pair)
            self._stop.wait(0.05)

    def __enter__(self) -> StateLog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def statuses(self) -> list[str]:
        return [s for i, (s, _) in enumerate(self.seen) if i == 0 or self.seen[i - 1][0] != s]

    def provision_states(self) -> list[str]:
        states = [p for _, p in self.seen if p]
        return [p for i, p in enumerate(states) if i == 0 or states[i - 1] != p]


def in_order(seen: list[str], order: tuple[str, ...]) -> bool:
    """Every value is one of ``order`` and they never go backwards."""
    positions = [order.index(value) for value in seen if value in order]
    return len(positions) == len(seen) and positions == sorted(positions)


def run_deferring(operator: Any, context: Any) -> tuple[Any, list[str]]:
    """``operator.execute``; at each deferral the trigger (after a serialize round trip) runs its
    own loop under asyncio and its event goes to the method the operator named."""
    call: Callable[[], Any] = lambda: operator.execute(context)  # noqa: E731
    triggers: list[str] = []
    while True:
        try:
            return call(), triggers
        except TaskDeferred as deferred:
            classpath, kwargs = deferred.trigger.serialize()
            trigger = type(deferred.trigger)(**kwargs)
            assert trigger.serialize() == (classpath, kwargs)
            triggers.append(type(trigger).__name__)
            event = asyncio.run(first_event(trigger))
            method = getattr(operator, deferred.method_name)
            call = lambda m=method, e=event: m(context, event=e)  # noqa: E731


async def first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError(f"{type(trigger).__name__} yielded no event")


def _pg_config(dms: Dms, source_db: str, target_db: str, server: Any, replication_type: str) -> str:
    from airflow.providers.amazon.aws.operators.dms import DmsCreateReplicationConfigOperator

    return str(
        DmsCreateReplicationConfigOperator(
            task_id="create",
            replication_config_id=unique("amazon"),
            source_endpoint_arn=dms.pg_endpoint("source", server, source_db),
            target_endpoint_arn=dms.pg_endpoint("target", server, target_db),
            compute_config={"MaxCapacityUnits": 4, "MinCapacityUnits": 2},
            replication_type=replication_type,
            table_mappings=json.dumps(INCLUDE_ALL_PUBLIC),
            aws_conn_id=CONN_ID,
        ).execute(make_context())
    )


def _full_load_config(dms: Dms, pg_server: Any, pg_pair: tuple[str, str]) -> str:
    source_db, target_db = pg_pair
    with psycopg.connect(pg_server.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 42)")
    return _pg_config(dms, source_db, target_db, pg_server, "full-load")


def _start(arn: str, start_type: str = "start-replication", *, wait: bool = True, **kwargs: Any) -> Any:
    """amazon's DmsStartReplicationOperator; ``wait``: its replication_complete waiter (success on
    "stopped"), or its DmsReplicationCompleteTrigger with ``deferrable=True``."""
    from airflow.providers.amazon.aws.operators.dms import DmsStartReplicationOperator

    return DmsStartReplicationOperator(
        task_id="start",
        replication_config_arn=arn,
        replication_start_type=start_type,
        wait_for_completion=wait,
        waiter_delay=1,
        waiter_max_attempts=120,
        aws_conn_id=CONN_ID,
        **kwargs,
    )


def test_sync_operators_and_waiters_see_aws_states(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    from airflow.providers.amazon.aws.hooks.dms import DmsHook
    from airflow.providers.amazon.aws.operators.dms import (
        DmsDeleteReplicationConfigOperator,
        DmsDescribeReplicationConfigsOperator,
        DmsDescribeReplicationsOperator,
    )

    context = make_context()
    arn = _full_load_config(dms, pg_server, pg_pair)
    by_arn = [{"Name": "replication-config-arn", "Values": [arn]}]
    hook = DmsHook(aws_conn_id=CONN_ID)

    configs = DmsDescribeReplicationConfigsOperator(
        task_id="configs", filter=by_arn, aws_conn_id=CONN_ID
    ).execute(context)
    assert [c["ReplicationConfigArn"] for c in configs] == [arn]
    assert configs[0]["ComputeConfig"] == {"MaxCapacityUnits": 4, "MinCapacityUnits": 2}
    described = DmsDescribeReplicationsOperator(task_id="d", filter=by_arn, aws_conn_id=CONN_ID)
    before = described.execute(context)[0]
    # never started: "created", no ProvisionData (the amazon code reads "" as nothing to wait for)
    assert before["Status"] == "created" and "ProvisionData" not in before
    assert hook.get_provision_status(arn) == ""

    with StateLog(dms.client, arn) as log:
        _start(arn).execute(context)
    assert in_order(log.statuses(), AWS_STATUS_ORDER), log.seen
    assert any(state == "provisioning" for _, state in log.seen), log.seen  # 2 s of it
    assert log.statuses()[-1] == "stopped"
    after = described.execute(context)[0]
    assert after["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert after["ProvisionData"]["ProvisionedCapacityUnits"] in (0, 2)  # 2 until it deprovisions
    assert after["ReplicationStats"]["TablesLoaded"] == 1
    assert after["ReplicationStats"]["FullLoadProgressPercent"] == 100
    assert after["ReplicationDeprovisionTime"] >= after["ReplicationLastStopTime"]
    with psycopg.connect(pg_server.dsn(pg_pair[1])) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (42,)

    with StateLog(dms.client, arn) as log:
        hook.get_waiter("replication_deprovisioned").wait(
            Filters=by_arn, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    assert in_order(log.provision_states(), AWS_PROVISION_ORDER), log.seen
    assert replication(dms.client, arn)["ProvisionData"]["ProvisionState"] == "deprovisioned"
    DmsDeleteReplicationConfigOperator(
        task_id="delete",
        replication_config_arn=arn,
        wait_for_completion=True,  # the replication_config_deleted waiter
        waiter_delay=1,
        waiter_max_attempts=60,
        aws_conn_id=CONN_ID,
    ).execute(context)
    with pytest.raises(ClientError) as gone:
        dms.client.describe_replication_configs(Filters=by_arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundFault"


def test_amazon_operators_on_a_stopped_replication_that_keeps_its_capacity(
    keeping: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    from airflow.providers.amazon.aws.operators.dms import (
        DmsDeleteReplicationConfigOperator,
    )

    context = make_context()
    arn = _full_load_config(keeping, pg_server, pg_pair)
    _start(arn).execute(context)
    kept = replication(keeping.client, arn)
    assert kept["Status"] == "stopped" and kept["ProvisionData"]["ProvisionState"] == "provisioned"
    assert kept["ProvisionData"]["ProvisionedCapacityUnits"] == 2

    # amazon's start operator only logs "not in startable state" while the capacity is kept, and
    # succeeds without starting anything (this provider's start operator fails closed instead)
    _start(arn, "reload-target", wait=False).execute(context)
    assert replication(keeping.client, arn)["StartReplicationType"] == "start-replication"

    # the synchronous delete waits only for a terminal Status ("stopped" matches at once), so it
    # asks for the delete while the capacity is still provisioned, and DMS refuses it
    with pytest.raises(AttributeError) as refused:
        DmsDeleteReplicationConfigOperator(
            task_id="delete", replication_config_arn=arn, waiter_delay=1, aws_conn_id=CONN_ID
        ).execute(context)
    # amazon's hook formats the ClientError with err.get(...), which a ClientError does not have:
    # an AttributeError hides DMS's answer, which stays chained as its context
    refusal = refused.value.__context__
    assert isinstance(refusal, ClientError)
    assert refusal.response["Error"]["Code"] == "InvalidResourceStateFault"
    assert replication(keeping.client, arn)["Status"] == "stopped"  # the config is still there


def test_deferred_operators_run_their_triggers(
    dms: Dms, logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    from airflow.providers.amazon.aws.operators.dms import (
        DmsDeleteReplicationConfigOperator,
        DmsStopReplicationOperator,
    )
    from airflow.providers.amazon.aws.triggers.dms import DmsReplicationTerminalStatusTrigger

    source_db, target_db = make_logical_database(), make_logical_database()
    with psycopg.connect(logical_pg.dsn(source_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 7)")
    context = make_context()
    waits = {"waiter_delay": 1, "waiter_max_attempts": 120, "aws_conn_id": CONN_ID, "deferrable": True}

    # full-load: the start defers to DmsReplicationCompleteTrigger until "stopped"
    full = _pg_config(dms, source_db, target_db, logical_pg, "full-load")
    _, triggers = run_deferring(
        _start(full, deferrable=True),
        context,
    )
    assert triggers == ["DmsReplicationCompleteTrigger"]
    assert replication(dms.client, full)["Status"] == "stopped"

    # full-load-and-cdc keeps running: start without waiting, stop deferred until "stopped"
    cdc_target = make_logical_database()
    cdc = _pg_config(dms, source_db, cdc_target, logical_pg, "full-load-and-cdc")
    _start(cdc, wait=False).execute(context)
    with StateLog(dms.client, cdc) as log:
        _, triggers = run_deferring(
            DmsStopReplicationOperator(task_id="stop", replication_config_arn=cdc, **waits), context
        )
    assert triggers == ["DmsReplicationStoppedTrigger"]
    assert in_order(log.statuses(), AWS_STATUS_ORDER), log.seen
    stopped = replication(dms.client, cdc)
    assert stopped["Status"] == "stopped" and stopped["StopReason"] == "Stop Reason NORMAL"

    # and the synchronous stop, with the replication_stopped waiter
    sync_cdc = _pg_config(dms, source_db, make_logical_database(), logical_pg, "full-load-and-cdc")
    _start(sync_cdc, wait=False).execute(context)
    DmsStopReplicationOperator(
        task_id="stop_sync", replication_config_arn=sync_cdc, waiter_delay=1, aws_conn_id=CONN_ID
    ).execute(context)
    assert replication(dms.client, sync_cdc)["Status"] == "stopped"

    terminal = DmsReplicationTerminalStatusTrigger(
        replication_config_arn=cdc, waiter_delay=1, waiter_max_attempts=10, aws_conn_id=CONN_ID
    )
    assert asyncio.run(first_event(terminal)) == {"status": "success", "replication_config_arn": cdc}

    # delete: stopped but still provisioned -> DmsReplicationDeprovisionedTrigger, retry, delete,
    # then DmsReplicationConfigDeletedTrigger until DescribeReplicationConfigs has none
    for arn in (full, cdc, sync_cdc):
        _, triggers = run_deferring(
            DmsDeleteReplicationConfigOperator(task_id="delete", replication_config_arn=arn, **waits),
            context,
        )
        assert triggers[-1] == "DmsReplicationConfigDeletedTrigger"
        assert set(triggers) <= {"DmsReplicationDeprovisionedTrigger", "DmsReplicationConfigDeletedTrigger"}
    for arn in (full, cdc, sync_cdc):
        with pytest.raises(ClientError) as gone:
            dms.client.describe_replication_configs(
                Filters=[{"Name": "replication-config-arn", "Values": [arn]}]
            )
        assert gone.value.response["Error"]["Code"] == "ResourceNotFoundFault"


def test_failed_replication_fails_the_amazon_waits(
    dms: Dms, pg_server: Any, pg_pair: tuple[str, str]
) -> None:
    from airflow.exceptions import AirflowException
    from botocore.exceptions import WaiterError

    source_db, target_db = pg_pair
    context = make_context()
    # a source database that does not exist: the replication fails (FailureMessages says why)
    sync_arn = _pg_config(dms, f"{source_db}_missing", target_db, pg_server, "full-load")
    start = _start(sync_arn)
    with pytest.raises(WaiterError, match="terminal failure state"):
        start.execute(context)  # the replication_complete waiter's failure acceptor on "failed"
    failed = replication(dms.client, sync_arn)
    assert failed["Status"] == "failed"
    assert failed["FailureMessages"] and all(isinstance(m, str) and m for m in failed["FailureMessages"])

    deferred_arn = _pg_config(dms, f"{source_db}_missing", target_db, pg_server, "full-load")
    deferring = _start(deferred_arn, deferrable=True)
    with pytest.raises(AirflowException, match="Error in DMS replication"):
        run_deferring(deferring, context)

"""NeonDmsTestConnectionOperator: TestConnection, the wait, deferral and the failure text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_neon_dms.exceptions import ConnectionTestFailedError, DmsResourceError
from airflow_neon_dms.neon import NEON_MISSING_ENDPOINT_MESSAGE
from airflow_neon_dms.operators.connection_test import NeonDmsTestConnectionOperator
from airflow_neon_dms.triggers.connection_test import NeonDmsConnectionTestTrigger
from tests.timing_choice import chosen_timing


@pytest.fixture
def target_endpoint_arn(endpoint_pair: Any) -> str:
    """A target endpoint on a real PostgreSQL database."""
    return str(endpoint_pair.target_arn)


def _op(instance: str, endpoint: str, **kwargs: Any) -> NeonDmsTestConnectionOperator:
    return NeonDmsTestConnectionOperator(
        task_id="test_target",
        replication_instance_arn=instance,
        endpoint_arn=endpoint,
        waiter_delay=0.2,
        max_wait=30,
        **kwargs,
    )


def test_template_fields() -> None:
    assert {"replication_instance_arn", "endpoint_arn", "aws_conn_id"} <= set(
        NeonDmsTestConnectionOperator.template_fields
    )


def test_successful_test_returns_the_endpoint_arn(
    aws_conn: str,
    replication_instance_arn: str,
    target_endpoint_arn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = _op(replication_instance_arn, target_endpoint_arn, deferrable=False)
    context = context_factory()
    assert op.execute(context) == target_endpoint_arn
    assert context["ti"].xcom["neon_dms_endpoint"]["region_name"] == "us-east-1"


def test_retry_tests_again_with_the_same_answer(
    aws_conn: str,
    replication_instance_arn: str,
    target_endpoint_arn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = _op(replication_instance_arn, target_endpoint_arn, deferrable=False)
    assert op.execute(context_factory()) == target_endpoint_arn
    assert op.execute(context_factory()) == target_endpoint_arn


def test_deferrable_defers_with_a_serialisable_trigger(
    aws_conn: str,
    replication_instance_arn: str,
    target_endpoint_arn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = _op(replication_instance_arn, target_endpoint_arn, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context_factory())
    trigger = deferred.value.trigger
    assert isinstance(trigger, NeonDmsConnectionTestTrigger)
    assert deferred.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_neon_dms.triggers.connection_test.NeonDmsConnectionTestTrigger"
    assert kwargs["endpoint_arn"] == target_endpoint_arn
    assert kwargs["replication_instance_arn"] == replication_instance_arn
    assert kwargs["aws_conn_id"] == "aws_default"
    assert kwargs["waiter_delay"] == 0.2


def test_failed_event_raises_with_dms_message_and_neon_hint(
    aws_conn: str,
    replication_instance_arn: str,
    target_endpoint_arn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = _op(replication_instance_arn, target_endpoint_arn)
    event = {
        "status": "failed",
        "message": NEON_MISSING_ENDPOINT_MESSAGE,
        "endpoint_arn": target_endpoint_arn,
    }
    with pytest.raises(ConnectionTestFailedError) as failure:
        op.execute_complete(context_factory(), event)
    text = str(failure.value)
    assert "Connection test from the replication instance to endpoint target-" in text
    assert "Endpoint ID is not specified" in text
    assert "endpoint=<endpoint-id>$<password>" in text


def test_success_event_returns_the_arn(
    aws_conn: str,
    replication_instance_arn: str,
    target_endpoint_arn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = _op(replication_instance_arn, target_endpoint_arn)
    event = {"status": "success", "message": "ok", "endpoint_arn": target_endpoint_arn}
    assert op.execute_complete(context_factory(), event) == target_endpoint_arn


@pytest.mark.parametrize("event", [None, {}, {"status": "weird", "message": ""}])
def test_invalid_events_raise(
    aws_conn: str,
    replication_instance_arn: str,
    target_endpoint_arn: str,
    context_factory: Callable[..., dict[str, Any]],
    event: dict[str, Any] | None,
) -> None:
    op = _op(replication_instance_arn, target_endpoint_arn)
    with pytest.raises(DmsResourceError, match="invalid event"):
        op.execute_complete(context_factory(), event)


def test_timeout_event_says_what_to_do(
    aws_conn: str,
    replication_instance_arn: str,
    target_endpoint_arn: str,
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    op = _op(replication_instance_arn, target_endpoint_arn)
    event = {"status": "timeout", "message": "still testing", "endpoint_arn": target_endpoint_arn}
    with pytest.raises(DmsResourceError, match="did not finish within 30 s.*Raise max_wait"):
        op.execute_complete(context_factory(), event)


def test_missing_endpoint_is_named(
    aws_conn: str, replication_instance_arn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    arn = "arn:aws:dms:us-east-1:123456789012:endpoint:NOPE"
    with pytest.raises(DmsResourceError, match=f"Endpoint {arn} does not exist"):
        _op(replication_instance_arn, arn).execute(context_factory())


def test_bad_wait_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="waiter_delay"):
        NeonDmsTestConnectionOperator(
            task_id="t", replication_instance_arn="a", endpoint_arn="b", waiter_delay=0
        )


ENDPOINT_ID = "ep-unit-neon-7"


@pytest.fixture(scope="module")
def neon_dms(pg_server: Any) -> Iterator[Any]:
    """An emulator whose endpoints on host 'localhost' go through a Neon proxy stand-in."""
    server = pytest.importorskip("airflow_neon_dms.local.server", reason="needs the local DMS emulator")
    neon = [server.NeonTarget(ENDPOINT_ID, "localhost", pg_server.port)]
    with server.LocalDms(neon=neon, timing=chosen_timing()) as running:
        yield running


def test_plain_password_on_neon_fails_with_neons_message_and_the_hint(
    neon_dms: Any,
    pg_server: Any,
    aws_conn_to: Callable[[str, str], Any],
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    client = aws_conn_to("aws_neon", neon_dms.endpoint_url)
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier=unique_id("ri"), ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    endpoint = client.create_endpoint(
        EndpointIdentifier=unique_id("neon"),
        EndpointType="target",
        EngineName="postgres",
        ServerName="localhost",
        Port=pg_server.port,
        DatabaseName="postgres",
        Username=pg_server.user,
        Password="only-the-password",
        SslMode="require",
    )["Endpoint"]["EndpointArn"]
    op = _op(instance, endpoint, deferrable=False, aws_conn_id="aws_neon")
    with pytest.raises(ConnectionTestFailedError) as failure:
        op.execute(context_factory())
    text = str(failure.value)
    assert NEON_MISSING_ENDPOINT_MESSAGE in text
    assert "Hint: Neon did not get the endpoint id" in text
    assert "only-the-password" not in text

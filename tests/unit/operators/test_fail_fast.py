"""Which errors fail a task at once and which keep its retries.

Throttling and 5xx answers cannot be caused on purpose against a DMS (real or local), so those two
cases use botocore's Stubber on the hook's own client; the not-found case runs against the local
DMS over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from airflow_neon_dms.exceptions import DmsResourceError, DmsResourceNotFoundError, NeonConfigError
from airflow_neon_dms.operators.fail_fast import fail_fast_error
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from airflow_neon_dms.operators.serverless import NeonDmsStartReplicationOperator

TASK = "arn:aws:dms:us-east-1:123456789012:task:NOPE"


def _start(**kwargs: Any) -> NeonDmsStartTaskOperator:
    return NeonDmsStartTaskOperator(
        task_id="start",
        replication_task_arn=TASK,
        botocore_config={"retries": {"mode": "standard", "max_attempts": 1}},
        **kwargs,
    )


def test_a_missing_task_fails_fast_and_keeps_its_class(
    aws_conn: str, context_factory: Callable[..., dict[str, Any]]
) -> None:
    with pytest.raises(AirflowFailException) as failure:
        _start().execute(context_factory())
    assert isinstance(failure.value, DmsResourceNotFoundError)
    assert "does not exist" in str(failure.value) and "not retried" in str(failure.value)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("Throttling", 400),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_throttling_and_5xx_stay_retryable(
    aws_conn: str, context_factory: Callable[..., dict[str, Any]], code: str, status: int
) -> None:
    op = _start()
    with Stubber(op.hook.conn) as stub:
        stub.add_client_error("describe_replication_tasks", service_error_code=code, http_status_code=status)
        with pytest.raises(ClientError) as failure:
            op.execute(context_factory())
    assert not isinstance(failure.value, AirflowFailException)


def test_classification() -> None:
    def client_error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"}}, "StartReplicationTask")

    for fatal in (client_error("ResourceNotFoundFault"), client_error("InvalidParameterValueException")):
        made = fail_fast_error(fatal)
        assert isinstance(made, AirflowFailException) and "StartReplicationTask" in str(made)
    assert isinstance(fail_fast_error(NeonConfigError("bad id")), NeonConfigError)
    for kept in (client_error("ThrottlingException"), DmsResourceError("busy"), RuntimeError("x")):
        assert fail_fast_error(kept) is None
    already = fail_fast_error(DmsResourceNotFoundError("gone"))
    assert already is not None and fail_fast_error(already) is None


@pytest.mark.parametrize(
    "make",
    [
        _start,
        lambda: NeonDmsStartReplicationOperator(
            task_id="start_replication",
            replication_config_arn="arn:aws:dms:us-east-1:123456789012:replication-config:NOPE",
        ),
    ],
    ids=["task", "replication"],
)
def test_a_run_gone_after_the_deferral_fails_fast(
    aws_conn: str, context_factory: Callable[..., dict[str, Any]], make: Callable[[], Any]
) -> None:
    """The resume method comes from a mixin (RunWaitMixin); it fails as fast as ``execute``."""
    op = make()
    with pytest.raises(AirflowFailException) as failure:
        op.execute_complete(context_factory(), event={"status": "gone", "message": "deleted"})
    assert isinstance(failure.value, DmsResourceNotFoundError)
    assert "not retried" in str(failure.value)

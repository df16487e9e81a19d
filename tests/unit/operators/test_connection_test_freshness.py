"""Only the result of this run's connection test counts.

DescribeConnections keeps the last result of a pair, and TestConnection answers
InvalidResourceStateFault both when a test of the pair runs already and when the replication
instance is not available. A stale ``successful`` record next to an instance that is being
modified is a state the local DMS cannot produce on demand, so these tests drive the operator
with a botocore Stubber, answering as AWS documents (botocore DMS model 2016-01-01).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from airflow_neon_dms.dms.connection_test import FreshResult, RefusalKind, explain_refusal
from airflow_neon_dms.dms.states import Outcome
from airflow_neon_dms.exceptions import ConnectionTestFailedError, DmsResourceError
from airflow_neon_dms.operators.connection_test import NeonDmsTestConnectionOperator
from tests.unit.conftest import aws_conn_json, make_context

INSTANCE = "arn:aws:dms:us-east-1:123456789012:rep:RI"
ENDPOINT = "arn:aws:dms:us-east-1:123456789012:endpoint:NEON"
FAILURE = "FATAL: password authentication failed for user neondb_owner"


def _connection(status: str, failure: str = "") -> dict[str, Any]:
    record = {"ReplicationInstanceArn": INSTANCE, "EndpointArn": ENDPOINT, "Status": status}
    if failure:
        record["LastFailureMessage"] = failure
    return {"Connections": [record]}


def _instance(status: str) -> dict[str, Any]:
    return {
        "ReplicationInstances": [
            {
                "ReplicationInstanceArn": INSTANCE,
                "ReplicationInstanceIdentifier": "ri",
                "ReplicationInstanceStatus": status,
            }
        ]
    }


ENDPOINT_RECORD = {
    "Endpoints": [
        {
            "EndpointArn": ENDPOINT,
            "EndpointIdentifier": "neon",
            "EndpointType": "TARGET",
            "EngineName": "postgres",
            "ServerName": "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        }
    ]
}


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch) -> NeonDmsTestConnectionOperator:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_conn_json("http://127.0.0.1:9"))
    return NeonDmsTestConnectionOperator(
        task_id="test_target",
        replication_instance_arn=INSTANCE,
        endpoint_arn=ENDPOINT,
        deferrable=False,
        waiter_delay=0.01,
        max_wait=30,
        instance_wait=0.2,
    )


def _refused(stub: Stubber) -> None:
    stub.add_client_error(
        "test_connection",
        service_error_code="InvalidResourceStateFault",
        service_message="Replication instance ri is not in available state",
    )


def test_old_success_and_a_failing_new_test_fails(operator: NeonDmsTestConnectionOperator) -> None:
    """An instance being modified refuses the test while the pair's record still says
    ``successful`` from yesterday; once it is available the new test runs and fails."""
    stub = Stubber(operator.hook.conn)
    stub.add_response("describe_endpoints", ENDPOINT_RECORD)
    _refused(stub)
    stub.add_response("describe_connections", _connection("successful"))  # yesterday's answer
    stub.add_response("describe_replication_instances", _instance("modifying"))
    stub.add_response("test_connection", {"Connection": _connection("testing")["Connections"][0]})
    stub.add_response("describe_connections", _connection("testing"))
    stub.add_response("describe_connections", _connection("failed", FAILURE))
    stub.add_response("describe_endpoints", ENDPOINT_RECORD)  # the failure message names the endpoint
    with stub, pytest.raises(ConnectionTestFailedError, match="password authentication failed"):
        operator.execute(make_context())
    stub.assert_no_pending_responses()


def test_instance_that_stays_unavailable_fails_with_its_status(
    operator: NeonDmsTestConnectionOperator,
) -> None:
    stub = Stubber(operator.hook.conn)
    stub.add_response("describe_endpoints", ENDPOINT_RECORD)
    for _ in range(100):  # refused until instance_wait runs out
        _refused(stub)
        stub.add_response("describe_connections", _connection("successful"))
        stub.add_response("describe_replication_instances", _instance("rebooting"))
    with stub, pytest.raises(DmsResourceError, match="ri is rebooting, not available.*Raise instance_wait"):
        operator.execute(make_context())


def test_instance_in_a_state_it_does_not_leave_fails_at_once(operator: NeonDmsTestConnectionOperator) -> None:
    stub = Stubber(operator.hook.conn)
    stub.add_response("describe_endpoints", ENDPOINT_RECORD)
    _refused(stub)
    stub.add_response("describe_connections", _connection("successful"))
    stub.add_response("describe_replication_instances", _instance("storage-full"))
    with stub, pytest.raises(DmsResourceError, match="ri is storage-full, so it cannot test connections"):
        operator.execute(make_context())
    stub.assert_no_pending_responses()


def test_a_test_already_running_for_the_pair_is_waited_for(operator: NeonDmsTestConnectionOperator) -> None:
    stub = Stubber(operator.hook.conn)
    stub.add_response("describe_endpoints", ENDPOINT_RECORD)
    _refused(stub)
    stub.add_response("describe_connections", _connection("testing"))
    stub.add_response("describe_replication_instances", _instance("available"))
    stub.add_response("describe_connections", _connection("testing"))
    stub.add_response("describe_connections", _connection("successful"))
    with stub:
        assert operator.execute(make_context()) == ENDPOINT
    stub.assert_no_pending_responses()


def test_a_result_before_testing_is_not_this_tests_result() -> None:
    fresh = FreshResult(testing_seen=False)
    assert fresh.judge({"Status": "successful"}) == Outcome.WAITING
    assert fresh.judge({"Status": "testing"}) == Outcome.WAITING
    assert fresh.judge({"Status": "failed"}) == Outcome.FAILED


@pytest.mark.parametrize(
    ("connection", "instance", "kind"),
    [
        ({"Status": "testing"}, {"ReplicationInstanceStatus": "available"}, RefusalKind.TEST_RUNNING),
        ({"Status": "successful"}, {"ReplicationInstanceStatus": "modifying"}, RefusalKind.INSTANCE_BUSY),
        ({"Status": "successful"}, {"ReplicationInstanceStatus": "maintenance"}, RefusalKind.INSTANCE_BUSY),
        (None, {"ReplicationInstanceStatus": "failed"}, RefusalKind.REFUSED),
        (None, None, RefusalKind.REFUSED),
        ({"Status": "failed"}, {"ReplicationInstanceStatus": "available"}, RefusalKind.REFUSED),
    ],
)
def test_explain_refusal(connection: Any, instance: Any, kind: RefusalKind) -> None:
    assert explain_refusal(connection, instance, INSTANCE, "refused").kind == kind

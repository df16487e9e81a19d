"""Test the connection from the replication instance to an endpoint, and wait for the result."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from airflow_neon_dms.dms.wait_events import check_event
from airflow_neon_dms.exceptions import ConnectionTestFailedError, DmsResourceError, DmsResourceNotFoundError
from airflow_neon_dms.links.dms import NeonDmsEndpointLink
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS, NeonDmsBaseOperator, WaitMixin


class NeonDmsTestConnectionOperator(NeonDmsBaseOperator, WaitMixin):
    """
    Run DMS TestConnection from a replication instance to an endpoint and wait for its result.

    Only the result of the test this step started (or of one already running for the pair) counts:
    DescribeConnections keeps the last result, so a result counts only after ``testing``.

    On failure raises ConnectionTestFailedError with DMS's LastFailureMessage and, for a Neon
    target, a hint when the message points at the endpoint id, TLS or a pooler host.
    Returns the endpoint ARN.

    :param replication_instance_arn: the replication instance that connects.
    :param endpoint_arn: the endpoint to test.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param waiter_delay: seconds between polls.
    :param max_wait: seconds before the wait gives up.
    :param instance_wait: seconds to wait for a replication instance that is not ``available``
        (modifying, rebooting, ...) before the test can start; then it fails with the instance's
        status.
    """

    template_fields: Sequence[str] = (*AWS_TEMPLATE_FIELDS, "replication_instance_arn", "endpoint_arn")
    operator_extra_links = (NeonDmsEndpointLink(),)

    def __init__(
        self,
        *,
        replication_instance_arn: str,
        endpoint_arn: str,
        deferrable: bool | None = None,
        waiter_delay: float = 15,
        max_wait: float = 900,
        instance_wait: float = 900,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_instance_arn = replication_instance_arn
        self.endpoint_arn = endpoint_arn
        self.instance_wait = instance_wait
        self._init_wait(deferrable=deferrable, waiter_delay=waiter_delay, max_wait=max_wait)

    def execute(self, context: Context) -> str:
        from airflow_neon_dms.dms.connection_test import FreshResult
        from airflow_neon_dms.dms.states import ConnectionStatus, Outcome
        from airflow_neon_dms.triggers.connection_test import NeonDmsConnectionTestTrigger

        endpoint = self.hook.describe_endpoint(self.endpoint_arn)
        if endpoint is None:
            raise DmsResourceNotFoundError(
                f"Endpoint {self.endpoint_arn} does not exist. Create it first (NeonTargetEndpointOperator "
                "or NeonDmsSourceEndpointOperator) and pass its ARN."
            )
        NeonDmsEndpointLink.persist(
            context=context,
            operator=self,
            region_name=self.hook.conn_region_name,
            aws_partition=self.hook.conn_partition,
            endpoint_id=endpoint.get("EndpointIdentifier", ""),
        )
        started = self.hook.test_connection_start(
            self.replication_instance_arn,
            self.endpoint_arn,
            instance_wait=self.instance_wait,
            delay=self.waiter_delay,
        )
        self.log.info(
            "Testing the connection from %s to endpoint %s",
            self.replication_instance_arn,
            endpoint.get("EndpointIdentifier"),
        )
        # Only a result that follows ``testing`` belongs to this test (DescribeConnections keeps the
        # previous result and has no timestamp).
        fresh = FreshResult(testing_seen=str(started.get("Status", "")).lower() == ConnectionStatus.TESTING)
        connection: dict[str, Any] | None = None
        outcome = Outcome.WAITING
        deadline = self._deadline()
        if self.deferrable:
            self.defer(
                trigger=NeonDmsConnectionTestTrigger(
                    endpoint_arn=self.endpoint_arn,
                    replication_instance_arn=self.replication_instance_arn,
                    testing_seen=fresh.testing_seen,
                    deadline=deadline,
                    waiter_delay=self.waiter_delay,
                    **self.aws_kwargs,
                ),
                method_name="execute_complete",
            )
        while outcome == Outcome.WAITING and time.time() < deadline:
            time.sleep(self.waiter_delay)
            connection = self.hook.describe_connection(self.replication_instance_arn, self.endpoint_arn)
            outcome = fresh.judge(connection)
        if outcome == Outcome.SUCCESS:
            return self._succeeded()
        if outcome == Outcome.FAILED:
            raise self._failure(
                str((connection or {}).get("LastFailureMessage") or (connection or {}).get("Status"))
            )
        raise DmsResourceError(
            f"Connection test to endpoint {self.endpoint_arn} did not finish within {self.max_wait:.0f} s. "
            "Check that the replication instance is available, or raise max_wait."
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        check_event(
            event,
            f"Connection test of {self.endpoint_arn}",
            failed=self._failure,
            timed_out=lambda detail: DmsResourceError(
                f"Connection test to endpoint {self.endpoint_arn} did not finish within "
                f"{self.max_wait:.0f} s: {detail}. Raise max_wait or check the instance."
            ),
        )
        return self._succeeded()

    def _succeeded(self) -> str:
        self.log.info("Connection test to endpoint %s succeeded", self.endpoint_arn)
        return self.endpoint_arn

    def _failure(self, failure_message: str) -> ConnectionTestFailedError:
        from airflow_neon_dms.dms.failure_hints import neon_hint

        endpoint = self.hook.describe_endpoint(self.endpoint_arn) or {}
        is_neon_target = str(endpoint.get("EndpointType", "")).lower() == "target" and str(
            endpoint.get("EngineName", "")
        ).lower() in ("postgres", "aurora-postgresql")
        hint = neon_hint(failure_message, endpoint.get("ServerName")) if is_neon_target else None
        name = endpoint.get("EndpointIdentifier") or self.endpoint_arn
        message = (
            f"Connection test from the replication instance to endpoint {name} failed: {failure_message}"
        )
        if hint:
            message += f" Hint: {hint}"
        return ConnectionTestFailedError(message)

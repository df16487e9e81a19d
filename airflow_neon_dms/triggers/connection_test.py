"""Trigger: wait for a DMS TestConnection result."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.dms.connection_test import FreshResult
from airflow_neon_dms.dms.states import Outcome
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsConnectionTestTrigger(NeonDmsPollTrigger):
    """Waits until the connection test from ``replication_instance_arn`` to ``endpoint_arn`` ends.

    ``testing_seen``: the operator already saw this test ``testing``; otherwise a recorded result
    counts only after the trigger itself reads ``testing`` (an older result is not this test's).
    """

    id_key = "endpoint_arn"

    def __init__(
        self, *, endpoint_arn: str, replication_instance_arn: str, testing_seen: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint_arn = endpoint_arn
        self.replication_instance_arn = replication_instance_arn
        self.testing_seen = testing_seen
        self._fresh = FreshResult(testing_seen=testing_seen)

    def own_fields(self) -> dict[str, Any]:
        return {
            "endpoint_arn": self.endpoint_arn,
            "replication_instance_arn": self.replication_instance_arn,
            "testing_seen": self.testing_seen,
        }

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        connection = await hook.describe_connection_async(self.replication_instance_arn, self.endpoint_arn)
        outcome = self._fresh.judge(connection)
        status = (connection or {}).get("Status", "not started")
        self.last_state = f"connection test to {self.endpoint_arn} is {status}"
        if outcome == Outcome.SUCCESS:
            return EVENT_SUCCESS, f"Connection test to {self.endpoint_arn} succeeded."
        if outcome == Outcome.FAILED:
            return EVENT_FAILED, str((connection or {}).get("LastFailureMessage") or f"status {status}")
        return None

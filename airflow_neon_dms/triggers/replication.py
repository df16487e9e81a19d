"""Trigger: wait for a DMS Serverless replication to finish its run (or to reach CDC)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow_neon_dms.dms.replication_states import classify_replication
from airflow_neon_dms.dms.states import Outcome
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import EVENT_FAILED, EVENT_SUCCESS, NeonDmsPollTrigger


class NeonDmsReplicationTrigger(NeonDmsPollTrigger):
    """Waits until the replication of ``replication_config_arn`` succeeds or fails, as
    :func:`~airflow_neon_dms.dms.replication_states.classify_replication` judges it.

    Provisioning holds no worker: the whole wait, provisioning included, runs here. A state the
    provider does not model ends the wait with a ``failed`` event. ``started_after`` (epoch
    seconds) makes a stop left by an earlier run count as "not yet".
    """

    id_key = "replication_config_arn"

    def __init__(
        self,
        *,
        replication_config_arn: str,
        wait_for_cdc_stop: bool = False,
        started_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.replication_config_arn = replication_config_arn
        self.wait_for_cdc_stop = wait_for_cdc_stop
        self.started_after = started_after

    def own_fields(self) -> dict[str, Any]:
        return {
            "replication_config_arn": self.replication_config_arn,
            "wait_for_cdc_stop": self.wait_for_cdc_stop,
            "started_after": self.started_after,
        }

    async def poll(self, hook: NeonDmsHook) -> tuple[str, str] | None:
        replication = await hook.describe_replication_async(self.replication_config_arn)
        if replication is None:
            return EVENT_FAILED, f"Replication config {self.replication_config_arn} no longer exists."
        since = datetime.fromtimestamp(self.started_after, timezone.utc) if self.started_after else None
        verdict = classify_replication(
            replication, wait_for_cdc_stop=self.wait_for_cdc_stop, started_after=since
        )
        self.last_state = verdict.message
        if verdict.outcome == Outcome.SUCCESS:
            return EVENT_SUCCESS, verdict.message
        if verdict.outcome == Outcome.FAILED:
            return EVENT_FAILED, verdict.message
        return None

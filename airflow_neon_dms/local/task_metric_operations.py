"""The CloudWatch metrics every task publishes while it runs (see ``task_metrics``)."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.local.cloudwatch_metrics import LocalMetrics
from airflow_neon_dms.local.models import ReplicationTask
from airflow_neon_dms.local.service_state import ServiceState
from airflow_neon_dms.local.task_metrics import TaskMetrics, replication_dimensions, task_dimensions


class TaskMetricOperations(ServiceState):
    """Gives each task a publisher into the emulator's CloudWatch metrics (``ResourceObserver``)."""

    def __init__(self, *, cloudwatch_metrics: LocalMetrics | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Shared by every region of one emulator (``RegionalDms``); its own when used alone.
        self.cloudwatch_metrics = (
            cloudwatch_metrics if cloudwatch_metrics is not None else LocalMetrics(self.account_id)
        )

    def task_metrics(self, task: ReplicationTask) -> TaskMetrics | None:
        """``task``'s publisher, dimensioned by its instance's identifier and its resource id;
        None once the instance is gone. A serverless replication's task (no instance) publishes
        under its config's ``ReplicationConfigId``."""
        if not task.instance_arn and ":replication-config:" in task.arn:
            dimensions = replication_dimensions(task.arn)
            return TaskMetrics(self.cloudwatch_metrics, self.region, task.arn, dimensions)
        with self.lock:
            instance = self.instances.get(task.instance_arn)
        if instance is None:
            return None
        return TaskMetrics(
            self.cloudwatch_metrics, self.region, task.arn, task_dimensions(instance.identifier, task.arn)
        )

"""DescribeReplicationInstanceTaskLogs, and the task log every task writes while it runs (kept in
memory, and sent to CloudWatch Logs when the task's settings turn logging on; see ``task_logs``)."""

from __future__ import annotations

import time
from typing import Any

from airflow_neon_dms.local.api_params import DESCRIBE_MAX, Params, Result, paginate, required, with_marker
from airflow_neon_dms.local.cloudwatch_logs import LocalLogs
from airflow_neon_dms.local.models import ReplicationTask
from airflow_neon_dms.local.service_state import ServiceState
from airflow_neon_dms.local.task_logs import TaskLog, log_line, log_location, logging_enabled


class TaskLogOperations(ServiceState):
    """DescribeReplicationInstanceTaskLogs, and the task log every task writes while it runs."""

    def __init__(self, *, cloudwatch_logs: LocalLogs | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task_logs: dict[str, TaskLog] = {}
        #: Shared by every region of one emulator (``RegionalDms``); its own when used alone.
        self.cloudwatch_logs = cloudwatch_logs if cloudwatch_logs is not None else LocalLogs(self.account_id)

    def task_log(self, task: ReplicationTask, component: str, severity: str, text: str) -> None:
        """Record one line of ``task``'s log (and send it to CloudWatch Logs when enabled).

        Under the service lock, so a task thread's lines follow the start line that
        StartReplicationTask writes before it releases the lock.
        """
        with self.lock:
            now = time.time()
            line = log_line(now, component, severity, text)
            self.task_logs.setdefault(task.arn, TaskLog()).lines.append((now, line))
            instance = self.instances.get(task.instance_arn)
            if instance is not None and logging_enabled(task.settings):
                group, stream = log_location(task.arn, instance.identifier)
                self.cloudwatch_logs.put(task.arn.split(":")[3], group, stream, [(now, line)])

    def describe_replication_instance_task_logs(self, params: Params) -> Result:
        instance = self._instance(required(params, "ReplicationInstanceArn"))
        tasks = [t for t in self.tasks.values() if t.instance_arn == instance.arn]
        page, marker = paginate(params, tasks, DESCRIBE_MAX)
        logs = [
            {
                "ReplicationTaskName": task.identifier,
                "ReplicationTaskArn": task.arn,
                "ReplicationInstanceTaskLogSize": self.task_logs.get(task.arn, TaskLog()).size,
            }
            for task in page
        ]
        return with_marker(
            {"ReplicationInstanceArn": instance.arn, "ReplicationInstanceTaskLogs": logs}, marker
        )

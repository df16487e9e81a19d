"""NeonDmsStartTaskOperator's synchronous wait logs the load's progress once per change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from structlog.testing import capture_logs

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator
from tests.unit.conftest import info_messages


def test_sync_wait_logs_progress_lines_once_per_change(
    aws_conn: str,
    endpoint_pair: Any,
    locked_target: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    stop_tasks_after: list[str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    arn, _ = hook.ensure_task(
        unique_id("task"),
        source_endpoint_arn=endpoint_pair.source_arn,
        target_endpoint_arn=endpoint_pair.target_arn,
        replication_instance_arn=replication_instance_arn,
        migration_type="full-load",
        table_mappings=TableMappings.include("public").to_json(),
        task_settings=TaskSettings().to_json(),
    )
    stop_tasks_after.append(arn)
    polls = 0
    describe = hook.describe_task
    release = threading.Event()

    def counted_describe(task_arn: str, **kwargs: Any) -> dict[str, Any]:
        nonlocal polls
        polls += 1
        if polls >= 12 and not release.is_set():
            release.set()
            locked_target.commit()  # the load goes on after ten and more identical polls
        return describe(task_arn, **kwargs)

    operator = NeonDmsStartTaskOperator(
        task_id="start", replication_task_arn=arn, deferrable=False, waiter_delay=0.05, max_wait=120
    )
    operator.hook.describe_task = counted_describe  # type: ignore[method-assign]
    with capture_logs() as entries:
        summary = operator.execute(context_factory())
    assert summary["status"] == "stopped" and release.is_set()
    messages = [m for m in info_messages(entries) if m.startswith("Replication task")]
    progress = [m for m in messages if "table(s) loaded" in m]
    assert any("1 loading" in m for m in progress), messages
    assert len(messages) == len(set(messages)) and len(messages) < polls, (polls, messages)

"""The progress a DMS wait logs while its trigger polls: a line per change, never per poll.

A real load is held up by a real lock on one Neon-side table, so the trigger sees the same
progress for many polls, then the load finishes once the lock is released.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from structlog.testing import capture_logs

from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.triggers.base import NeonDmsPollTrigger
from airflow_neon_dms.triggers.table_statistics import NeonDmsTableStatisticsTrigger
from airflow_neon_dms.triggers.task import NeonDmsTaskCompletionTrigger
from tests.unit.conftest import LOCKED_ROWS, PAIR_ROWS
from tests.unit.conftest import info_messages as _messages


async def _run(trigger: NeonDmsPollTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


@pytest.mark.asyncio
async def test_full_load_progress_is_logged_once_per_change(
    started_task_factory: Callable[[str], str],
    locked_target: psycopg.Connection[Any],
    aws_conn: str,
) -> None:
    arn = started_task_factory("full-load")
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    deadline = time.time() + 60
    while not any(r["TableState"] == "Full load" for r in hook.table_statistics(arn)):
        assert time.time() < deadline, "the load never reached the locked table"
        await asyncio.sleep(0.05)
    polls = 0
    original_poll = NeonDmsTaskCompletionTrigger.poll

    async def counted_poll(self: NeonDmsTaskCompletionTrigger, hook: NeonDmsHook) -> Any:
        nonlocal polls
        polls += 1
        return await original_poll(self, hook)

    trigger = NeonDmsTaskCompletionTrigger(
        replication_task_arn=arn, deadline=time.time() + 120, waiter_delay=0.05
    )
    trigger.poll = counted_poll.__get__(trigger)  # type: ignore[method-assign]
    with capture_logs() as entries:
        waiting = asyncio.create_task(_run(trigger))
        while polls < 10:
            await asyncio.sleep(0.05)
        locked_target.commit()  # the load goes on
        [event] = await asyncio.wait_for(waiting, 60)
    assert event["status"] == "success", event
    messages = [m for m in _messages(entries) if m.startswith("Replication task")]
    progress = [m for m in messages if "table(s) loaded" in m]
    assert any("1 loading" in m for m in progress), messages
    assert progress[-1].endswith(
        "full load 100%: 2 of 2 table(s) loaded, 0 loading, 0 queued, 0 errored; "
        f"{PAIR_ROWS + LOCKED_ROWS} row(s) copied"
    ), progress
    # Ten and more polls saw the same blocked load: each line was logged once.
    assert len(messages) == len(set(messages)) and len(messages) < polls, (polls, messages)


@pytest.mark.asyncio
async def test_reload_wait_logs_one_line_per_table(
    migrated_task: Callable[..., Any],
) -> None:
    task = migrated_task("full-load-and-cdc")
    trigger = NeonDmsTableStatisticsTrigger(
        replication_task_arn=task.arn,
        tables=[{"schema": "public", "table": "t0"}, {"schema": "public", "table": "t1"}],
        deadline=time.time() + 30,
        waiter_delay=0.05,
    )
    with capture_logs() as entries:
        [event] = await _run(trigger)
    assert event["status"] == "success"
    assert [m for m in _messages(entries) if m.startswith("public.")] == [
        "public.t0: Table completed, 50 row(s), validation Validated",
        "public.t1: Table completed, 50 row(s), validation Validated",
    ]

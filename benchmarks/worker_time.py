"""Worker-occupied time of one run of the example DAG on the local stack, against its wall time.

Runs ``neon_dms_migration`` once with ``airflow dags test`` on the local stack (DMS emulator,
real PostgreSQL, waits deferrable) and reads the run from Airflow's metadata database:

- wall time of a task instance: ``task_instance`` (and ``task_instance_history`` for earlier
  tries) ``start_date`` to ``end_date``; a deferred task keeps its first start date;
- time in the triggerer: from each ``deferred`` event to the next event of the same try in the
  ``log`` table (the ``running`` event of its resumption);
- worker time = wall time - time in the triggerer.

Baseline: the same DAG with ``[operators] default_deferrable = False`` on a fresh stack, where
every wait polls from the worker. Prints the per-task breakdown of the waits, the DAG's worker
and wall seconds, and the ratio of the waits' worker seconds to the baseline's.

``airflow dags test`` runs tasks one at a time in one process and runs each trigger inline, so
wall time is the sum of the tasks plus scheduling gaps. Its first task also carries the
in-process API server's start-up. Set NEON_DMS_TEST_PG_DSN to reuse a PostgreSQL server
(otherwise an embedded one starts); ``--no-baseline`` skips the second run.

A new DMS task spends about a minute in ``creating`` before it can be started; the emulator
keeps new tasks ``creating`` for ``--creating-seconds`` (default 5) so that this wait, which
``run_full_load`` and the reload's temporary task meet, is part of the measurement.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_neon_dms.local.sample_data import SampleSize
from airflow_neon_dms.local.stack import DAG_ID, LocalStack, StackOptions

SAMPLE = SampleSize(customers=300, products=60, orders=600, page_views=200, audit_log=20)
WAITS = (
    "test_source_connection",
    "test_neon_connection",
    "run_full_load",
    "check_validation",
    "reload_failed_tables",
)


@dataclass
class TaskTime:
    """Where one task's time went, over all its tries."""

    task_id: str
    state: str
    wall: float = 0.0
    deferred: float = 0.0
    deferrals: int = 0
    #: Worker seconds from a try's start to its first deferral (work before the wait moves away).
    before_defer: float = 0.0

    @property
    def worker(self) -> float:
        return self.wall - self.deferred


@dataclass
class RunTime:
    """One DAG run: its wall time, its task times and whether it succeeded."""

    wall: float
    tasks: dict[str, TaskTime]
    succeeded: bool

    @property
    def worker(self) -> float:
        return sum(t.worker for t in self.tasks.values())

    def waits_worker(self) -> float:
        return sum(self.tasks[t].worker for t in WAITS if t in self.tasks)


class _PollingStack(LocalStack):
    """The local stack with waits that poll from the worker (the baseline)."""

    def airflow_env(self) -> dict[str, str]:
        return {**super().airflow_env(), "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "False"}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def read_run(db: Path, succeeded: bool) -> RunTime:
    """Task and DAG timings of the one run of ``DAG_ID`` in the metadata database ``db``."""
    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "SELECT run_id, start_date, end_date FROM dag_run WHERE dag_id = ?", (DAG_ID,)
        ).fetchone()
        run_id, run_start, run_end = run[0], _time(run[1]), _time(run[2])
        tries = conn.execute(
            "SELECT task_id, try_number, start_date, end_date, state, 1 FROM task_instance "
            "WHERE dag_id = ? AND run_id = ? "
            "UNION ALL SELECT task_id, try_number, start_date, end_date, state, 0 FROM task_instance_history "
            "WHERE dag_id = ? AND run_id = ?",
            (DAG_ID, run_id, DAG_ID, run_id),
        ).fetchall()
        events = conn.execute(
            "SELECT task_id, try_number, event, dttm FROM log WHERE dag_id = ? AND run_id = ? "
            "AND task_id IS NOT NULL ORDER BY dttm",
            (DAG_ID, run_id),
        ).fetchall()
    assert run_start and run_end, f"DAG run {run_id} has not finished"
    tasks: dict[str, TaskTime] = {}
    starts: dict[tuple[str, int], datetime] = {}
    for task_id, try_number, start, end, state, is_current in tries:
        task = tasks.setdefault(task_id, TaskTime(task_id, ""))
        if is_current:
            task.state = str(state)
        started, ended = _time(start), _time(end)
        if started:
            starts[(task_id, int(try_number))] = started
        if started and ended:
            task.wall += (ended - started).total_seconds()
    by_try: dict[tuple[str, int], list[tuple[str, datetime]]] = {}
    for task_id, try_number, event, dttm in events:
        when = _time(dttm)
        if when:
            by_try.setdefault((task_id, int(try_number or 0)), []).append((event, when))
    for (task_id, try_number), timeline in by_try.items():
        for (event, when), nxt in zip(timeline, [*timeline[1:], None], strict=True):
            if event == "deferred" and task_id in tasks:
                started = starts.get((task_id, try_number))
                if started and not any(e == "deferred" for e, w in timeline if w < when):
                    tasks[task_id].before_defer += (when - started).total_seconds()
                tasks[task_id].deferrals += 1
                tasks[task_id].deferred += ((nxt[1] if nxt else run_end) - when).total_seconds()
    return RunTime(wall=(run_end - run_start).total_seconds(), tasks=tasks, succeeded=succeeded)


def measure(stack_class: type[LocalStack], creating_seconds: float) -> RunTime:
    options = StackOptions(
        server_dsn=os.environ.get("NEON_DMS_TEST_PG_DSN"),
        sample_size=SAMPLE,
        task_creating_seconds=creating_seconds,
    )
    with stack_class(options) as stack:
        result = stack.run_dag()
        return read_run(stack.airflow_home / "airflow.db", result.succeeded)


HEADER = ("task", "state", "wall s", "triggerer s", "worker s", "defers", "before defer s")
ROW = "  {:<24}{:<16}{:>8}{:>13}{:>10}{:>8}{:>16}"


def report(title: str, run: RunTime) -> None:
    print(f"{title}: DAG run {'succeeded' if run.succeeded else 'FAILED (see the note below)'}")
    print(ROW.format(*HEADER))
    for name in WAITS:
        t = run.tasks.get(name)
        if t is None:
            print(f"  {name:<24}(did not run)")
            continue
        seconds = (f"{t.wall:.2f}", f"{t.deferred:.2f}", f"{t.worker:.2f}")
        print(ROW.format(name, t.state, *seconds, t.deferrals, f"{t.before_defer:.2f}"))
    others = [t for n, t in run.tasks.items() if n not in WAITS]
    print(
        ROW.format(f"other tasks ({len(others)})", "", "", "", f"{sum(t.worker for t in others):.2f}", "", "")
    )
    print(f"  DAG: worker {run.worker:.2f} s, wall {run.wall:.2f} s, worker/wall {run.worker / run.wall:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-baseline", action="store_true", help="skip the non-deferrable run")
    parser.add_argument(
        "--creating-seconds",
        type=float,
        default=5.0,
        help="seconds a new DMS task stays 'creating' in the emulator (real DMS: about 60)",
    )
    args = parser.parse_args()
    print(f"New DMS tasks stay 'creating' for {args.creating_seconds:g} s in the emulator")
    deferred = measure(LocalStack, args.creating_seconds)
    report("Deferrable waits (the example DAG as shipped)", deferred)
    runs = [deferred]
    if not args.no_baseline:
        polling = measure(_PollingStack, args.creating_seconds)
        runs.append(polling)
        report("Baseline: waits poll from the worker (default_deferrable=False)", polling)
        waits, base = deferred.waits_worker(), polling.waits_worker()
        print(
            f"Worker seconds of the waits: {waits:.2f} deferrable vs {base:.2f} polling: "
            f"ratio {waits / base:.2f}"
        )
    if not all(run.succeeded for run in runs):
        print(
            "Note: the run did not succeed; the figures above cover the tasks that ran "
            "(a failed task's time counts up to its failure)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

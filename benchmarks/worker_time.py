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

``--serverless`` runs the DAG with ``compute=serverless`` instead (the emulator's default
provisioning time, 4 s). It also prints the seconds from StartReplication (the replication's
``ReplicationUpdateTime``, which StartReplication sets on a config never modified) to the first
table loading (the earliest ``FullLoadStartTime`` of DescribeReplicationTableStatistics), and the
worker seconds every task of the DAG held within that window (task tries minus their deferrals).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.local.sample_data import SampleSize
from airflow_neon_dms.local.stack import DAG_ID, LocalStack, StackOptions

SAMPLE = SampleSize(customers=300, products=60, orders=600, page_views=200, audit_log=20)
INSTANCE_WAITS = (
    "test_source_connection",
    "test_neon_connection",
    "run_full_load",
    "check_validation",
    "reload_failed_tables",
)
SERVERLESS_WAITS = ("serverless.run_replication", "check_validation", "reload_failed_tables")
SERVERLESS = {"compute": "serverless", "replication_instance_arn": None, "max_capacity_units": 4}
Span = tuple[datetime, datetime]


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
    #: The tries' [start, end] and the deferrals' [deferred, resumed] spans.
    tries: list[Span] = field(default_factory=list)
    deferrals_spans: list[Span] = field(default_factory=list)

    def worker_within(self, window: Span) -> float:
        """Seconds this task held a worker within ``window``."""
        return sum(_overlap(span, window) for span in self.tries) - sum(
            _overlap(span, window) for span in self.deferrals_spans
        )

    @property
    def worker(self) -> float:
        return self.wall - self.deferred


@dataclass
class RunTime:
    """One DAG run: its wall time, its task times and whether it succeeded."""

    wall: float
    tasks: dict[str, TaskTime]
    succeeded: bool
    #: The DAG's waits on the path the run took.
    waits: tuple[str, ...] = INSTANCE_WAITS

    @property
    def worker(self) -> float:
        return sum(t.worker for t in self.tasks.values())

    def waits_worker(self) -> float:
        return sum(self.tasks[t].worker for t in self.waits if t in self.tasks)

    def worker_within(self, window: Span) -> float:
        return sum(t.worker_within(window) for t in self.tasks.values())


def _overlap(span: Span, window: Span) -> float:
    return max(0.0, (min(span[1], window[1]) - max(span[0], window[0])).total_seconds())


class _PollingStack(LocalStack):
    """The local stack with waits that poll from the worker (the baseline)."""

    def airflow_env(self) -> dict[str, str]:
        return {**super().airflow_env(), "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "False"}


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


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
            task.tries.append((started, ended))
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
                resumed = nxt[1] if nxt else run_end
                tasks[task_id].deferred += (resumed - when).total_seconds()
                tasks[task_id].deferrals_spans.append((when, resumed))
    return RunTime(wall=(run_end - run_start).total_seconds(), tasks=tasks, succeeded=succeeded)


def measure(
    stack_class: type[LocalStack], creating_seconds: float, serverless: bool = False
) -> tuple[RunTime, Span | None]:
    """One DAG run's times, and with ``serverless`` the StartReplication -> first table loading span."""
    options = StackOptions(
        server_dsn=os.environ.get("NEON_DMS_TEST_PG_DSN"),
        sample_size=SAMPLE,
        task_creating_seconds=creating_seconds,
    )
    with stack_class(options) as stack:
        result = stack.run_dag(conf=SERVERLESS if serverless else None)
        run = read_run(stack.airflow_home / "airflow.db", result.succeeded)
        run.waits = SERVERLESS_WAITS if serverless else INSTANCE_WAITS
        return run, provisioning_window(stack.dms_client()) if serverless else None


def provisioning_window(client: Any) -> Span | None:
    """StartReplication (``ReplicationUpdateTime``) to the first ``FullLoadStartTime`` of the run."""
    replications = client.describe_replications()["Replications"]
    if not replications:
        return None
    replication = replications[0]
    rows = client.describe_replication_table_statistics(
        ReplicationConfigArn=replication["ReplicationConfigArn"], MaxRecords=500
    )["ReplicationTableStatistics"]
    loads = [r["FullLoadStartTime"] for r in rows if r.get("FullLoadStartTime")]
    if not loads:
        return None
    return replication["ReplicationUpdateTime"], min(loads)


HEADER = ("task", "state", "wall s", "triggerer s", "worker s", "defers", "before defer s")
ROW = "  {:<24}{:<16}{:>8}{:>13}{:>10}{:>8}{:>16}"


def report(title: str, run: RunTime) -> None:
    print(f"{title}: DAG run {'succeeded' if run.succeeded else 'FAILED (see the note below)'}")
    print(ROW.format(*HEADER))
    for name in run.waits:
        t = run.tasks.get(name)
        if t is None:
            print(f"  {name:<24}(did not run)")
            continue
        seconds = (f"{t.wall:.2f}", f"{t.deferred:.2f}", f"{t.worker:.2f}")
        print(ROW.format(name, t.state, *seconds, t.deferrals, f"{t.before_defer:.2f}"))
    others = [t for n, t in run.tasks.items() if n not in run.waits]
    print(
        ROW.format(f"other tasks ({len(others)})", "", "", "", f"{sum(t.worker for t in others):.2f}", "", "")
    )
    print(f"  DAG: worker {run.worker:.2f} s, wall {run.wall:.2f} s, worker/wall {run.worker / run.wall:.2f}")


def report_provisioning(run: RunTime, window: Span | None) -> None:
    """With --serverless: the provisioning window and the worker seconds held within it."""
    if window is None:
        return
    seconds = (window[1] - window[0]).total_seconds()
    held = run.worker_within(window)
    print(
        f"  StartReplication -> first table loading: {seconds:.2f} s; worker seconds held within it: "
        f"{held:.2f} (ratio {held / seconds:.2f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-baseline", action="store_true", help="skip the non-deferrable run")
    parser.add_argument(
        "--creating-seconds",
        type=float,
        default=5.0,
        help="seconds a new DMS task stays 'creating' in the emulator (real DMS: about 60)",
    )
    parser.add_argument(
        "--serverless", action="store_true", help="run with compute=serverless (DMS Serverless)"
    )
    args = parser.parse_args()
    print(f"New DMS tasks stay 'creating' for {args.creating_seconds:g} s in the emulator")
    deferred, window = measure(LocalStack, args.creating_seconds, args.serverless)
    report("Deferrable waits (the example DAG as shipped)", deferred)
    report_provisioning(deferred, window)
    runs = [deferred]
    if not args.no_baseline:
        polling, polling_window = measure(_PollingStack, args.creating_seconds, args.serverless)
        runs.append(polling)
        report("Baseline: waits poll from the worker (default_deferrable=False)", polling)
        report_provisioning(polling, polling_window)
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
    stop_on_sigterm()
    raise SystemExit(main())

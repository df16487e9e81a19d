"""Cutover window of the example DAG's CDC path with the demo's defaults.

Runs ``make demo CDC=1``'s stack (a logical-decoding embedded PostgreSQL, the local DMS publishing
metrics every 5 s, 1 s DMS polls) and its run: ``full-load-and-cdc`` with ``cutover=quiet`` while
an application writes during the load and 10 s after it. Reads the DAG's report and prints the
cutover window (from the start of the quiet window to Neon verified and sequences synced) in
seconds, in DAG poll intervals and in metric periods, split into the quiet window itself, the
catch-up and stop, and the final diff plus sequence sync. Goal: the part after the quiet window,
less the final diff, at most 3 poll intervals (of the waits that decide it: metric periods).
"""

from __future__ import annotations

from datetime import datetime

from airflow_neon_dms.local.demo import QUIET_SECONDS, WRITE_AFTER_LOAD_SECONDS, WRITE_RATE, cdc_options
from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.local.stack import LocalStack


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def main() -> int:
    options = cdc_options()
    with LocalStack(options) as stack:
        result, writer = stack.run_cdc_dag(
            quiet_seconds=QUIET_SECONDS,
            write_rate=WRITE_RATE,
            write_after_load_seconds=WRITE_AFTER_LOAD_SECONDS,
        )
    report = result.xcom("report") or {}
    window = report.get("cutover")
    if not result.succeeded or not window:
        print(result.log[-4000:])
        print("cdc_cutover_window: the run did not finish verified; no figure")
        return 1
    period = options.metrics_period_seconds
    poll = options.poll_seconds
    start, stopped, verified = (
        _at(window[k]) for k in ("writes_stopped_at", "task_stopped_at", "verified_at")
    )
    after_quiet = window["seconds"] - QUIET_SECONDS
    to_stop = (stopped - start).total_seconds() - QUIET_SECONDS
    diff_and_sync = (verified - stopped).total_seconds()
    print(f"writer: {writer.transactions} transactions, {writer.changes} row changes")
    print(
        f"cutover window: {window['seconds']:.1f} s = {window['poll_intervals']} poll intervals of {poll:g} s"
    )
    print(
        f"  quiet window (quiet_seconds): {QUIET_SECONDS:.1f} s = {QUIET_SECONDS / period:.1f} metric periods"
    )
    print(f"  catch-up and stop after it:  {to_stop:.1f} s = {to_stop / period:.2f} metric periods")
    print(f"  final diff and sequence sync: {diff_and_sync:.1f} s")
    print(
        f"after the quiet window, less the diff: {to_stop:.1f} s = {to_stop / period:.2f} metric periods "
        f"(goal <= 3); whole window after the quiet window: {after_quiet:.1f} s"
    )
    return 0


if __name__ == "__main__":
    stop_on_sigterm()
    raise SystemExit(main())

"""``make demo``: the example DAG end to end on an embedded local stack.

Starts an embedded PostgreSQL holding the shop source database and the Neon stand-in's database,
the local Neon proxy (TLS, endpoint id in the password) in front of it, and the local DMS
emulator; arms a one-shot fault so one table reaches Neon corrupted; runs
``airflow dags test neon_dms_migration``; checks every table independently (row count and a
checksum on both sides); prints a summary; removes everything it started.

``make demo CDC=1`` (``--cdc``) runs the change-data-capture path instead: the embedded server
runs with ``wal_level=logical``, an application writes to the source during the full load and
for a while after it, and the DAG runs with ``migration_type=full-load-and-cdc`` and
``cutover=quiet``: once the writes stop and the task has been quiet for ``QUIET_SECONDS``, the
cutover stops the task, the diff proves Neon identical and the sequences move past the new rows.
"""

from __future__ import annotations

import argparse
import time

from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.local.sample_data import MIGRATED_TABLES
from airflow_neon_dms.local.stack import ROOT, DagRunResult, LocalStack, StackOptions
from airflow_neon_dms.migration_report import format_report

#: The CDC demo's defaults: metrics every 5 s (AWS: 60), quiet for two periods, a writer at
#: 20 transactions a second that goes on 10 s after the full load.
METRICS_PERIOD_SECONDS = 5.0
QUIET_SECONDS = 10.0
WRITE_RATE = 20.0
WRITE_AFTER_LOAD_SECONDS = 10.0


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def cdc_options() -> StackOptions:
    """The CDC demo's stack: a logical-decoding source, no injected fault, 5 s metrics."""
    return StackOptions(cdc=True, corrupt=None, metrics_period_seconds=METRICS_PERIOD_SECONDS)


def run(cdc: bool = False) -> int:
    """Run the demo; return the process exit code."""
    started = time.monotonic()
    options = cdc_options() if cdc else StackOptions()
    corrupted = options.corrupt[0] if options.corrupt else None
    server = "embedded PostgreSQL (wal_level=logical)" if cdc else "embedded PostgreSQL"
    _say(f"starting {server}, the Neon proxy stand-in (TLS) and the local DMS emulator")
    with LocalStack(options) as stack:
        _say("source rows: " + ", ".join(f"{t} {n}" for t, n in stack.source_counts.items()))
        _say(f"Neon endpoint ep-local-demo on 127.0.0.1:{stack.proxy_port}; DMS API on {stack.endpoint_url}")
        if corrupted:
            _say(f"the first load of {corrupted} into Neon will be corrupted on purpose")
        extra_ok = True
        if cdc:
            _say(
                f"running: airflow dags test neon_dms_migration (full-load-and-cdc, cutover=quiet) while an "
                f"application writes {WRITE_RATE:g} transactions/s to the source until "
                f"{WRITE_AFTER_LOAD_SECONDS:g} s after the full load"
            )
            result, writer = stack.run_cdc_dag(
                quiet_seconds=QUIET_SECONDS,
                write_rate=WRITE_RATE,
                write_after_load_seconds=WRITE_AFTER_LOAD_SECONDS,
            )
            _say(
                f"the application committed {writer.transactions} transactions ({writer.changes} row changes)"
            )
            extra_ok = _print_sequences(stack)
        else:
            _say("running: airflow dags test neon_dms_migration")
            result = stack.run_dag()
        same = _print_tables(stack)
        reload = result.xcom("reload_failed_tables") or {}
        repaired = [f"{t['schema']}.{t['table']}" for t in reload.get("tables", [])]
        report = result.xcom("report")
        if report:
            print()
            print("The DAG's own report (task 'report'):")
            print(format_report(report))
        print()
        if result.succeeded and len(same) == len(MIGRATED_TABLES) and extra_ok:
            how = "with the source written during and after the load" if cdc else "reloaded after failing"
            detail = "" if cdc else f" validation: {', '.join(repaired) or 'none'}"
            _say(
                f"migration complete and verified in {time.monotonic() - started:.0f} s: {len(same)} tables "
                f"identical on both sides; {how}{detail}"
            )
            return 0
        return _failed(result)


def _print_tables(stack: LocalStack) -> list[str]:
    source = stack.fingerprints(stack.source_dsn)
    neon = stack.fingerprints(stack.neon_admin_dsn)
    same = [t for t in MIGRATED_TABLES if source[t] == neon[t]]
    print()
    print("Checked by the demo itself (row count and checksum of every table on both sides):")
    print(f"{'table':<14}{'source rows':>12}{'Neon rows':>12}  identical")
    for table in MIGRATED_TABLES:
        print(f"{table:<14}{source[table][0]:>12}{neon[table][0]:>12}  {'yes' if table in same else 'NO'}")
    return same


def _print_sequences(stack: LocalStack) -> bool:
    """Neon's sequences against the highest value on the source (CDC inserted rows after the load)."""
    source = stack.sequences(stack.source_dsn)
    neon = stack.sequences(stack.neon_admin_dsn)
    print()
    print("Sequences (Neon's next value must be past the source's highest id):")
    ahead = True
    for name, (_, source_max) in sorted(source.items()):
        neon_next = neon.get(name, (0, 0))[0]
        ok = neon_next > source_max
        ahead = ahead and ok
        print(
            f"{name:<32} source max {source_max:>8}  Neon next value {neon_next:>8}  "
            f"{'ahead' if ok else 'BEHIND'}"
        )
    return ahead


def _failed(result: DagRunResult) -> int:
    kept = ROOT / ".demo" / "dag-test.log"
    kept.parent.mkdir(exist_ok=True)
    kept.write_text(result.log)
    print(result.log[-6000:])
    _say(f"the demo FAILED: see the log above (whole log: {kept.relative_to(ROOT)})")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the example DAG end to end on a local stack.")
    parser.add_argument(
        "--cdc",
        action="store_true",
        help="full-load-and-cdc with a quiet cutover, while an application writes to the source",
    )
    return run(cdc=parser.parse_args(argv).cdc)


if __name__ == "__main__":
    stop_on_sigterm()
    raise SystemExit(main())

"""``make demo``: the example DAG end to end on an embedded local stack.

Starts an embedded PostgreSQL holding the shop source database and the Neon stand-in's database,
the local Neon proxy (TLS, endpoint id in the password) in front of it, and the local DMS
emulator; arms a one-shot fault so one table reaches Neon corrupted; runs
``airflow dags test neon_dms_migration``; checks every table independently (row count and a
checksum on both sides); prints a summary; removes everything it started.
"""

from __future__ import annotations

import time

from airflow_neon_dms.local.sample_data import MIGRATED_TABLES
from airflow_neon_dms.local.stack import ROOT, LocalStack, StackOptions
from airflow_neon_dms.migration_report import format_report


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def run() -> int:
    """Run the demo; return the process exit code."""
    started = time.monotonic()
    options = StackOptions()
    corrupted = options.corrupt[0] if options.corrupt else None
    _say("starting embedded PostgreSQL, the Neon proxy stand-in (TLS) and the local DMS emulator")
    with LocalStack(options) as stack:
        _say("source rows: " + ", ".join(f"{t} {n}" for t, n in stack.source_counts.items()))
        _say(f"Neon endpoint ep-local-demo on 127.0.0.1:{stack.proxy_port}; DMS API on {stack.endpoint_url}")
        if corrupted:
            _say(f"the first load of {corrupted} into Neon will be corrupted on purpose")
        _say("running: airflow dags test neon_dms_migration")
        result = stack.run_dag()
        source = stack.fingerprints(stack.source_dsn)
        neon = stack.fingerprints(stack.neon_admin_dsn)
        same = [t for t in MIGRATED_TABLES if source[t] == neon[t]]
        print()
        print("Checked by the demo itself (row count and checksum of every table on both sides):")
        print(f"{'table':<14}{'source rows':>12}{'Neon rows':>12}  identical")
        for table in MIGRATED_TABLES:
            print(
                f"{table:<14}{source[table][0]:>12}{neon[table][0]:>12}  {'yes' if table in same else 'NO'}"
            )
        reload = result.xcom("reload_failed_tables") or {}
        repaired = [f"{t['schema']}.{t['table']}" for t in reload.get("tables", [])]
        report = result.xcom("report")
        if report:
            print()
            print("The DAG's own report (task 'report'):")
            print(format_report(report))
        print()
        if result.succeeded and len(same) == len(MIGRATED_TABLES):
            _say(
                f"migration complete and verified in {time.monotonic() - started:.0f} s: {len(same)} tables "
                f"identical on both sides; reloaded after failing validation: {', '.join(repaired) or 'none'}"
            )
            return 0
        kept = ROOT / ".demo" / "dag-test.log"
        kept.parent.mkdir(exist_ok=True)
        kept.write_text(result.log)
        print(result.log[-6000:])
        _say(f"the demo FAILED: see the log above (whole log: {kept.relative_to(ROOT)})")
        return 1


if __name__ == "__main__":
    raise SystemExit(run())

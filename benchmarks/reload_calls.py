"""ReloadTables calls to reload 35 failed tables of a running task.

DMS accepts at most 10 tables a ReloadTables call, so 4 calls is the minimum for 35 tables.
Measured: one run of NeonDmsReloadTablesOperator on the local DMS emulator (a running
full-load-and-cdc task). Baseline: one call per table, as a loop over the failed tables makes
(amazon's DmsReloadTablesOperator sends one call with every table, which DMS refuses past 10).
Prints both counts and their ratio.
"""

from __future__ import annotations

import sys
from typing import Any

from _dms_bench import AWS_CONN_ID, count_calls, loaded_task

from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.operators.reload import NeonDmsReloadTablesOperator

TABLES = 40
FAILED = 35


class _TI:
    def xcom_push(self, key: str, value: Any) -> None:
        pass


def main() -> int:
    with loaded_task(TABLES, "full-load-and-cdc") as task:
        failed = [{"schema": "public", "table": f"t{i:04d}"} for i in range(FAILED)]
        op = NeonDmsReloadTablesOperator(
            task_id="reload",
            replication_task_arn=task.arn,
            tables=failed,
            aws_conn_id=AWS_CONN_ID,
            deferrable=False,
            waiter_delay=0.5,
            max_wait=600,
        )
        calls = count_calls(op.hook, "ReloadTables")
        result = op.execute({"ti": _TI()})  # type: ignore[arg-type]
        measured = calls()
        task.client.stop_replication_task(ReplicationTaskArn=task.arn)
    baseline = FAILED
    print(f"tables reloaded: {len(result['tables'])} ({result['method']})")
    print(f"ReloadTables calls for {FAILED} failed tables: {measured} (minimum 4)")
    print(f"baseline, one call per table: {baseline} calls")
    print(f"ratio measured/baseline: {measured / baseline:.2f}")
    return 0 if measured == 4 and result["reload_calls"] == 4 else 1


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(main())

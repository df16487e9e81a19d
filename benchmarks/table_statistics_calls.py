"""DescribeTableStatistics calls per validation poll of a 2,000-table task.

DMS returns at most 500 table statistics a call, so 4 calls is the minimum for 2,000 tables.
Measured: one run of NeonDmsValidationOperator over a loaded task on the local DMS emulator.
Baseline: the same paging loop with DMS's default page size (100), as a caller that leaves
MaxRecords out makes. Prints both counts and their ratio.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from _dms_bench import AWS_CONN_ID, count_calls, loaded_task

from airflow_neon_dms.local.foreground import stop_on_sigterm
from airflow_neon_dms.operators.validation import NeonDmsValidationOperator

TABLES = 2000


class _TI:
    def xcom_push(self, key: str, value: Any) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=TABLES, help="source tables loaded")
    wanted = parser.parse_args().tables
    with loaded_task(wanted, "full-load") as task:
        op = NeonDmsValidationOperator(
            task_id="validate", replication_task_arn=task.arn, aws_conn_id=AWS_CONN_ID, deferrable=False
        )
        calls = count_calls(op.hook, "DescribeTableStatistics")
        report = op.execute({"ti": _TI()})  # type: ignore[arg-type]
        measured = calls()
        baseline, marker = 0, None
        while True:
            kwargs: dict[str, Any] = {"ReplicationTaskArn": task.arn}
            if marker:
                kwargs["Marker"] = marker
            marker = task.client.describe_table_statistics(**kwargs).get("Marker")
            baseline += 1
            if not marker:
                break
    tables = report["summary"]["tables"]
    minimum = math.ceil(tables / 500)
    print(f"tables reported: {tables}")
    print(f"DescribeTableStatistics calls per validation poll: {measured} (minimum {minimum})")
    print(f"baseline with the default page size: {baseline} calls")
    print(f"ratio measured/baseline: {measured / baseline:.2f}")
    return 0 if measured == minimum and tables == wanted else 1


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(main())

"""API calls per validation poll of 2,000 tables: a DMS Serverless replication beside a task.

The validation poll of a serverless replication reads DescribeReplicationTableStatistics; a task's
reads DescribeTableStatistics. AWS documents MaxRecords 20..500 for DescribeTableStatistics
(botocore, DescribeTableStatisticsMessage) and states no other bound for
DescribeReplicationTableStatistics (botocore's IntegerOptional, no constraint; the provider sends
the same 500), so 4 calls is the minimum for 2,000 tables on both paths. Measured: one run of
NeonDmsValidationOperator over each, loaded on the local DMS emulator (which applies 20..500 to
both). Prints the two counts side by side and their ratio (serverless / instance).
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


def calls_per_poll(serverless: bool, tables: int) -> tuple[int, int]:
    """(calls of one validation poll, tables reported) for a loaded task or replication."""
    operation = "DescribeReplicationTableStatistics" if serverless else "DescribeTableStatistics"
    with loaded_task(tables, "full-load", serverless=serverless) as run:
        arn_argument = "replication_config_arn" if serverless else "replication_task_arn"
        op = NeonDmsValidationOperator(
            task_id="validate", aws_conn_id=AWS_CONN_ID, deferrable=False, **{arn_argument: run.arn}
        )
        calls = count_calls(op.hook, operation)
        report = op.execute({"ti": _TI()})  # type: ignore[arg-type]
        return calls(), int(report["summary"]["tables"])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=TABLES, help="source tables loaded")
    tables = parser.parse_args().tables
    instance, instance_tables = calls_per_poll(serverless=False, tables=tables)
    serverless, serverless_tables = calls_per_poll(serverless=True, tables=tables)
    minimum = math.ceil(tables / 500)
    print(f"tables reported: instance {instance_tables}, serverless {serverless_tables}")
    print(f"instance path, DescribeTableStatistics calls per poll: {instance} (minimum {minimum})")
    print(
        f"serverless path, DescribeReplicationTableStatistics calls per poll: {serverless} "
        f"(minimum {minimum})"
    )
    print(f"ratio serverless/instance: {serverless / instance:.2f}")
    ok = instance == serverless == minimum and instance_tables == serverless_tables == tables
    return 0 if ok else 1


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(main())

"""Validation of a full-load-and-cdc task whose source is written during its load.

DMS validates what the load copied; changes made meanwhile are applied afterwards, so they must
not show as Mismatched records (a reload would only meet them again).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from tests.local.cdc.support import Writer, connect
from tests.local.support import INCLUDE_ALL_PUBLIC, Dms
from tests.local.test_cdc_tasks import loaded, logical_endpoint, stop, wait_until
from tests.logical_postgres import LogicalPg

SOURCE_SQL = """
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL);
INSERT INTO items SELECT g, 'row ' || g, 0 FROM generate_series(1, 30000) g;
"""


def test_a_load_written_meanwhile_validates(
    dms: Dms, logical_pg: LogicalPg, make_logical_database: Callable[[], str]
) -> None:
    source_db, target_db = make_logical_database(), make_logical_database()
    with connect(logical_pg, source_db) as src:
        src.execute(SOURCE_SQL)
    arn = str(
        dms.client.create_replication_task(
            ReplicationTaskIdentifier=f"cdc-validation-{time.monotonic_ns()}",
            SourceEndpointArn=logical_endpoint(dms, logical_pg, "source", source_db),
            TargetEndpointArn=logical_endpoint(dms, logical_pg, "target", target_db),
            ReplicationInstanceArn=dms.instance_arn,
            MigrationType="full-load-and-cdc",
            TableMappings=json.dumps(INCLUDE_ALL_PUBLIC),
            ReplicationTaskSettings=json.dumps({"ValidationSettings": {"EnableValidation": True}}),
        )["ReplicationTask"]["ReplicationTaskArn"]
    )
    dms.wait("replication_task_ready", arn)
    writer = Writer(logical_pg, source_db)
    writer.start()  # updates, inserts and deletes of items while it loads
    try:
        dms.client.start_replication_task(
            ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
        )
        wait_until(lambda: loaded(dms, arn, 1), "the table to be loaded")
        assert writer.transactions > 0
    finally:
        writer.stop()
    items = dms.table_stats(arn)[("public", "items")]
    assert items["ValidationState"] == "Validated", items
    assert items.get("ValidationFailedRecords", 0) == 0
    stop(dms, arn)
    dms.client.delete_replication_task(ReplicationTaskArn=arn)

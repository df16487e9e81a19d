"""
Run after every migration into Neon that finished and was verified.

Scheduled on the ``neon_dms_migration.verified`` asset, which the migration DAG's ``report``
step updates only when the independent data diff proved every table identical. The event's
extra lists the Neon tables (``postgres://host:port/database/schema/table``) and the rows; each
table also has an asset of its own (updated through the ``neon_dms_migration.verified_tables``
alias), should a DAG need to wait for one table only. Replace the task with the work that needs
the data in Neon: switch the application over, refresh a report, notify a team.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_neon_dms.assets import verified_migration_asset

# [START consumer]
MIGRATION_VERIFIED = verified_migration_asset("neon_dms_migration")

with DAG(
    dag_id="neon_migration_consumer",
    description="Runs when a migration into Neon finished and was verified",
    schedule=MIGRATION_VERIFIED,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["neon", "dms", "consumer"],
    doc_md=__doc__,
) as dag:

    @task
    def verified_tables(triggering_asset_events: Any = None) -> list[str]:
        """The Neon tables the triggering migration proved identical."""
        tables: list[str] = []
        for event in (triggering_asset_events or {}).get(MIGRATION_VERIFIED, []):
            tables += event.extra.get("tables", [])
            print(
                f"Migration run {event.source_run_id} verified {len(event.extra.get('tables', []))} table(s)"
            )
        for uri in tables:
            print(f"  {uri}")
        return tables

    verified_tables()
# [END consumer]

"""Migrated Neon tables as Airflow assets, so a DAG can run when a migration into Neon is verified.

Which tables a migration moves is known only at run time (the table mapping selects them), so a
step that proves tables identical announces each one through an ``AssetAlias`` in its
``outlets``: ``outlet_events[alias].add(Asset(uri), extra=...)``, Airflow 3's documented way to
emit events for assets decided at run time. A fixed asset per migration DAG
(:func:`verified_migration_asset`) marks "the whole migration finished and was verified"; a
downstream DAG is scheduled on it.

URIs follow the postgres scheme Airflow documents for tables, ``postgres://host:port/database/
schema/table``, already in the form the postgres provider normalises to (scheme ``postgres``,
explicit port), so an asset has the same URI whether that provider is installed or not (without
it Airflow keeps the URI as written).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote


def neon_table_uri(host: str, port: int, database: str, schema: str, table: str) -> str:
    """``postgres://host:port/database/schema/table`` for one Neon table (names percent-encoded)."""
    path = "/".join(quote(part, safe="") for part in (database, schema, table))
    return f"postgres://{host.lower()}:{int(port)}/{path}"


def verified_migration_asset(dag_id: str) -> Any:
    """The asset that gets one event each time migration DAG ``dag_id`` finishes verified."""
    from airflow.sdk import Asset

    return Asset(name=f"{dag_id}.verified")


def verified_tables_alias(dag_id: str) -> Any:
    """The alias through which migration DAG ``dag_id`` announces each verified Neon table."""
    from airflow.sdk import AssetAlias

    return AssetAlias(name=f"{dag_id}.verified_tables")


def verified_table_uris(
    tables: Iterable[Mapping[str, Any]], *, host: str, port: int, database: str
) -> dict[str, Mapping[str, Any]]:
    """URI -> table entry of a data diff report, for the tables found identical only."""
    return {
        neon_table_uri(host, port, database, str(t["target_schema"]), str(t["target_table"])): t
        for t in tables
        if t.get("identical")
    }


def announce_verified_tables(
    context: Any, outlets: Iterable[Any], verified: Mapping[str, Mapping[str, Any]]
) -> None:
    """Add an asset event for each verified table to every ``AssetAlias`` among ``outlets``."""
    from airflow.sdk import Asset, AssetAlias

    aliases = [outlet for outlet in outlets if isinstance(outlet, AssetAlias)]
    for uri, table in verified.items():
        extra = {
            "source_table": f"{table['schema']}.{table['table']}",
            "rows": table.get("rows_target"),
            "compared_as": table.get("compared_as"),
        }
        for alias in aliases:
            context["outlet_events"][alias].add(Asset(uri=uri), extra=extra)

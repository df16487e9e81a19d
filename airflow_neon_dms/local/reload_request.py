"""The checks of a table reload request (ReloadReplicationTables), as DMS answers them.

botocore: ``ReloadOption`` is ``data-reload`` (default) or ``validate-only``, and the operation
works "only ... in the RUNNING state, otherwise the service will throw an
InvalidResourceStateFault". The limit of 10 tables a call and the refusal of duplicates follow
ReloadTables, whose AWS limits the serverless operation shares (same TableToReload list shape).
"""

from __future__ import annotations

from collections.abc import Collection

from airflow_neon_dms.local.api_params import Params
from airflow_neon_dms.local.faults import InvalidParameterValueException

RELOAD_CHOICES = ("data-reload", "validate-only")
#: The most tables one reload call may name.
MAX_RELOAD_TABLES = 10

TableKey = tuple[str, str]


def reload_option(params: Params) -> str:
    """The request's ReloadOption (default ``data-reload``)."""
    option = params.get("ReloadOption") or "data-reload"
    if option not in RELOAD_CHOICES:
        raise InvalidParameterValueException(
            f"Invalid ReloadOption {option!r}; use one of {', '.join(RELOAD_CHOICES)}."
        )
    return str(option)


def tables_to_reload(params: Params, known: Collection[TableKey], owner: str) -> list[TableKey]:
    """The (schema, table) pairs of ``TablesToReload``: 1 to 10, distinct, each one of ``known``
    (the tables ``owner`` replicates)."""
    given = params.get("TablesToReload") or []
    if not given:
        raise InvalidParameterValueException("TablesToReload must name at least one table.")
    if len(given) > MAX_RELOAD_TABLES:
        raise InvalidParameterValueException(
            f"TablesToReload names {len(given)} tables; at most {MAX_RELOAD_TABLES} can be "
            "reloaded in one call: split the list."
        )
    keys = [(str(t.get("SchemaName")), str(t.get("TableName"))) for t in given]
    if len(set(keys)) != len(keys):
        raise InvalidParameterValueException("TablesToReload names the same table more than once.")
    unknown = [f"{schema}.{table}" for schema, table in keys if (schema, table) not in known]
    if unknown:
        raise InvalidParameterValueException(
            f"Table(s) {', '.join(unknown)} are not replicated by {owner}; reload only tables "
            "DescribeReplicationTableStatistics lists."
        )
    return keys

"""DescribeEndpointTypes: the engines DMS supports as sources and targets.

A subset of what AWS lists (AWS DMS User Guide, "Sources for data migration" and "Targets for data
migration"): the relational engines, Neon's own (PostgreSQL), and the common non-relational
targets. ``LOCALLY_RUNNABLE`` marks the pairs the local emulator really migrates; every other
engine can be created as an endpoint, and a task using it fails with a clear message.
"""

from __future__ import annotations

from typing import Any

from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    paginate,
    parse_filters,
    with_marker,
)
from airflow_neon_dms.local.service_state import ServiceState

#: (engine name, display name, source with CDC?, is a target?); None: not a source.
_ENGINES: tuple[tuple[str, str, bool | None, bool], ...] = (
    ("postgres", "PostgreSQL", True, True),
    ("aurora-postgresql", "Amazon Aurora PostgreSQL", True, True),
    ("mysql", "MySQL", True, True),
    ("mariadb", "MariaDB", True, True),
    ("aurora", "Amazon Aurora MySQL", True, True),
    ("oracle", "Oracle", True, True),
    ("sqlserver", "Microsoft SQL Server", True, True),
    ("azuredb", "Microsoft Azure SQL Database", False, True),
    ("db2", "IBM Db2 for Linux, UNIX, and Windows", True, False),
    ("sybase", "SAP ASE", True, True),
    ("mongodb", "MongoDB", True, False),
    ("docdb", "Amazon DocumentDB", True, True),
    ("s3", "Amazon S3", True, True),
    ("redshift", "Amazon Redshift", None, True),
    ("dynamodb", "Amazon DynamoDB", None, True),
    ("kinesis", "Amazon Kinesis", None, True),
    ("kafka", "Kafka", None, True),
    ("opensearch", "Amazon OpenSearch Service", None, True),
    ("neptune", "Amazon Neptune", None, True),
    ("redis", "Redis", None, True),
    ("babelfish", "Babelfish for Aurora PostgreSQL", None, True),
)

#: What the local emulator really migrates: these sources into these targets.
LOCALLY_RUNNABLE = {
    "source": frozenset({"postgres", "aurora-postgresql", "mysql", "mariadb", "aurora"}),
    "target": frozenset({"postgres", "aurora-postgresql"}),
}


def supported_endpoint_types() -> list[dict[str, Any]]:
    """Every (engine, endpoint type) pair as botocore's SupportedEndpointType."""
    out = []
    for engine, display, source_cdc, target in _ENGINES:
        if source_cdc is not None:
            out.append({"EngineName": engine, "SupportsCDC": source_cdc, "EndpointType": "source",
                        "EngineDisplayName": display})  # fmt: skip
        if target:
            out.append({"EngineName": engine, "SupportsCDC": True, "EndpointType": "target",
                        "EngineDisplayName": display})  # fmt: skip
    return out


class EndpointTypeOperations(ServiceState):
    """DescribeEndpointTypes (filters engine-name and endpoint-type, MaxRecords 20..100)."""

    def describe_endpoint_types(self, params: Params) -> Result:
        filters = parse_filters(
            params,
            {"engine-name": lambda t: t["EngineName"], "endpoint-type": lambda t: t["EndpointType"]},
            lowercase=frozenset({"engine-name", "endpoint-type"}),
        )
        page, marker = paginate(params, apply_filters(supported_endpoint_types(), filters), DESCRIBE_MAX)
        return with_marker({"SupportedEndpointTypes": page}, marker)

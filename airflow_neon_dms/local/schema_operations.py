"""RefreshSchemas, DescribeRefreshSchemasStatus and DescribeSchemas: the schema list the DMS console
shows for an endpoint, read from the endpoint's real database.

RefreshSchemas connects from the "replication instance" (this process) on a thread: the status
is ``refreshing``, then ``successful`` with the list or ``failed`` with the driver's error (botocore:
RefreshSchemasStatusTypeValue successful | failed | refreshing). DescribeSchemas answers the list
of the last successful refresh. A PostgreSQL endpoint lists the schemas of its database (without
``pg_catalog``, ``information_schema`` and PostgreSQL's ``pg_toast``/``pg_temp_*`` ones); a
MySQL/MariaDB endpoint lists its server's databases without ``information_schema`` (DMS selects
``mysql``, ``performance_schema`` and ``sys`` with a ``%`` pattern, so they are listed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from airflow_neon_dms.local.api_params import DESCRIBE_MAX, Params, Result, paginate, required, with_marker
from airflow_neon_dms.local.databases import DatabaseAddress, connect_mysql, connect_postgres, mask
from airflow_neon_dms.local.faults import InvalidResourceStateFault, ResourceNotFoundFault
from airflow_neon_dms.local.service_state import ServiceState

_PG_SCHEMAS = (
    "SELECT nspname FROM pg_namespace WHERE nspname <> ALL(%s) "
    "AND nspname NOT LIKE 'pg\\_toast%%' AND nspname NOT LIKE 'pg\\_temp\\_%%' ORDER BY 1"
)
_PG_SYSTEM = ["pg_catalog", "information_schema"]
_MYSQL_SYSTEM = frozenset({"information_schema"})


def read_schemas(address: DatabaseAddress) -> list[str]:
    """The schema (PostgreSQL) or database (MySQL/MariaDB) names of an endpoint, sorted."""
    if address.is_postgres:
        with connect_postgres(address) as conn:
            return [str(row[0]) for row in conn.execute(_PG_SCHEMAS, [_PG_SYSTEM]).fetchall()]
    if address.is_mysql:
        conn = connect_mysql(address)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW DATABASES")
                names = [str(row[0]) for row in cur.fetchall()]
        finally:
            conn.close()
        return sorted(n for n in names if n.lower() not in _MYSQL_SYSTEM)
    raise ValueError(f"The local DMS emulator cannot read schemas of {address.engine} endpoints.")


@dataclass
class SchemaRefresh:
    """The last RefreshSchemas of one endpoint, and the list it found."""

    endpoint_arn: str
    instance_arn: str
    status: str = "refreshing"
    #: When the refresh was asked for, then when it ended (the AWS CLI's refresh-schemas example
    #: shows LastRefreshDate already in the ``refreshing`` answer).
    last_refresh: float | None = None
    failure: str = ""
    schemas: list[str] | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "EndpointArn": self.endpoint_arn,
            "ReplicationInstanceArn": self.instance_arn,
            "Status": self.status,
        }
        if self.last_refresh is not None:
            out["LastRefreshDate"] = self.last_refresh
        if self.failure:
            out["LastFailureMessage"] = self.failure
        return out


class SchemaOperations(ServiceState):
    """RefreshSchemas, DescribeRefreshSchemasStatus and DescribeSchemas."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schema_refreshes: dict[str, SchemaRefresh] = {}

    def refresh_schemas(self, params: Params) -> Result:
        endpoint = self._endpoint(required(params, "EndpointArn"))
        instance = self._instance(required(params, "ReplicationInstanceArn"))
        previous = self.schema_refreshes.get(endpoint.arn)
        if previous is not None and previous.status == "refreshing":
            raise InvalidResourceStateFault(
                f"The schemas of endpoint {endpoint.identifier} are being refreshed; wait for "
                "DescribeRefreshSchemasStatus to show successful or failed."
            )
        refresh = SchemaRefresh(endpoint.arn, instance.arn, last_refresh=time.time())
        if previous is not None:
            refresh.schemas = previous.schemas
        self.schema_refreshes[endpoint.arn] = refresh
        address = self.address(endpoint)

        def run() -> None:
            try:
                schemas, failure = read_schemas(address), ""
            except Exception as err:  # the driver's error, shown as the refresh's failure
                schemas, failure = None, mask(str(err).strip() or type(err).__name__, address.password)
            with self.lock:
                refresh.status = "failed" if failure else "successful"
                refresh.failure = failure
                refresh.last_refresh = time.time()
                if schemas is not None:
                    refresh.schemas = schemas

        self._spawn(f"refresh-schemas-{endpoint.identifier}", run)
        return {"RefreshSchemasStatus": refresh.to_api()}

    def _refresh(self, params: Params) -> SchemaRefresh:
        endpoint = self._endpoint(required(params, "EndpointArn"))
        try:
            return self.schema_refreshes[endpoint.arn]
        except KeyError:
            raise ResourceNotFoundFault(
                f"No schema refresh found for endpoint {endpoint.identifier}; call RefreshSchemas first."
            ) from None

    def describe_refresh_schemas_status(self, params: Params) -> Result:
        return {"RefreshSchemasStatus": self._refresh(params).to_api()}

    def describe_schemas(self, params: Params) -> Result:
        refresh = self._refresh(params)
        if refresh.schemas is None:
            raise InvalidResourceStateFault(
                f"The schemas of endpoint {refresh.endpoint_arn} have not been read yet "
                f"(refresh status {refresh.status}); wait for RefreshSchemas to succeed."
            )
        page, marker = paginate(params, list(refresh.schemas), DESCRIBE_MAX)
        return with_marker({"Schemas": page}, marker)

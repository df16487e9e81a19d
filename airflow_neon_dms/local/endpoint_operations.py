"""Endpoint operations of the local DMS, and TestConnection / DescribeConnections."""

from __future__ import annotations

import dataclasses
import logging

from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    check_identifier,
    paginate,
    parse_filters,
    required,
    resource_id,
    with_marker,
)
from airflow_neon_dms.local.databases import check_connection
from airflow_neon_dms.local.endpoint_rules import missing_at_create, unsupported_password_message
from airflow_neon_dms.local.faults import (
    InvalidParameterValueException,
    InvalidResourceStateFault,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.models import ENDPOINT_SETTINGS_KEYS, Connection, Endpoint
from airflow_neon_dms.local.service_state import ServiceState

log = logging.getLogger(__name__)

#: Engines DMS accepts in EngineName (botocore has no enum for it).
ENGINE_NAMES = frozenset(
    {
        "mysql", "oracle", "postgres", "mariadb", "aurora", "aurora-postgresql", "opensearch",
        "redshift", "redshift-serverless", "s3", "db2", "db2-zos", "azuredb", "sybase", "dynamodb",
        "mongodb", "kinesis", "kafka", "elasticsearch", "docdb", "sqlserver", "neptune", "babelfish",
        "aurora-serverless", "aurora-postgresql-serverless", "azure-sql-managed-instance", "redis",
        "timestream", "gcp-mysql",
    }
)  # fmt: skip
SSL_MODES = ("none", "require", "verify-ca", "verify-full")


class EndpointOperations(ServiceState):
    """CreateEndpoint, ModifyEndpoint, DeleteEndpoint, DescribeEndpoints and connection tests."""

    def _endpoint_fields(self, params: Params, endpoint: Endpoint) -> None:
        if "EndpointType" in params:
            endpoint_type = str(params["EndpointType"]).lower()
            if endpoint_type not in ("source", "target"):
                raise InvalidParameterValueException(
                    f"Invalid EndpointType {params['EndpointType']!r}; use source or target."
                )
            endpoint.endpoint_type = endpoint_type
        if "EngineName" in params:
            engine = str(params["EngineName"]).lower()
            if engine not in ENGINE_NAMES:
                raise InvalidParameterValueException(
                    f"Invalid EngineName {params['EngineName']!r}. Use one of: "
                    f"{', '.join(sorted(ENGINE_NAMES))}."
                )
            endpoint.engine_name = engine
        if "SslMode" in params:
            if params["SslMode"] not in SSL_MODES:
                raise InvalidParameterValueException(
                    f"Invalid SslMode {params['SslMode']!r}; use one of {', '.join(SSL_MODES)}."
                )
            endpoint.ssl_mode = params["SslMode"]
        if "Password" in params:
            refusal = unsupported_password_message(endpoint.engine_name, str(params["Password"]))
            if refusal:
                raise InvalidParameterValueException(refusal)
            endpoint.password = params["Password"]
        if "Port" in params:
            port = params["Port"]
            if not isinstance(port, int) or not 0 < port < 65536:
                raise InvalidParameterValueException(f"Invalid Port {port!r}; use 1 to 65535.")
            endpoint.port = port
        for key, attr in (
            ("Username", "username"),
            ("ServerName", "server_name"),
            ("DatabaseName", "database_name"),
            ("ExtraConnectionAttributes", "extra_connection_attributes"),
            ("CertificateArn", "certificate_arn"),
        ):
            if key in params:
                setattr(endpoint, attr, params[key])
        for key in ENDPOINT_SETTINGS_KEYS:
            if isinstance(params.get(key), dict):
                if params.get("ExactSettings") or key not in endpoint.settings:
                    endpoint.settings[key] = dict(params[key])
                else:
                    endpoint.settings[key].update(params[key])
        missing = missing_at_create(endpoint.engine_name, endpoint.connection_fields(), endpoint.settings)
        if missing:
            raise InvalidParameterValueException(missing)

    def create_endpoint(self, params: Params) -> Result:
        identifier = check_identifier("EndpointIdentifier", required(params, "EndpointIdentifier"))
        required(params, "EndpointType")
        required(params, "EngineName")
        if identifier in self.endpoints:
            raise ResourceAlreadyExistsFault(f"Endpoint {identifier} already exists.")
        arn = self._arn("endpoint", params.get("ResourceIdentifier") or resource_id())
        endpoint = Endpoint(identifier=identifier, arn=arn, endpoint_type="", engine_name="")
        endpoint.kms_key_id = params.get("KmsKeyId")
        self._endpoint_fields(params, endpoint)
        self.endpoints[identifier] = endpoint
        self._tag(arn, params.get("Tags"))
        log.info("Endpoint %s created (%s %s)", identifier, endpoint.endpoint_type, endpoint.engine_name)
        return {"Endpoint": endpoint.to_api()}

    def modify_endpoint(self, params: Params) -> Result:
        endpoint = self._endpoint(required(params, "EndpointArn"))
        self._not_deleting("Endpoint", endpoint.identifier, endpoint.status)
        new_id = params.get("EndpointIdentifier")
        if new_id is not None:
            new_id = check_identifier("EndpointIdentifier", new_id)
            if new_id != endpoint.identifier and new_id in self.endpoints:
                raise ResourceAlreadyExistsFault(f"Endpoint {new_id} already exists.")
        staged = dataclasses.replace(endpoint, settings={k: dict(v) for k, v in endpoint.settings.items()})
        if "EngineName" in params and "Password" not in params and endpoint.password:
            params = {**params, "Password": endpoint.password}
        self._endpoint_fields(params, staged)  # validates everything before changing anything
        if new_id is not None and new_id != endpoint.identifier:
            del self.endpoints[endpoint.identifier]
            staged.identifier = new_id
        self.endpoints[staged.identifier] = staged
        for key in [k for k in self.connections if k[1] == staged.arn]:
            del self.connections[key]  # a changed endpoint needs a new connection test
        return {"Endpoint": staged.to_api()}

    def delete_endpoint(self, params: Params) -> Result:
        endpoint = self._endpoint(required(params, "EndpointArn"))
        self._not_deleting("Endpoint", endpoint.identifier, endpoint.status)
        # A task that is still ``deleting`` uses the endpoint until it is gone.
        users = [t.identifier for t in self.tasks.values() if endpoint.arn in (t.source_arn, t.target_arn)]
        if users:
            raise InvalidResourceStateFault(
                f"Endpoint {endpoint.identifier} is used by replication task(s) {', '.join(users)}; "
                "delete them first (and wait until they are gone)."
            )
        endpoint.status = "deleting"
        endpoint.gone_at = self._deleted_at()
        if endpoint.gone_at is None:
            self._forget_endpoint(endpoint)
        return {"Endpoint": endpoint.to_api()}

    def describe_endpoints(self, params: Params) -> Result:
        filters = parse_filters(
            params,
            {
                "endpoint-arn": lambda e: e.arn,
                "endpoint-type": lambda e: e.endpoint_type,
                "endpoint-id": lambda e: e.identifier,
                "engine-name": lambda e: e.engine_name,
            },
            lowercase=frozenset({"endpoint-type", "engine-name"}),
        )
        items = apply_filters(list(self.endpoints.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No endpoints found matching the filters.")
        page, marker = paginate(params, items, DESCRIBE_MAX)
        return with_marker({"Endpoints": [e.to_api() for e in page]}, marker)

    def test_connection(self, params: Params) -> Result:
        instance = self._instance(required(params, "ReplicationInstanceArn"))
        endpoint = self._endpoint(required(params, "EndpointArn"))
        self._not_deleting("Replication instance", instance.identifier, instance.status)
        self._not_deleting("Endpoint", endpoint.identifier, endpoint.status)
        connection = Connection(instance.arn, endpoint.arn, instance.identifier, endpoint.identifier)
        self.connections[(instance.arn, endpoint.arn)] = connection
        address = self.address(endpoint)

        def run() -> None:
            error = check_connection(address)
            with self.lock:
                connection.status = "failed" if error else "successful"
                connection.last_failure = error or ""
            if error:
                log.warning("Test connection to endpoint %s failed: %s", endpoint.identifier, error)
            else:
                log.info("Test connection to endpoint %s succeeded", endpoint.identifier)

        self._spawn(f"test-{endpoint.identifier}", run)
        return {"Connection": connection.to_api()}

    def describe_connections(self, params: Params) -> Result:
        filters = parse_filters(
            params,
            {
                "endpoint-arn": lambda c: c.endpoint_arn,
                "replication-instance-arn": lambda c: c.instance_arn,
            },
        )
        items = apply_filters(list(self.connections.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No connections found matching the filters.")
        page, marker = paginate(params, items, DESCRIBE_MAX)
        return with_marker({"Connections": [c.to_api() for c in page]}, marker)

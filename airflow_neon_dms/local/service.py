"""The local DMS: every API operation the emulator serves, as plain Python over a JSON dict.

``DmsService.call("CreateEndpoint", params)`` returns the response dict or raises a ``DmsFault``.
No HTTP and no moto here (``moto_dms`` puts this behind moto's request handling); long work runs
on task threads (``task_runner``), so every call returns at once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from airflow_neon_dms.local.databases import DatabaseAddress, check_connection
from airflow_neon_dms.local.faults import (
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    InvalidResourceStateFault,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
    UnknownOperationException,
)
from airflow_neon_dms.local.models import (
    ENDPOINT_SETTINGS_KEYS,
    Connection,
    Endpoint,
    ReplicationInstance,
    ReplicationTask,
)
from airflow_neon_dms.local.table_mappings import parse_table_mappings
from airflow_neon_dms.local.task_runner import TaskJob
from airflow_neon_dms.local.task_settings import parse_task_settings
from airflow_neon_dms.neon import DMS_UNSUPPORTED_PASSWORD_CHARACTERS

log = logging.getLogger(__name__)

Params = Mapping[str, Any]
Result = dict[str, Any]
T = TypeVar("T")

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
MIGRATION_TYPES = ("full-load", "cdc", "full-load-and-cdc")
START_TYPES = ("start-replication", "resume-processing", "reload-target")
RELOAD_OPTIONS = ("data-reload", "validate-only")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$")
_ACTIVE_TASK_STATES = ("starting", "running", "stopping")
_DESCRIBE_MAX = (20, 100)
_TABLE_STATS_MAX = (20, 500)
_TABLE_STATS_FILTERS: dict[str, Callable[[Any], Any]] = {
    "schema-name": lambda s: s.schema,
    "table-name": lambda s: s.table,
    "table-state": lambda s: s.state,
}


def _required(params: Params, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise InvalidParameterValueException(f"The parameter {name} is required.")
    return value


def _check_identifier(name: str, value: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER_RE.match(value):
        raise InvalidParameterValueException(
            f"The parameter {name} is not a valid identifier. Identifiers must begin with a letter "
            "and must contain only ASCII letters, digits, and hyphens. They can't end with a "
            "hyphen or contain two consecutive hyphens."
        )
    return value.lower()


def _resource_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return secrets.choice(string.ascii_uppercase) + "".join(secrets.choice(alphabet) for _ in range(25))


def _filters(
    params: Params, allowed: Mapping[str, Callable[[Any], Any]]
) -> list[tuple[Callable[[Any], Any], set[str]]]:
    out = []
    for item in params.get("Filters") or []:
        name = item.get("Name")
        if name not in allowed:
            raise InvalidParameterValueException(
                f"The filter {name!r} is not valid here; use one of {', '.join(sorted(allowed))}."
            )
        out.append((allowed[name], {str(v) for v in item.get("Values") or []}))
    return out


def _apply_filters(items: list[T], filters: list[tuple[Callable[[Any], Any], set[str]]]) -> list[T]:
    return [item for item in items if all(str(get(item)) in values for get, values in filters)]


def _page(
    params: Params, items: list[T], limits: tuple[int, int], default: int = 100
) -> tuple[list[T], str | None]:
    max_records = params.get("MaxRecords")
    size = default if max_records is None else int(max_records)
    if max_records is not None and not limits[0] <= size <= limits[1]:
        raise InvalidParameterValueException(
            f"The parameter MaxRecords must be between {limits[0]} and {limits[1]}."
        )
    marker = params.get("Marker")
    try:
        start = int(marker) if marker else 0
    except ValueError:
        raise InvalidParameterValueException(f"The Marker {marker!r} is not valid.") from None
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


class DmsService:
    """All state of one local DMS: endpoints, instances, connections, tasks and tags."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        routes: Mapping[tuple[str, int], tuple[str, int]] | None = None,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.routes: dict[tuple[str, int], tuple[str, int]] = dict(routes or {})
        self.lock = threading.RLock()
        self.endpoints: dict[str, Endpoint] = {}
        self.instances: dict[str, ReplicationInstance] = {}
        self.connections: dict[tuple[str, str], Connection] = {}
        self.tasks: dict[str, ReplicationTask] = {}
        self.jobs: dict[str, TaskJob] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self._threads: list[threading.Thread] = []

    # ----------------------------------------------------------------- plumbing
    def call(self, operation: str, params: Params) -> Result:
        """Run one API operation by its DMS name (e.g. ``DescribeEndpoints``)."""
        method = getattr(self, _snake(operation), None)
        if operation not in OPERATIONS or method is None:
            raise UnknownOperationException(
                f"The operation {operation} is not implemented by the local DMS emulator."
            )
        with self.lock:
            result: Result = method(params)
        return result

    def _arn(self, kind: str, resource: str) -> str:
        return f"arn:aws:dms:{self.region}:{self.account_id}:{kind}:{resource}"

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def shutdown(self, timeout: float = 30) -> None:
        """Ask running tasks to stop and wait for every background thread."""
        with self.lock:
            for task in self.tasks.values():
                task.stop_event.set()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _endpoint(self, arn: str) -> Endpoint:
        for endpoint in self.endpoints.values():
            if endpoint.arn == arn:
                return endpoint
        raise ResourceNotFoundFault(f"Endpoint {arn} not found.")

    def _instance(self, arn: str) -> ReplicationInstance:
        try:
            return self.instances[arn]
        except KeyError:
            raise ResourceNotFoundFault(f"Replication instance {arn} not found.") from None

    def _task(self, arn: str) -> ReplicationTask:
        try:
            return self.tasks[arn]
        except KeyError:
            raise ResourceNotFoundFault(f"Replication task {arn} not found.") from None

    def _tag(self, arn: str, tags: list[dict[str, Any]] | None) -> None:
        if tags:
            self.tags.setdefault(arn, {}).update({t["Key"]: t.get("Value", "") for t in tags})

    def address(self, endpoint: Endpoint) -> DatabaseAddress:
        """Where the emulator connects for this endpoint, after ``--neon`` routing."""
        return endpoint.address().routed(self.routes)

    # ---------------------------------------------------------------- endpoints
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
            forbidden = DMS_UNSUPPORTED_PASSWORD_CHARACTERS.get(endpoint.engine_name, frozenset())
            if any(ch in forbidden for ch in str(params["Password"])):
                raise InvalidParameterValueException(
                    "The parameter Password contains at least one unsupported characters from "
                    f"following list : {''.join(sorted(forbidden, key=';+%'.find))}"
                )
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

    def create_endpoint(self, params: Params) -> Result:
        identifier = _check_identifier("EndpointIdentifier", _required(params, "EndpointIdentifier"))
        _required(params, "EndpointType")
        _required(params, "EngineName")
        if identifier in self.endpoints:
            raise ResourceAlreadyExistsFault(f"Endpoint {identifier} already exists.")
        arn = self._arn("endpoint", params.get("ResourceIdentifier") or _resource_id())
        endpoint = Endpoint(identifier=identifier, arn=arn, endpoint_type="", engine_name="")
        endpoint.kms_key_id = params.get("KmsKeyId")
        self._endpoint_fields(params, endpoint)
        self.endpoints[identifier] = endpoint
        self._tag(arn, params.get("Tags"))
        log.info("Endpoint %s created (%s %s)", identifier, endpoint.endpoint_type, endpoint.engine_name)
        return {"Endpoint": endpoint.to_api()}

    def modify_endpoint(self, params: Params) -> Result:
        endpoint = self._endpoint(_required(params, "EndpointArn"))
        new_id = params.get("EndpointIdentifier")
        if new_id is not None:
            new_id = _check_identifier("EndpointIdentifier", new_id)
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
        endpoint = self._endpoint(_required(params, "EndpointArn"))
        users = [t.identifier for t in self.tasks.values() if endpoint.arn in (t.source_arn, t.target_arn)]
        if users:
            raise InvalidResourceStateFault(
                f"Endpoint {endpoint.identifier} is used by replication task(s) {', '.join(users)}; "
                "delete them first."
            )
        del self.endpoints[endpoint.identifier]
        for key in [k for k in self.connections if k[1] == endpoint.arn]:
            del self.connections[key]
        self.tags.pop(endpoint.arn, None)
        endpoint.status = "deleting"
        return {"Endpoint": endpoint.to_api()}

    def describe_endpoints(self, params: Params) -> Result:
        filters = _filters(
            params,
            {
                "endpoint-arn": lambda e: e.arn,
                "endpoint-type": lambda e: e.endpoint_type,
                "endpoint-id": lambda e: e.identifier,
                "engine-name": lambda e: e.engine_name,
            },
        )
        items = _apply_filters(list(self.endpoints.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No endpoints found matching the filters.")
        page, marker = _page(params, items, _DESCRIBE_MAX)
        return _with_marker({"Endpoints": [e.to_api() for e in page]}, marker)

    # ----------------------------------------------------- replication instances
    def create_replication_instance(self, params: Params) -> Result:
        identifier = _check_identifier(
            "ReplicationInstanceIdentifier", _required(params, "ReplicationInstanceIdentifier")
        )
        instance_class = _required(params, "ReplicationInstanceClass")
        if any(i.identifier == identifier for i in self.instances.values()):
            raise ResourceAlreadyExistsFault(f"Replication instance {identifier} already exists.")
        arn = self._arn("rep", params.get("ResourceIdentifier") or _resource_id())
        instance = ReplicationInstance(
            identifier=identifier,
            arn=arn,
            instance_class=instance_class,
            allocated_storage=int(params.get("AllocatedStorage") or 50),
            engine_version=params.get("EngineVersion") or "3.5.4",
            multi_az=bool(params.get("MultiAZ", False)),
            publicly_accessible=bool(params.get("PubliclyAccessible", True)),
            availability_zone=params.get("AvailabilityZone") or f"{self.region}a",
        )
        self.instances[arn] = instance
        self._tag(arn, params.get("Tags"))
        return {"ReplicationInstance": instance.to_api(status="creating")}

    def describe_replication_instances(self, params: Params) -> Result:
        filters = _filters(
            params,
            {
                "replication-instance-arn": lambda i: i.arn,
                "replication-instance-id": lambda i: i.identifier,
                "replication-instance-class": lambda i: i.instance_class,
                "engine-version": lambda i: i.engine_version,
            },
        )
        items = _apply_filters(list(self.instances.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No replication instances found matching the filters.")
        page, marker = _page(params, items, _DESCRIBE_MAX)
        return _with_marker({"ReplicationInstances": [i.to_api() for i in page]}, marker)

    def delete_replication_instance(self, params: Params) -> Result:
        instance = self._instance(_required(params, "ReplicationInstanceArn"))
        users = [t.identifier for t in self.tasks.values() if t.instance_arn == instance.arn]
        if users:
            raise InvalidResourceStateFault(
                f"Replication instance {instance.identifier} is used by replication task(s) "
                f"{', '.join(users)}; delete them first."
            )
        del self.instances[instance.arn]
        for key in [k for k in self.connections if k[0] == instance.arn]:
            del self.connections[key]
        self.tags.pop(instance.arn, None)
        return {"ReplicationInstance": instance.to_api(status="deleting")}

    # -------------------------------------------------------------- connections
    def test_connection(self, params: Params) -> Result:
        instance = self._instance(_required(params, "ReplicationInstanceArn"))
        endpoint = self._endpoint(_required(params, "EndpointArn"))
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
        filters = _filters(
            params,
            {
                "endpoint-arn": lambda c: c.endpoint_arn,
                "replication-instance-arn": lambda c: c.instance_arn,
            },
        )
        items = _apply_filters(list(self.connections.values()), filters)
        if filters and not items:
            raise ResourceNotFoundFault("No connections found matching the filters.")
        page, marker = _page(params, items, _DESCRIBE_MAX)
        return _with_marker({"Connections": [c.to_api() for c in page]}, marker)

    # -------------------------------------------------------------------- tasks
    def _validate_task_parts(self, params: Params, task: ReplicationTask | None) -> None:
        migration_type = params.get("MigrationType", task.migration_type if task else None)
        if migration_type not in MIGRATION_TYPES:
            raise InvalidParameterValueException(
                f"Invalid MigrationType {migration_type!r}; use one of {', '.join(MIGRATION_TYPES)}."
            )
        parse_table_mappings(params.get("TableMappings", task.table_mappings if task else None))
        parse_task_settings(params.get("ReplicationTaskSettings", task.settings if task else None))

    def create_replication_task(self, params: Params) -> Result:
        identifier = _check_identifier(
            "ReplicationTaskIdentifier", _required(params, "ReplicationTaskIdentifier")
        )
        source = self._endpoint(_required(params, "SourceEndpointArn"))
        target = self._endpoint(_required(params, "TargetEndpointArn"))
        instance = self._instance(_required(params, "ReplicationInstanceArn"))
        if source.endpoint_type != "source":
            raise InvalidParameterValueException(f"Endpoint {source.identifier} is not a source endpoint.")
        if target.endpoint_type != "target":
            raise InvalidParameterValueException(f"Endpoint {target.identifier} is not a target endpoint.")
        _required(params, "TableMappings")
        self._validate_task_parts(params, None)
        if any(t.identifier == identifier for t in self.tasks.values()):
            raise ResourceAlreadyExistsFault(f"Replication task {identifier} already exists.")
        _, settings_text = parse_task_settings(params.get("ReplicationTaskSettings"))
        arn = self._arn("task", params.get("ResourceIdentifier") or _resource_id())
        task = ReplicationTask(
            identifier=identifier,
            arn=arn,
            source_arn=source.arn,
            target_arn=target.arn,
            instance_arn=instance.arn,
            migration_type=params["MigrationType"],
            table_mappings=params["TableMappings"],
            settings=settings_text,
        )
        self.tasks[arn] = task
        self._tag(arn, params.get("Tags"))
        log.info("Replication task %s created", identifier)
        return {"ReplicationTask": task.to_api(status="creating")}

    def modify_replication_task(self, params: Params) -> Result:
        task = self._task(_required(params, "ReplicationTaskArn"))
        if task.status in _ACTIVE_TASK_STATES:
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; stop it before modifying it."
            )
        self._validate_task_parts(params, task)
        new_id = params.get("ReplicationTaskIdentifier")
        if new_id is not None:
            new_id = _check_identifier("ReplicationTaskIdentifier", new_id)
            if any(t.identifier == new_id and t is not task for t in self.tasks.values()):
                raise ResourceAlreadyExistsFault(f"Replication task {new_id} already exists.")
            task.identifier = new_id
        task.migration_type = params.get("MigrationType", task.migration_type)
        task.table_mappings = params.get("TableMappings", task.table_mappings)
        if "ReplicationTaskSettings" in params:
            task.settings = parse_task_settings(params["ReplicationTaskSettings"])[1]
        return {"ReplicationTask": task.to_api(status="modifying")}

    def start_replication_task(self, params: Params) -> Result:
        task = self._task(_required(params, "ReplicationTaskArn"))
        start_type = params.get("StartReplicationTaskType") or "start-replication"
        if start_type not in START_TYPES:
            raise InvalidParameterValueException(
                f"Invalid StartReplicationTaskType {start_type!r}; use one of {', '.join(START_TYPES)}."
            )
        if task.status in _ACTIVE_TASK_STATES:
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; it cannot be started again."
            )
        if start_type == "start-replication" and task.ever_started:
            raise InvalidParameterCombinationException(
                "Start Type : START_REPLICATION, valid only for tasks running for the first time. "
                "Use resume-processing or reload-target."
            )
        if start_type == "resume-processing" and not task.ever_started:
            raise InvalidParameterCombinationException(
                "Start Type : RESUME_PROCESSING, valid only for tasks that ran before and were stopped."
            )
        source = self._endpoint(task.source_arn)
        target = self._endpoint(task.target_arn)
        settings, _ = parse_task_settings(task.settings)
        job = TaskJob(
            task=task,
            lock=self.lock,
            source=self.address(source),
            target=self.address(target),
            mappings=parse_table_mappings(task.table_mappings),
            settings=settings,
        )
        # Shown as "starting" in this answer; stored as "running" at once so that botocore's
        # replication_task_stopped waiter, which fails on "starting", works right after this call.
        task.status = "running"
        task.ever_started = True
        task.stop_event.clear()
        task.stop_reason = ""
        task.last_failure = ""
        task.stop_date = None
        self.jobs[task.arn] = job
        self._spawn(f"task-{task.identifier}", lambda: job.run(start_type))
        log.info("Replication task %s starting (%s)", task.identifier, start_type)
        return {"ReplicationTask": task.to_api(status="starting")}

    def stop_replication_task(self, params: Params) -> Result:
        task = self._task(_required(params, "ReplicationTaskArn"))
        if task.status not in ("starting", "running"):
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; only a running task can be stopped."
            )
        task.status = "stopping"
        task.stop_event.set()
        return {"ReplicationTask": task.to_api()}

    def delete_replication_task(self, params: Params) -> Result:
        task = self._task(_required(params, "ReplicationTaskArn"))
        if task.status in _ACTIVE_TASK_STATES:
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; stop it before deleting it."
            )
        del self.tasks[task.arn]
        self.jobs.pop(task.arn, None)
        self.tags.pop(task.arn, None)
        return {"ReplicationTask": task.to_api(status="deleting")}

    def describe_replication_tasks(self, params: Params) -> Result:
        filters = _filters(
            params,
            {
                "replication-task-arn": lambda t: t.arn,
                "replication-task-id": lambda t: t.identifier,
                "migration-type": lambda t: t.migration_type,
                "endpoint-arn": lambda t: f"{t.source_arn} {t.target_arn}",
                "replication-instance-arn": lambda t: t.instance_arn,
            },
        )
        items = [
            t for t in self.tasks.values() if all(_task_matches(t, get, values) for get, values in filters)
        ]
        if filters and not items:
            raise ResourceNotFoundFault("No replication tasks found matching the filters.")
        page, marker = _page(params, items, _DESCRIBE_MAX)
        with_settings = not params.get("WithoutSettings", False)
        return _with_marker(
            {"ReplicationTasks": [t.to_api(with_settings=with_settings) for t in page]}, marker
        )

    def describe_table_statistics(self, params: Params) -> Result:
        task = self._task(_required(params, "ReplicationTaskArn"))
        filters = _filters(params, _TABLE_STATS_FILTERS)
        items = _apply_filters(list(task.tables.values()), filters)
        page, marker = _page(params, items, _TABLE_STATS_MAX)
        return _with_marker(
            {"ReplicationTaskArn": task.arn, "TableStatistics": [s.to_api() for s in page]}, marker
        )

    def reload_tables(self, params: Params) -> Result:
        task = self._task(_required(params, "ReplicationTaskArn"))
        tables = params.get("TablesToReload") or []
        option = params.get("ReloadOption") or "data-reload"
        if option not in RELOAD_OPTIONS:
            raise InvalidParameterValueException(
                f"Invalid ReloadOption {option!r}; use one of {', '.join(RELOAD_OPTIONS)}."
            )
        if task.status != "running":
            raise InvalidResourceStateFault(
                f"Replication task {task.identifier} is {task.status}; tables can be reloaded only "
                "while the task is running."
            )
        if not tables:
            raise InvalidParameterValueException("TablesToReload must name at least one table.")
        if len(tables) > 10:
            raise InvalidParameterValueException(
                f"TablesToReload names {len(tables)} tables; at most 10 can be reloaded in one call."
            )
        keys = [(str(t.get("SchemaName")), str(t.get("TableName"))) for t in tables]
        if len(set(keys)) != len(keys):
            raise InvalidParameterValueException("TablesToReload names the same table more than once.")
        missing = [f"{s}.{t}" for s, t in keys if (s, t) not in task.tables]
        if missing:
            raise InvalidParameterValueException(
                f"Table(s) {', '.join(missing)} are not part of replication task {task.identifier}."
            )
        job = self.jobs[task.arn]
        if option == "validate-only":
            if not job.settings.validation:
                raise InvalidParameterCombinationException(
                    f"Replication task {task.identifier} does not have validation enabled."
                )
            for key in keys:
                task.tables[key].validation_state = "Pending revalidation"
            self._spawn(f"revalidate-{task.identifier}", lambda: job.revalidate(keys))
        else:
            for key in keys:
                task.tables[key].state = "Table is being reloaded"
            self._spawn(f"reload-{task.identifier}", lambda: job.reload(keys))
        log.info("Replication task %s: %s of %d table(s)", task.identifier, option, len(keys))
        return {"ReplicationTaskArn": task.arn}

    # --------------------------------------------------------------------- tags
    def _known_arn(self, arn: str) -> None:
        known = {e.arn for e in self.endpoints.values()} | set(self.instances) | set(self.tasks)
        if arn not in known:
            raise ResourceNotFoundFault(f"Resource {arn} not found.")

    def add_tags_to_resource(self, params: Params) -> Result:
        arn = _required(params, "ResourceArn")
        self._known_arn(arn)
        self._tag(arn, params.get("Tags") or [])
        return {}

    def remove_tags_from_resource(self, params: Params) -> Result:
        arn = _required(params, "ResourceArn")
        self._known_arn(arn)
        for key in params.get("TagKeys") or []:
            self.tags.get(arn, {}).pop(key, None)
        return {}

    def list_tags_for_resource(self, params: Params) -> Result:
        arns = list(params.get("ResourceArnList") or [])
        if params.get("ResourceArn"):
            arns.insert(0, params["ResourceArn"])
        if not arns:
            raise InvalidParameterValueException("Give ResourceArn or ResourceArnList.")
        tag_list = []
        for arn in arns:
            self._known_arn(arn)
            for key, value in self.tags.get(arn, {}).items():
                tag_list.append({"Key": key, "Value": value, "ResourceArn": arn})
        return {"TagList": tag_list}


def _task_matches(task: ReplicationTask, get: Callable[[Any], Any], values: set[str]) -> bool:
    value = str(get(task))
    return value in values or any(part in values for part in value.split(" "))


def _with_marker(result: Result, marker: str | None) -> Result:
    if marker:
        result["Marker"] = marker
    return result


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


#: The DMS operations the emulator serves (everything else answers UnknownOperationException).
OPERATIONS = frozenset(
    {
        "CreateEndpoint", "ModifyEndpoint", "DeleteEndpoint", "DescribeEndpoints",
        "CreateReplicationInstance", "DescribeReplicationInstances", "DeleteReplicationInstance",
        "TestConnection", "DescribeConnections",
        "CreateReplicationTask", "ModifyReplicationTask", "StartReplicationTask",
        "StopReplicationTask", "DeleteReplicationTask", "DescribeReplicationTasks",
        "DescribeTableStatistics", "ReloadTables",
        "AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource",
    }
)  # fmt: skip


def dumps(result: Result) -> str:
    """The JSON body of a response."""
    return json.dumps(result)

"""The emulator's DMS resources and how each is shown in an API response.

Timestamps are epoch seconds (the awsJson wire form). No ``to_api`` ever includes a password.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_neon_dms.local.databases import DatabaseAddress

#: Settings blocks of CreateEndpoint that are returned as given, minus any password in them.
ENDPOINT_SETTINGS_KEYS = (
    "PostgreSQLSettings",
    "MySQLSettings",
    "OracleSettings",
    "MicrosoftSQLServerSettings",
    "SybaseSettings",
    "IBMDb2Settings",
    "RedshiftSettings",
    "DocDbSettings",
    "MongoDbSettings",
    "S3Settings",
    "DmsTransferSettings",
    "DynamoDbSettings",
    "KinesisSettings",
    "KafkaSettings",
    "ElasticsearchSettings",
    "NeptuneSettings",
    "RedisSettings",
    "GcpMySQLSettings",
    "TimestreamSettings",
)
_SECRET_KEYS = frozenset({"Password", "SaslPassword", "SslClientKeyPassword", "AuthPassword"})


def _without_secrets(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in _SECRET_KEYS}


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


@dataclass
class Endpoint:
    """A DMS endpoint; the password is kept to connect and never shown."""

    identifier: str
    arn: str
    endpoint_type: str
    engine_name: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    server_name: str | None = None
    port: int | None = None
    database_name: str | None = None
    ssl_mode: str = "none"
    extra_connection_attributes: str | None = None
    certificate_arn: str | None = None
    kms_key_id: str | None = None
    external_id: str = ""
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "active"

    def address(self) -> DatabaseAddress:
        return DatabaseAddress(
            engine=self.engine_name,
            host=self.server_name or "",
            port=int(self.port or (5432 if "postgres" in self.engine_name else 3306)),
            user=self.username or "",
            password=self.password or "",
            database=self.database_name or "",
            ssl_mode=self.ssl_mode,
        )

    def to_api(self) -> dict[str, Any]:
        out = _compact(
            {
                "EndpointIdentifier": self.identifier,
                "EndpointType": self.endpoint_type.upper(),
                "EngineName": self.engine_name,
                "EngineDisplayName": ENGINE_DISPLAY_NAMES.get(self.engine_name, self.engine_name),
                "Username": self.username,
                "ServerName": self.server_name,
                "Port": self.port,
                "DatabaseName": self.database_name,
                "ExtraConnectionAttributes": self.extra_connection_attributes,
                "Status": self.status,
                "KmsKeyId": self.kms_key_id,
                "EndpointArn": self.arn,
                "CertificateArn": self.certificate_arn,
                "SslMode": self.ssl_mode,
                "ExternalId": self.external_id or None,
            }
        )
        for key, value in self.settings.items():
            out[key] = _without_secrets(value)
        return out


class ResourceObserver(Protocol):
    """Told of every status change and task log line (events and task logs record them)."""

    def status_changed(self, resource: Any, old: str, new: str) -> None: ...

    def task_log(self, task: ReplicationTask, component: str, severity: str, text: str) -> None: ...


class _Observed:
    """Calls ``observer.status_changed`` whenever ``status`` changes, wherever it is set."""

    observer: ResourceObserver | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get(name) if name == "status" else None
        super().__setattr__(name, value)
        if old is not None and old != value and self.observer is not None:
            self.observer.status_changed(self, old, value)


ENGINE_DISPLAY_NAMES = {
    "postgres": "PostgreSQL",
    "aurora-postgresql": "Amazon Aurora PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "aurora": "Amazon Aurora MySQL",
}


@dataclass
class ReplicationInstance(_Observed):
    """A replication instance: the emulator process itself does the work, so it is always ready."""

    identifier: str
    arn: str
    instance_class: str
    allocated_storage: int = 50
    engine_version: str = "3.5.4"
    multi_az: bool = False
    publicly_accessible: bool = True
    availability_zone: str = ""
    created: float = field(default_factory=time.time)
    status: str = "available"

    def to_api(self, status: str | None = None) -> dict[str, Any]:
        return {
            "ReplicationInstanceIdentifier": self.identifier,
            "ReplicationInstanceClass": self.instance_class,
            "ReplicationInstanceStatus": status or self.status,
            "AllocatedStorage": self.allocated_storage,
            "InstanceCreateTime": self.created,
            "VpcSecurityGroups": [],
            "AvailabilityZone": self.availability_zone,
            "PendingModifiedValues": {},
            "MultiAZ": self.multi_az,
            "EngineVersion": self.engine_version,
            "AutoMinorVersionUpgrade": True,
            "ReplicationInstanceArn": self.arn,
            "ReplicationInstancePrivateIpAddress": "127.0.0.1",
            "ReplicationInstancePrivateIpAddresses": ["127.0.0.1"],
            "ReplicationInstancePublicIpAddresses": [],
            "ReplicationInstanceIpv6Addresses": [],
            "PubliclyAccessible": self.publicly_accessible,
            "NetworkType": "IPV4",
        }


@dataclass
class Connection:
    """The result of TestConnection for one (instance, endpoint) pair."""

    instance_arn: str
    endpoint_arn: str
    instance_id: str
    endpoint_id: str
    status: str = "testing"
    last_failure: str = ""

    def to_api(self) -> dict[str, Any]:
        return _compact(
            {
                "ReplicationInstanceArn": self.instance_arn,
                "EndpointArn": self.endpoint_arn,
                "Status": self.status,
                "LastFailureMessage": self.last_failure or None,
                "EndpointIdentifier": self.endpoint_id,
                "ReplicationInstanceIdentifier": self.instance_id,
            }
        )


@dataclass
class TableStats:
    """DescribeTableStatistics for one table of a task."""

    schema: str
    table: str
    state: str = "Before load"
    full_load_rows: int = 0
    error_rows: int = 0
    start_time: float | None = None
    end_time: float | None = None
    reloaded: bool = False
    last_update: float = field(default_factory=time.time)
    validation_state: str = "Not enabled"
    validation_failed: int = 0
    validation_pending: int = 0
    validation_details: str = ""

    def to_api(self) -> dict[str, Any]:
        return _compact(
            {
                "SchemaName": self.schema,
                "TableName": self.table,
                "Inserts": 0,
                "Deletes": 0,
                "Updates": 0,
                "Ddls": 0,
                "AppliedInserts": 0,
                "AppliedDeletes": 0,
                "AppliedUpdates": 0,
                "AppliedDdls": 0,
                "FullLoadRows": self.full_load_rows,
                "FullLoadCondtnlChkFailedRows": 0,
                "FullLoadErrorRows": self.error_rows,
                "FullLoadStartTime": self.start_time,
                "FullLoadEndTime": self.end_time,
                "FullLoadReloaded": self.reloaded,
                "LastUpdateTime": self.last_update,
                "TableState": self.state,
                "ValidationPendingRecords": self.validation_pending,
                "ValidationFailedRecords": self.validation_failed,
                "ValidationSuspendedRecords": 0,
                "ValidationState": self.validation_state,
                "ValidationStateDetails": self.validation_details or None,
            }
        )


@dataclass
class ReplicationTask(_Observed):
    """A replication task, its statistics and the thread that runs it."""

    identifier: str
    arn: str
    source_arn: str
    target_arn: str
    instance_arn: str
    migration_type: str
    table_mappings: str
    settings: str
    status: str = "ready"
    last_failure: str = ""
    stop_reason: str = ""
    created: float = field(default_factory=time.time)
    fresh_start: float | None = None
    start_date: float | None = None
    stop_date: float | None = None
    full_load_start: float | None = None
    full_load_finish: float | None = None
    ever_started: bool = False
    #: While ``creating``: when the task becomes ``ready`` (epoch seconds).
    ready_at: float | None = None
    tables: dict[tuple[str, str], TableStats] = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def note(self, component: str, severity: str, text: str) -> None:
        """One line of the task's log (``component`` e.g. TASK_MANAGER, ``severity`` I/W/E)."""
        if self.observer is not None:
            self.observer.task_log(self, component, severity, text)

    def settle(self) -> None:
        """``creating`` -> ``ready`` once ``ready_at`` has passed."""
        if self.status == "creating" and (self.ready_at is None or time.time() >= self.ready_at):
            self.status = "ready"
            self.ready_at = None

    def stats(self) -> dict[str, Any]:
        states = [t.state for t in self.tables.values()]
        total = len(states)
        loaded = sum(s == "Table completed" for s in states)
        errored = sum(s == "Table error" for s in states)
        loading = sum(s in ("Full load", "Table is being reloaded") for s in states)
        queued = sum(s == "Before load" for s in states)
        done = loaded + errored
        end = self.stop_date if self.status in ("stopped", "failed") and self.stop_date else time.time()
        return _compact(
            {
                "FullLoadProgressPercent": int(100 * done / total) if total else 0,
                "ElapsedTimeMillis": int(1000 * (end - self.start_date)) if self.start_date else 0,
                "TablesLoaded": loaded,
                "TablesLoading": loading,
                "TablesQueued": queued,
                "TablesErrored": errored,
                "FreshStartDate": self.fresh_start,
                "StartDate": self.start_date,
                "StopDate": self.stop_date,
                "FullLoadStartDate": self.full_load_start,
                "FullLoadFinishDate": self.full_load_finish,
            }
        )

    def to_api(self, *, with_settings: bool = True, status: str | None = None) -> dict[str, Any]:
        out = _compact(
            {
                "ReplicationTaskIdentifier": self.identifier,
                "SourceEndpointArn": self.source_arn,
                "TargetEndpointArn": self.target_arn,
                "ReplicationInstanceArn": self.instance_arn,
                "MigrationType": self.migration_type,
                "TableMappings": self.table_mappings if with_settings else None,
                "ReplicationTaskSettings": self.settings if with_settings else None,
                "Status": status or self.status,
                "LastFailureMessage": self.last_failure or None,
                "StopReason": self.stop_reason or None,
                "ReplicationTaskCreationDate": self.created,
                "ReplicationTaskStartDate": self.start_date,
                "ReplicationTaskArn": self.arn,
            }
        )
        out["ReplicationTaskStats"] = self.stats()
        return out

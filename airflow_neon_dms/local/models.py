"""The emulator's DMS resources and how each is shown in an API response.

Timestamps are epoch seconds (the awsJson wire form). No ``to_api`` ever includes a password.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from airflow_neon_dms.local.databases import DatabaseAddress
from airflow_neon_dms.local.endpoint_rules import missing_to_connect

if TYPE_CHECKING:
    from airflow_neon_dms.local.task_metrics import TaskMetrics

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
    #: While ``deleting``: when the endpoint is gone (epoch seconds).
    gone_at: float | None = None

    def connection_fields(self) -> dict[str, Any]:
        """The connection fields by their CreateEndpoint names (the password included)."""
        return {
            "ServerName": self.server_name,
            "Port": self.port,
            "Username": self.username,
            "Password": self.password,
            "DatabaseName": self.database_name,
        }

    def address(self) -> DatabaseAddress:
        return DatabaseAddress(
            engine=self.engine_name,
            host=self.server_name or "",
            port=int(self.port or (5432 if "postgres" in self.engine_name else 3306)),
            user=self.username or "",
            password=self.password or "",
            database=self.database_name or "",
            ssl_mode=self.ssl_mode,
            problem=missing_to_connect(self.engine_name, self.connection_fields(), self.settings) or "",
            slot_name=str(self.settings.get("PostgreSQLSettings", {}).get("SlotName") or ""),
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
    """Told of every status change and task log line (events and task logs record them); gives a
    task its CloudWatch metrics publisher."""

    def status_changed(self, resource: Any, old: str, new: str) -> None: ...

    def task_log(self, task: ReplicationTask, component: str, severity: str, text: str) -> None: ...

    def task_metrics(self, task: ReplicationTask) -> TaskMetrics | None: ...


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
    security_groups: list[str] = field(default_factory=list)
    subnet_group: dict[str, Any] | None = None
    auto_minor_version_upgrade: bool = True
    preferred_maintenance_window: str = "sun:06:00-sun:06:30"
    #: Changes a ModifyReplicationInstance without ApplyImmediately leaves for the maintenance window.
    pending: dict[str, Any] = field(default_factory=dict)
    #: While ``modifying`` or ``deleting``: when that state ends (epoch seconds).
    state_until: float | None = None

    def to_api(self, status: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ReplicationInstanceIdentifier": self.identifier,
            "ReplicationInstanceClass": self.instance_class,
            "ReplicationInstanceStatus": status or self.status,
            "AllocatedStorage": self.allocated_storage,
            "InstanceCreateTime": self.created,
            # AWS reports each group of VpcSecurityGroupIds with its status (botocore's
            # VpcSecurityGroupMembership); the emulator has no VPC, so every group is active.
            "VpcSecurityGroups": [
                {"VpcSecurityGroupId": group, "Status": "active"} for group in self.security_groups
            ],
            "AvailabilityZone": self.availability_zone,
            "PendingModifiedValues": dict(self.pending),
            "PreferredMaintenanceWindow": self.preferred_maintenance_window,
            "MultiAZ": self.multi_az,
            "EngineVersion": self.engine_version,
            "AutoMinorVersionUpgrade": self.auto_minor_version_upgrade,
            "ReplicationInstanceArn": self.arn,
            "ReplicationInstancePrivateIpAddress": "127.0.0.1",
            "ReplicationInstancePrivateIpAddresses": ["127.0.0.1"],
            "ReplicationInstancePublicIpAddresses": [],
            "ReplicationInstanceIpv6Addresses": [],
            "PubliclyAccessible": self.publicly_accessible,
            "NetworkType": "IPV4",
        }
        if self.subnet_group is not None:
            out["ReplicationSubnetGroup"] = self.subnet_group
        return out


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
class CdcProgress:
    """A running CDC task's numbers, as the metrics sampler last read them (every metrics period).

    They are what AWS DMS publishes as CloudWatch metrics (DMS user guide, "Replication task
    metrics"): ``CDCLatencySource`` is the gap in seconds between the last event captured from
    the source and the replication instance's clock; ``CDCLatencyTarget`` the gap between the
    first event waiting to commit on the target and that clock; ``CDCIncomingChanges`` the change
    events waiting to be applied at that moment (cached during a full load, or read and not yet
    committed). All are 0 while the task has caught up (see ``cdc_capture._CaptureBase._reading``).
    """

    source_latency_seconds: float = 0.0
    target_latency_seconds: float = 0.0
    incoming_changes: int = 0
    #: Changes committed on the target since the task started (all tables).
    applied_changes: int = 0
    #: When these numbers were last updated (epoch seconds).
    updated_at: float = field(default_factory=time.time)


CHANGE_COUNTERS = (
    "Inserts",
    "Deletes",
    "Updates",
    "Ddls",
    "AppliedInserts",
    "AppliedDeletes",
    "AppliedUpdates",
    "AppliedDdls",
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

    def to_api(self, changes: dict[str, int] | None = None) -> dict[str, Any]:
        """The TableStatistics shape; ``changes`` holds the CDC counters (botocore's names)."""
        counters = {name: (changes or {}).get(name, 0) for name in CHANGE_COUNTERS}
        return _compact(
            {
                "SchemaName": self.schema,
                "TableName": self.table,
                **counters,
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
    #: When StartReplicationTask was last called: ReplicationTaskStartDate, "the date the
    #: replication task is scheduled to start" (botocore). Stats StartDate/FreshStartDate are set
    #: when the task really begins running.
    scheduled_start: float | None = None
    #: While ``creating``: when the task becomes ``ready``; while ``deleting``: when it is gone.
    ready_at: float | None = None
    gone_at: float | None = None
    #: While ``starting``: when the task's thread begins to run it (epoch seconds).
    running_at: float | None = None
    tables: dict[tuple[str, str], TableStats] = field(default_factory=dict)
    #: CDC: the CdcStopPosition the task stops at (botocore ReplicationTask.CdcStopPosition) and
    #: the CdcStartPosition/CdcStartTime of the next start.
    cdc_stop_position: str = ""
    cdc_start_position: str = ""
    cdc_start_time: str = ""
    #: CDC: the last applied source position (botocore ReplicationTask.RecoveryCheckpoint).
    recovery_checkpoint: str = ""
    #: CDC: the task's replication slot on a PostgreSQL source (dropped with the task).
    slot_name: str = ""
    #: CDC: where a binlog reader starts when nothing was applied yet (MySQL sources).
    binlog_start: str = ""
    #: CDC: per-table change counters (``cdc.stats.ChangeStatistics``) and the live numbers.
    change_counts: Any = None
    cdc_progress: CdcProgress | None = None
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def note(self, component: str, severity: str, text: str) -> None:
        """One line of the task's log (``component`` e.g. TASK_MANAGER, ``severity`` I/W/E)."""
        if self.observer is not None:
            self.observer.task_log(self, component, severity, text)

    def table_changes(self, key: tuple[str, str]) -> dict[str, int] | None:
        """The table's CDC counters as TableStatistics members (None before any capture)."""
        counts = self.change_counts
        return counts.table(key).as_table_statistics() if counts is not None else None

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
                "ReplicationTaskStartDate": self.scheduled_start,
                "CdcStartPosition": self.cdc_start_position or None,
                "CdcStopPosition": self.cdc_stop_position or None,
                "RecoveryCheckpoint": self.recovery_checkpoint or None,
                "ReplicationTaskArn": self.arn,
            }
        )
        out["ReplicationTaskStats"] = self.stats()
        return out


@dataclass
class SubnetGroup:
    """A replication subnet group and how DescribeReplicationSubnetGroups shows it."""

    identifier: str
    description: str
    subnet_ids: list[str]
    region: str
    tags: dict[str, str] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        digest = hashlib.sha256(",".join(sorted(self.subnet_ids)).encode()).hexdigest()
        return {
            "ReplicationSubnetGroupIdentifier": self.identifier,
            "ReplicationSubnetGroupDescription": self.description,
            "VpcId": f"vpc-{digest[:17]}",
            "SubnetGroupStatus": "Complete",
            "Subnets": [
                {
                    "SubnetIdentifier": subnet,
                    "SubnetAvailabilityZone": {"Name": f"{self.region}{'abc'[i % 3]}"},
                    "SubnetStatus": "Active",
                }
                for i, subnet in enumerate(self.subnet_ids)
            ],
            "SupportedNetworkTypes": ["IPV4"],
        }

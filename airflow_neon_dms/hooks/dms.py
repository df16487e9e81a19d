"""NeonDmsHook: the DMS calls the migration needs, built on the amazon provider's DmsHook."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from airflow.providers.amazon.aws.hooks.dms import DmsHook
from botocore.config import Config
from botocore.exceptions import ClientError

from airflow_neon_dms.dms.connection_test import RefusalKind, explain_refusal
from airflow_neon_dms.dms.paging import MarkerPages
from airflow_neon_dms.dms.reload_plan import is_temporary_identifier_of, is_temporary_task_of
from airflow_neon_dms.dms.replication_states import (
    MODIFIABLE_REPLICATION_STATUSES,
    REPLICATION_ACTIVE,
    ReplicationStatus,
    as_task_view,
    is_replication_config_arn,
    replication_start_type,
    startable_refusal,
)
from airflow_neon_dms.dms.states import (
    TASK_ACTIVE,
    TASK_SETTLING,
    ConnectionStatus,
    Outcome,
    StartType,
    TaskStatus,
    classify_startable,
    last_run_started,
    run_began_since,
    start_type_for,
)
from airflow_neon_dms.dms.table_names import TableRef
from airflow_neon_dms.exceptions import DmsResourceError, DmsResourceNotFoundError, NeonConfigError
from airflow_neon_dms.hooks.async_client import AsyncClientWithoutBlockingMixin
from airflow_neon_dms.hooks.dms_assessment import AssessmentCalls

#: DescribeTableStatistics accepts 20..500 records a page; the maximum makes the fewest calls.
TABLE_STATISTICS_PAGE_SIZE = 500
#: ReloadTables accepts at most 10 tables a call.
RELOAD_BATCH_SIZE = 10
#: Endpoint fields DescribeEndpoints shows back; a difference in any of them means "modify".
COMPARED_ENDPOINT_FIELDS = (
    "EngineName",
    "ServerName",
    "Port",
    "DatabaseName",
    "Username",
    "SslMode",
    "CertificateArn",
)
#: Task fields that CreateReplicationTask sets and DescribeReplicationTasks shows back.
COMPARED_TASK_FIELDS = ("SourceEndpointArn", "TargetEndpointArn", "ReplicationInstanceArn", "MigrationType")
#: The error code of a Describe*/Delete* call on something that does not exist.
NOT_FOUND = "ResourceNotFoundFault"

T = TypeVar("T")


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _or_none(call: Callable[..., T], **kwargs: Any) -> T | None:
    """``call(**kwargs)``, or None when DMS answers ResourceNotFoundFault (the thing is gone)."""
    try:
        return call(**kwargs)
    except ClientError as err:
        if _error_code(err) == NOT_FOUND:
            return None
        raise


async def _or_none_async(call: Awaitable[T]) -> T | None:
    """The awaited ``call``, or None when DMS answers ResourceNotFoundFault."""
    try:
        return await call
    except ClientError as err:
        if _error_code(err) == NOT_FOUND:
            return None
        raise


def endpoint_differences(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Names of the visible endpoint settings that differ (the password cannot be read back)."""
    diffs = []
    for name in COMPARED_ENDPOINT_FIELDS:
        if name in wanted and str(existing.get(name, "")).lower() != str(wanted[name]).lower():
            diffs.append(name)
    if (
        "EndpointType" in wanted
        and str(existing.get("EndpointType", "")).lower() != str(wanted["EndpointType"]).lower()
    ):
        diffs.append("EndpointType")
    return diffs


def batches(items: Sequence[Any], size: int) -> list[list[Any]]:
    """Split ``items`` into consecutive lists of at most ``size``."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _same_json(a: str | None, b: str | None) -> bool:
    try:
        return json.loads(a or "null") == json.loads(b or "null")
    except json.JSONDecodeError:
        return a == b


class NeonDmsHook(AsyncClientWithoutBlockingMixin, DmsHook, AssessmentCalls):
    """
    AWS DMS calls for a migration into Neon: idempotent endpoints and tasks, connection tests,
    paged table statistics, batched reloads and premigration assessment runs.

    Takes the amazon provider's ``aws_conn_id``, ``region_name``, ``verify`` and
    ``botocore_config``; an ``endpoint_url`` in the connection's extra points it at the local
    DMS emulator.
    """

    def __init__(self, *args: Any, botocore_config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if botocore_config and kwargs.get("config") is None:
            kwargs["config"] = Config(**dict(botocore_config))
        super().__init__(*args, **kwargs)

    # Endpoints -------------------------------------------------------------------------------

    def find_endpoint(self, identifier: str) -> dict[str, Any] | None:
        """The endpoint named ``identifier``, or None."""
        found = _or_none(
            self.conn.describe_endpoints, Filters=[{"Name": "endpoint-id", "Values": [identifier]}]
        )
        for endpoint in (found or {}).get("Endpoints", []):
            if endpoint.get("EndpointIdentifier", "").lower() == identifier.lower():
                return dict(endpoint)
        return None

    def ensure_endpoint(
        self,
        identifier: str,
        settings: Mapping[str, Any],
        tags: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """Create the endpoint, or reuse the one with this identifier, modifying it if it differs.

        DMS never shows a password back, so the endpoint carries a salted scrypt fingerprint of
        the password it was given (tag :data:`~airflow_neon_dms.dms.password_fingerprint.TAG_KEY`).
        When the password in ``settings`` does not match it (rotated, or an endpoint made
        elsewhere), the settings and the password are sent again (ModifyEndpoint) and the tag is
        rewritten. Returns ``(endpoint_arn, action)`` with action ``created``, ``reused`` or
        ``modified``.
        """
        from airflow_neon_dms.dms.password_fingerprint import TAG_KEY, password_fingerprint

        password = settings.get("Password")
        fingerprint = {TAG_KEY: password_fingerprint(str(password))} if password else {}
        existing = self.find_endpoint(identifier)
        if existing is None:
            kwargs = dict(settings)
            all_tags = {**dict(tags or {}), **fingerprint}
            if all_tags:
                kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in all_tags.items()]
            try:
                created = self.conn.create_endpoint(EndpointIdentifier=identifier, **kwargs)
            except ClientError as err:
                if _error_code(err) != "ResourceAlreadyExistsFault":
                    raise
                existing = self.find_endpoint(identifier)
                if existing is None:
                    raise
            else:
                return str(created["Endpoint"]["EndpointArn"]), "created"
        arn = str(existing["EndpointArn"])
        diffs = endpoint_differences(existing, settings)
        if password and not self._password_matches(arn, str(password)):
            diffs.append("Password")
        if not diffs:
            return arn, "reused"
        if "EndpointType" in diffs:
            raise DmsResourceError(
                f"Endpoint {identifier} exists as a {existing.get('EndpointType', '?').lower()} "
                f"endpoint, not a {settings['EndpointType']} one. Choose another endpoint identifier."
            )
        self.log.info("Endpoint %s differs in %s; modifying it", identifier, ", ".join(diffs))
        self.conn.modify_endpoint(EndpointArn=arn, **dict(settings))
        if fingerprint:
            # After the modify: a failed modify leaves the old tag, so the next run sends again.
            self.conn.add_tags_to_resource(
                ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in fingerprint.items()]
            )
        return arn, "modified"

    def _password_matches(self, endpoint_arn: str, password: str) -> bool:
        """True when the endpoint's fingerprint tag was made from ``password``."""
        from airflow_neon_dms.dms.password_fingerprint import TAG_KEY, fingerprint_matches

        tag_list = (_or_none(self.conn.list_tags_for_resource, ResourceArn=endpoint_arn) or {}).get(
            "TagList", []
        )
        stored = next((str(t.get("Value")) for t in tag_list if t.get("Key") == TAG_KEY), None)
        return fingerprint_matches(stored, password)

    def describe_endpoint(self, endpoint_arn: str) -> dict[str, Any] | None:
        """The endpoint with this ARN, or None."""
        found = _or_none(
            self.conn.describe_endpoints, Filters=[{"Name": "endpoint-arn", "Values": [endpoint_arn]}]
        )
        endpoints = [e for e in (found or {}).get("Endpoints", []) if e.get("EndpointArn") == endpoint_arn]
        return dict(endpoints[0]) if endpoints else None

    def resolve_replication_instance_arn(self, instance: str) -> str:
        """The ARN of a replication instance given by ARN or by identifier; raise when unknown."""
        value = (instance or "").strip()
        if not value:
            raise NeonConfigError(
                "No replication instance given. Pass the ARN (arn:aws:dms:<region>:<account>:rep:<id>) "
                "or the identifier of the DMS replication instance that runs the migration."
            )
        if value.startswith("arn:"):
            if self.describe_replication_instance(value) is None:
                raise DmsResourceNotFoundError(
                    f"Replication instance {value} does not exist in region {self.conn_region_name}. "
                    "Pass the ARN or identifier of an existing instance (DMS console: Replication "
                    "instances) and trigger a new run."
                )
            return value
        found = _or_none(
            self.conn.describe_replication_instances,
            Filters=[{"Name": "replication-instance-id", "Values": [value]}],
        )
        for item in (found or {}).get("ReplicationInstances", []):
            if item.get("ReplicationInstanceIdentifier") == value:
                return str(item["ReplicationInstanceArn"])
        raise NeonConfigError(
            f"Replication instance {value!r} does not exist in region {self.conn_region_name}. Create it "
            "(DMS console: Replication instances) or pass the ARN of an existing one."
        )

    def describe_replication_instance(self, replication_instance_arn: str) -> dict[str, Any] | None:
        """The replication instance with this ARN, or None."""
        found = _or_none(
            self.conn.describe_replication_instances,
            Filters=[{"Name": "replication-instance-arn", "Values": [replication_instance_arn]}],
        )
        for instance in (found or {}).get("ReplicationInstances", []):
            if instance.get("ReplicationInstanceArn") == replication_instance_arn:
                return dict(instance)
        return None

    def replication_instance_id(self, replication_instance_arn: str) -> str | None:
        """The identifier (name) of a replication instance, which names its CloudWatch log group."""
        instance = self.describe_replication_instance(replication_instance_arn)
        return str(instance.get("ReplicationInstanceIdentifier")) if instance else None

    # Connection tests ------------------------------------------------------------------------

    def test_connection_start(
        self,
        replication_instance_arn: str,
        endpoint_arn: str,
        *,
        instance_wait: float = 900,
        delay: float = 15,
    ) -> dict[str, Any]:
        """Start TestConnection and return the pair's connection record as the call left it.

        When DMS refuses (InvalidResourceStateFault), a test of the pair already running is adopted
        (its record, ``testing``, is returned); a replication instance that is on its way back to
        ``available`` (modifying, rebooting, ...) is waited for up to ``instance_wait`` seconds and
        the test started then; anything else raises with the reason. A recorded result is never
        returned in place of a test: see :class:`~airflow_neon_dms.dms.connection_test.FreshResult`.
        """
        deadline = time.monotonic() + instance_wait
        while True:
            try:
                response = self.conn.test_connection(
                    ReplicationInstanceArn=replication_instance_arn, EndpointArn=endpoint_arn
                )
            except ClientError as err:
                if _error_code(err) != "InvalidResourceStateFault":
                    raise
                connection = self.describe_connection(replication_instance_arn, endpoint_arn)
                refusal = explain_refusal(
                    connection,
                    self.describe_replication_instance(replication_instance_arn),
                    replication_instance_arn,
                    str(err.response.get("Error", {}).get("Message", err)),
                )
            else:
                return dict(response.get("Connection", {}))
            if refusal.kind == RefusalKind.TEST_RUNNING:
                self.log.info("%s Waiting for its result.", refusal.message)
                return dict(connection or {"Status": ConnectionStatus.TESTING.value})
            if refusal.kind == RefusalKind.REFUSED:
                raise DmsResourceError(
                    f"Connection test to endpoint {endpoint_arn} cannot start: {refusal.message}"
                )
            if time.monotonic() >= deadline:
                raise DmsResourceError(
                    f"Connection test to endpoint {endpoint_arn} cannot start: {refusal.message} It did not "
                    f"become available within {instance_wait:.0f} s. Raise instance_wait, or check the "
                    "instance in the DMS console."
                )
            self.log.info("%s Waiting for it before testing the connection.", refusal.message)
            time.sleep(delay)

    def describe_connection(self, replication_instance_arn: str, endpoint_arn: str) -> dict[str, Any] | None:
        """The latest connection test result for an instance and endpoint, or None."""
        response = _or_none(
            self.conn.describe_connections, Filters=connection_filters(replication_instance_arn, endpoint_arn)
        )
        return pick_connection(
            (response or {}).get("Connections", []), replication_instance_arn, endpoint_arn
        )

    async def describe_connection_async(
        self, replication_instance_arn: str, endpoint_arn: str
    ) -> dict[str, Any] | None:
        """Async :meth:`describe_connection` for triggers."""
        async with await self.get_async_conn() as client:
            response = await _or_none_async(
                client.describe_connections(
                    Filters=connection_filters(replication_instance_arn, endpoint_arn)
                )
            )
        return pick_connection(
            (response or {}).get("Connections", []), replication_instance_arn, endpoint_arn
        )

    # Tasks -----------------------------------------------------------------------------------

    def find_task(self, identifier: str, *, with_settings: bool = False) -> dict[str, Any] | None:
        """The replication task named ``identifier``, or None."""
        found = _or_none(
            self.describe_replication_tasks,
            Filters=[{"Name": "replication-task-id", "Values": [identifier]}],
            WithoutSettings=not with_settings,
        )
        for task in found[1] if found else []:
            if task.get("ReplicationTaskIdentifier", "").lower() == identifier.lower():
                return dict(task)
        return None

    def describe_task(self, task_arn: str, *, with_settings: bool = False) -> dict[str, Any]:
        """The replication task with this ARN; raises when it does not exist.

        A DMS Serverless replication config's ARN gives its replication in the task's shape
        (:meth:`replication_task_view`), so the CDC waits and the cutover judge either the same way.
        """
        if is_replication_config_arn(task_arn):
            return self.replication_task_view(task_arn, with_settings=with_settings)
        tasks = _or_none(
            self.find_replication_tasks_by_arn,
            replication_task_arn=task_arn,
            without_settings=not with_settings,
        )
        if not tasks:
            raise DmsResourceNotFoundError(
                f"Replication task {task_arn} does not exist. Create it first (NeonDmsCreateTaskOperator); "
                "when an earlier run created it, trigger a new run or clear the create step too."
            )
        return dict(tasks[0])

    async def describe_task_async(self, task_arn: str) -> dict[str, Any] | None:
        """Async describe of one task for triggers; None when it does not exist. A replication
        config's ARN gives its replication in the task's shape, as :meth:`describe_task` does."""
        if is_replication_config_arn(task_arn):
            replication = await self.describe_replication_async(task_arn)
            if replication is None:
                return None
            return {**as_task_view(replication), "ReplicationTaskArn": task_arn}
        async with await self.get_async_conn() as client:
            response = await _or_none_async(
                client.describe_replication_tasks(
                    Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}], WithoutSettings=True
                )
            )
        tasks = (response or {}).get("ReplicationTasks", [])
        return dict(tasks[0]) if tasks else None

    def ensure_task(
        self,
        identifier: str,
        *,
        source_endpoint_arn: str,
        target_endpoint_arn: str,
        replication_instance_arn: str,
        migration_type: str,
        table_mappings: str,
        task_settings: str,
        tags: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Create the replication task, or reuse the one with this identifier.

        A task whose mappings or settings differ is modified when DMS allows it (not running);
        one whose endpoints, instance or migration type differ cannot be changed and is an error.
        Returns ``(task_arn, action)``.
        """
        wanted = {
            "SourceEndpointArn": source_endpoint_arn,
            "TargetEndpointArn": target_endpoint_arn,
            "ReplicationInstanceArn": replication_instance_arn,
            "MigrationType": migration_type,
        }
        existing = self.find_task(identifier, with_settings=True)
        if existing is None:
            kwargs: dict[str, Any] = dict(extra or {})
            if tags:
                kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in tags.items()]
            try:
                created = self.conn.create_replication_task(
                    ReplicationTaskIdentifier=identifier,
                    TableMappings=table_mappings,
                    ReplicationTaskSettings=task_settings,
                    **wanted,
                    **kwargs,
                )
            except ClientError as err:
                if _error_code(err) != "ResourceAlreadyExistsFault":
                    raise
                existing = self.find_task(identifier, with_settings=True)
                if existing is None:
                    raise
            else:
                return str(created["ReplicationTask"]["ReplicationTaskArn"]), "created"
        arn = str(existing["ReplicationTaskArn"])
        fixed = [k for k in COMPARED_TASK_FIELDS if k != "MigrationType" and existing.get(k) != wanted[k]]
        if fixed:
            raise DmsResourceError(
                f"Replication task {identifier} exists with a different {', '.join(fixed)}. DMS cannot "
                "change these: delete the task or choose another task identifier."
            )
        changes: dict[str, Any] = {}
        if existing.get("MigrationType") != migration_type:
            changes["MigrationType"] = migration_type
        if not _same_json(existing.get("TableMappings"), table_mappings):
            changes["TableMappings"] = table_mappings
        if existing.get("ReplicationTaskSettings") is not None and not _settings_contain(
            existing.get("ReplicationTaskSettings"), task_settings
        ):
            changes["ReplicationTaskSettings"] = task_settings
        if not changes:
            return arn, "reused"
        status = str(existing.get("Status", ""))
        if status in TASK_ACTIVE:
            raise DmsResourceError(
                f"Replication task {identifier} is {status} and differs in {', '.join(changes)}; DMS "
                "cannot modify a running task. Stop it first, or wait for it to finish."
            )
        self.log.info("Replication task %s differs in %s; modifying it", identifier, ", ".join(changes))
        self.conn.modify_replication_task(ReplicationTaskArn=arn, **changes)
        return arn, "modified"

    def wait_until_settled(self, task_arn: str, *, timeout: float = 600, delay: float = 10) -> dict[str, Any]:
        """Poll until the task can be started (or already runs); raise when it cannot, or on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.describe_task(task_arn)
            verdict = classify_startable(task)
            if verdict.outcome == Outcome.SUCCESS:
                return task
            if str(task.get("Status") or "").lower() == TaskStatus.DELETING:  # no retry brings it back
                raise DmsResourceNotFoundError(
                    f"{verdict.message} Trigger a new DAG run, or clear the step that creates it "
                    "together with this one."
                )
            if verdict.outcome == Outcome.FAILED:
                raise DmsResourceError(f"{verdict.message} Create the task again (NeonDmsCreateTaskOperator)")
            if time.monotonic() >= deadline:
                raise DmsResourceError(
                    f"{verdict.message} It did not become startable within {timeout:.0f} s, so it was not "
                    "started. Raise settle_timeout, or check the task in the DMS console."
                )
            time.sleep(delay)

    def start_task(
        self,
        task_arn: str,
        start_type: StartType | str,
        *,
        started_since: datetime | None = None,
        settle_timeout: float = 600,
        settle_delay: float = 10,
    ) -> tuple[bool, dict[str, Any]]:
        """Start the task unless a run is already under way, or already began since ``started_since``.

        Returns ``(started, task)``; ``started`` is False when this call did not start a run, which
        is what makes a retried start idempotent. When the run began is read from
        ReplicationTaskStats (StartDate/FreshStartDate), not ReplicationTaskStartDate, which is
        only when a task is scheduled to start. The start type sent follows
        :func:`~airflow_neon_dms.dms.states.start_type_for`.
        """
        task = self.wait_until_settled(task_arn, timeout=settle_timeout, delay=settle_delay)
        status = str(task.get("Status", ""))
        if status in TASK_ACTIVE:
            self.log.info("Replication task %s is already %s; not starting it again", task_arn, status)
            return False, task
        if started_since is not None and run_began_since(task, started_since):
            self.log.info(
                "Replication task %s already started at %s, after %s; not starting it again",
                task_arn,
                last_run_started(task),
                started_since,
            )
            return False, task
        kind = start_type_for(task, start_type)
        self.start_replication_task(task_arn, kind.value)
        self.log.info("Started replication task %s (%s)", task_arn, kind.value)
        return True, self.describe_task(task_arn)

    def delete_task(
        self, task_arn: str, *, stop_timeout: float = 300, delay: float = 2, delete_timeout: float = 900
    ) -> None:
        """Delete a task, stopping it first if it runs, and wait until it is gone; gone is fine.

        DeleteReplicationTask is asynchronous: the task shows ``deleting`` until DMS has removed
        it. Like botocore's ``replication_task_deleted`` waiter, this polls DescribeReplicationTasks
        until it answers ResourceNotFoundFault, so the identifier can be used again; a task still
        there after ``delete_timeout`` seconds raises.
        """
        task = self.describe_task_or_none(task_arn)
        if task is None:
            return
        if task.get("Status") in (TaskStatus.RUNNING, TaskStatus.STARTING):
            _or_none(self.conn.stop_replication_task, ReplicationTaskArn=task_arn)
        deadline = time.monotonic() + stop_timeout
        while str(task.get("Status")) in TASK_ACTIVE | TASK_SETTLING and time.monotonic() < deadline:
            time.sleep(delay)
            task = self.describe_task_or_none(task_arn) or {}
            if not task:
                return
        if str(task.get("Status")) != TaskStatus.DELETING:
            _or_none(self.conn.delete_replication_task, ReplicationTaskArn=task_arn)
        deadline = time.monotonic() + delete_timeout
        while (task := self.describe_task_or_none(task_arn) or {}) and time.monotonic() < deadline:
            time.sleep(delay)
        if task:
            raise DmsResourceError(
                f"Replication task {task_arn} is still {task.get('Status')} {delete_timeout:.0f} s after "
                "DeleteReplicationTask. Check it in the DMS console and delete it there."
            )

    def describe_task_or_none(self, task_arn: str) -> dict[str, Any] | None:
        """The replication task with this ARN, or None when DMS no longer finds it."""
        tasks = _or_none(
            self.find_replication_tasks_by_arn, replication_task_arn=task_arn, without_settings=True
        )
        return dict(tasks[0]) if tasks else None

    def find_temporary_reload_tasks(self, task_arn: str, task_identifier: str) -> list[dict[str, Any]]:
        """Temporary reload tasks of ``task_arn`` that this provider left behind.

        A task counts when its identifier has the temporary form and its tags say it reloads
        ``task_arn`` for this provider; no other task is ever returned (see ``reload_plan``).
        """
        pages = MarkerPages("ReplicationTasks", WithoutSettings=True, MaxRecords=100)
        while (kwargs := pages.next_request()) is not None:
            pages.add(_or_none(self.conn.describe_replication_tasks, **kwargs) or {})
        return self._temporary_of(pages.records, "ReplicationTask", task_arn, task_identifier)

    def find_temporary_reload_configs(self, config_arn: str, config_identifier: str) -> list[dict[str, Any]]:
        """Temporary reload replication configs of ``config_arn`` this provider left behind (the
        serverless twin of :meth:`find_temporary_reload_tasks`, by the same identifier and tags)."""
        pages = MarkerPages("ReplicationConfigs", MaxRecords=100)
        while (kwargs := pages.next_request()) is not None:
            pages.add(_or_none(self.conn.describe_replication_configs, **kwargs) or {})
        return self._temporary_of(pages.records, "ReplicationConfig", config_arn, config_identifier)

    def _temporary_of(
        self, resources: Iterable[Mapping[str, Any]], kind: str, original_arn: str, original_identifier: str
    ) -> list[dict[str, Any]]:
        """Those of ``resources`` (``kind``: ReplicationTask or ReplicationConfig) named and tagged
        as a temporary reload of ``original_arn``."""
        found = []
        for resource in resources:
            identifier = str(resource.get(f"{kind}Identifier", ""))
            if not is_temporary_identifier_of(identifier, original_identifier):
                continue
            arn = str(resource.get(f"{kind}Arn", ""))
            tag_list = (_or_none(self.conn.list_tags_for_resource, ResourceArn=arn) or {}).get("TagList", [])
            if is_temporary_task_of({t["Key"]: t.get("Value", "") for t in tag_list}, original_arn):
                found.append(dict(resource))
        return found

    # Table statistics and reloads ------------------------------------------------------------

    # A replication task and a serverless replication (config) answer the same table statistics
    # and take the same reloads through different calls; these methods take either ARN and pick
    # the call by the ARN's resource type (see :class:`TableCalls`), so the validation report and
    # the selective reload have one code path for both.

    def table_statistics(
        self, task_arn: str, tables: Iterable[TableRef] | None = None
    ) -> list[dict[str, Any]]:
        """Every table's statistics of a task or a replication config, paged at 500 a call."""
        calls = TableCalls.for_arn(task_arn)
        pages = calls.statistics_pages(task_arn)
        while (kwargs := pages.next_request()) is not None:
            pages.add(getattr(self.conn, calls.statistics_call)(**kwargs))
        return select_tables(pages.records, tables)

    async def table_statistics_async(
        self, task_arn: str, tables: Iterable[TableRef] | None = None
    ) -> list[dict[str, Any]]:
        """Async :meth:`table_statistics` for triggers."""
        calls = TableCalls.for_arn(task_arn)
        pages = calls.statistics_pages(task_arn)
        async with await self.get_async_conn() as client:
            while (kwargs := pages.next_request()) is not None:
                pages.add(await getattr(client, calls.statistics_call)(**kwargs))
        return select_tables(pages.records, tables)

    def reload_tables(
        self, task_arn: str, tables: Sequence[TableRef], reload_option: str = "data-reload"
    ) -> int:
        """ReloadTables (or ReloadReplicationTables) in batches of 10; returns the calls made."""
        if reload_option not in ("data-reload", "validate-only"):
            raise NeonConfigError(f"ReloadOption {reload_option!r} is not one of data-reload, validate-only.")
        calls = TableCalls.for_arn(task_arn)
        unique = list(dict.fromkeys(tables))
        made = 0
        for batch in batches(unique, RELOAD_BATCH_SIZE):
            getattr(self.conn, calls.reload_call)(
                **{calls.arn_member: task_arn},
                TablesToReload=[{"SchemaName": t.schema, "TableName": t.table} for t in batch],
                ReloadOption=reload_option,
            )
            made += 1
        return made

    # DMS Serverless: replication configs and their replications ------------------------------

    def find_replication_config(self, identifier: str) -> dict[str, Any] | None:
        """The replication config named ``identifier``, or None."""
        found = _or_none(
            self.conn.describe_replication_configs,
            Filters=[{"Name": "replication-config-id", "Values": [identifier]}],
        )
        for config in (found or {}).get("ReplicationConfigs", []):
            if str(config.get("ReplicationConfigIdentifier", "")).lower() == identifier.lower():
                return dict(config)
        return None

    def describe_replication_config(self, config_arn: str) -> dict[str, Any] | None:
        """The replication config with this ARN, or None."""
        found = _or_none(
            self.conn.describe_replication_configs,
            Filters=[{"Name": "replication-config-arn", "Values": [config_arn]}],
        )
        configs = [
            c
            for c in (found or {}).get("ReplicationConfigs", [])
            if c.get("ReplicationConfigArn") == config_arn
        ]
        return dict(configs[0]) if configs else None

    def describe_replication(self, config_arn: str) -> dict[str, Any] | None:
        """The replication of this config (DescribeReplications), or None when the config is gone."""
        found = _or_none(self.conn.describe_replications, **replication_filter(config_arn))
        return pick_replication((found or {}).get("Replications", []), config_arn)

    async def describe_replication_async(self, config_arn: str) -> dict[str, Any] | None:
        """Async :meth:`describe_replication` for triggers."""
        async with await self.get_async_conn() as client:
            found = await _or_none_async(client.describe_replications(**replication_filter(config_arn)))
        return pick_replication((found or {}).get("Replications", []), config_arn)

    def require_replication(self, config_arn: str) -> dict[str, Any]:
        """The replication of this config; raise naming the fix when the config does not exist."""
        replication = self.describe_replication(config_arn)
        if replication is None:  # no retry can bring it back
            raise DmsResourceNotFoundError(
                f"Replication config {config_arn} does not exist. Create it first "
                "(NeonDmsCreateReplicationConfigOperator); when an earlier run created it, trigger a "
                "new run or clear the create step too."
            )
        return replication

    def replication_task_view(self, config_arn: str, *, with_settings: bool = False) -> dict[str, Any]:
        """The config's replication in the shape of a task (for the shared table rules and
        operators), with the config's TableMappings and settings when ``with_settings``."""
        view = as_task_view(self.require_replication(config_arn))
        view["ReplicationTaskArn"] = config_arn
        if with_settings:
            config = self.describe_replication_config(config_arn) or {}
            view["TableMappings"] = config.get("TableMappings")
            view["ReplicationTaskSettings"] = config.get("ReplicationSettings")
        return view

    def ensure_replication_config(
        self,
        identifier: str,
        *,
        source_endpoint_arn: str,
        target_endpoint_arn: str,
        compute_config: Mapping[str, Any],
        replication_type: str,
        table_mappings: str,
        replication_settings: str | None = None,
        supplemental_settings: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> tuple[str, str]:
        """Create the replication config, or reuse the one with this identifier.

        One whose settings differ is modified when DMS allows it (its replication never started,
        or failed: botocore's ModifyReplicationConfig); otherwise it is an error naming the fix.
        Returns ``(config_arn, action)`` with action ``created``, ``reused`` or ``modified``.
        """
        wanted: dict[str, Any] = {
            "SourceEndpointArn": source_endpoint_arn,
            "TargetEndpointArn": target_endpoint_arn,
            "ComputeConfig": dict(compute_config),
            "ReplicationType": replication_type,
            "TableMappings": table_mappings,
        }
        if replication_settings:
            wanted["ReplicationSettings"] = replication_settings
        if supplemental_settings:
            wanted["SupplementalSettings"] = supplemental_settings
        existing = self.find_replication_config(identifier)
        if existing is None:
            kwargs: dict[str, Any] = {}
            if tags:
                kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in tags.items()]
            try:
                created = self.conn.create_replication_config(
                    ReplicationConfigIdentifier=identifier, **wanted, **kwargs
                )
            except ClientError as err:
                if _error_code(err) != "ResourceAlreadyExistsFault":
                    raise
                existing = self.find_replication_config(identifier)
                if existing is None:
                    raise
            else:
                return str(created["ReplicationConfig"]["ReplicationConfigArn"]), "created"
        arn = str(existing["ReplicationConfigArn"])
        changes = replication_config_changes(existing, wanted)
        if not changes:
            return arn, "reused"
        replication = self.describe_replication(arn) or {}
        status = str(replication.get("Status") or "").lower()
        if status not in MODIFIABLE_REPLICATION_STATUSES:
            raise DmsResourceError(
                f"Replication config {identifier} exists with a different {', '.join(changes)}, and its "
                f"replication is {status or 'in an unknown state'}; DMS modifies a config only before "
                "its first start or after it failed. Delete the config "
                "(NeonDmsDeleteReplicationConfigOperator) or choose another identifier."
            )
        self.log.info("Replication config %s differs in %s; modifying it", identifier, ", ".join(changes))
        self.modify_replication_config(arn, **changes)
        return arn, "modified"

    def modify_replication_config(self, config_arn: str, **changes: Any) -> dict[str, Any]:
        """ModifyReplicationConfig with the given members; returns the config DMS answers."""
        response = self.conn.modify_replication_config(ReplicationConfigArn=config_arn, **changes)
        return dict(response.get("ReplicationConfig", {}))

    def start_replication_run(
        self,
        config_arn: str,
        start_type: StartType | str,
        *,
        started_since: datetime | None = None,
        extra: Mapping[str, Any] | None = None,
        settle_timeout: float = 600,
        settle_delay: float = 5,
    ) -> tuple[bool, dict[str, Any]]:
        """Start the config's replication unless a run is under way or began since ``started_since``.

        Returns ``(started, replication)``. The start type sent follows the replication's history
        (:func:`~airflow_neon_dms.dms.replication_states.replication_start_type`); a state that
        cannot be started, or one the provider does not model, raises. A replication still
        ``modifying`` after ModifyReplicationConfig (DMS refuses the start meanwhile) is waited
        for, up to ``settle_timeout`` seconds.
        """
        replication = self.require_replication(config_arn)
        deadline = time.monotonic() + settle_timeout
        while str(replication.get("Status") or "").lower() == ReplicationStatus.MODIFYING:
            if time.monotonic() >= deadline:
                raise DmsResourceError(
                    f"Replication {config_arn} is still modifying {settle_timeout:.0f} s after its config "
                    "changed, and DMS starts it only once that is done. Retry this task later."
                )
            self.log.info("Replication %s is modifying; waiting before it is started", config_arn)
            time.sleep(settle_delay)
            replication = self.require_replication(config_arn)
        status = str(replication.get("Status") or "").lower()
        refusal = startable_refusal(replication)
        if refusal:
            raise DmsResourceError(refusal)
        if status in REPLICATION_ACTIVE:
            self.log.info("Replication %s is already %s; not starting it again", config_arn, status)
            return False, replication
        view = as_task_view(replication)
        if started_since is not None and run_began_since(view, started_since):
            self.log.info(
                "Replication %s already started since %s; not starting it again", config_arn, started_since
            )
            return False, replication
        kind = replication_start_type(replication, start_type)
        self.conn.start_replication(
            ReplicationConfigArn=config_arn, StartReplicationType=kind.value, **dict(extra or {})
        )
        self.log.info("Started replication %s (%s)", config_arn, kind.value)
        return True, self.require_replication(config_arn)

    def request_stop(self, run_arn: str) -> bool:
        """StopReplicationTask for a task's ARN, StopReplication for a replication config's.

        False when DMS refuses because the run is stopped or stopping already
        (InvalidResourceStateFault): the caller reads the state and judges it.
        """
        try:
            if is_replication_config_arn(run_arn):
                self.conn.stop_replication(ReplicationConfigArn=run_arn)
            else:
                self.conn.stop_replication_task(ReplicationTaskArn=run_arn)
        except ClientError as err:
            if _error_code(err) != "InvalidResourceStateFault":
                raise
            self.log.info("Stop of %s refused (%s); reading its state", run_arn, err)
            return False
        return True

    def stop_replication_run(self, config_arn: str) -> tuple[bool, dict[str, Any]]:
        """StopReplication when the replication provisions or runs; ``(stopped_now, replication)``."""
        replication = self.require_replication(config_arn)
        status = str(replication.get("Status") or "").lower()
        if status not in REPLICATION_ACTIVE or status == "stopping":
            self.log.info("Replication %s is %s; nothing to stop", config_arn, status)
            return False, replication
        self.conn.stop_replication(ReplicationConfigArn=config_arn)
        return True, self.require_replication(config_arn)

    def remove_replication_config(self, config_arn: str, *, timeout: float = 3600, delay: float = 15) -> None:
        """Delete the config, stopping its replication first, and wait until it is gone; gone is fine.

        DMS refuses DeleteReplicationConfig while the replication provisions, runs or stops, and
        until its capacity is deprovisioned (the amazon provider's delete operator waits for
        ``replication_deprovisioned`` too). So this stops a running replication, polls until the
        delete is accepted, then polls until DescribeReplicationConfigs answers
        ResourceNotFoundFault (botocore/amazon ``replication_config_deleted``). Raises after
        ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        replication = self.describe_replication(config_arn)
        if replication is None and self.describe_replication_config(config_arn) is None:
            return
        if replication is not None:
            self.stop_replication_run(config_arn)
        while True:
            try:
                _or_none(self.conn.delete_replication_config, ReplicationConfigArn=config_arn)
                break
            except ClientError as err:
                if _error_code(err) != "InvalidResourceStateFault" or time.monotonic() >= deadline:
                    raise
                self.log.info("Replication config %s cannot be deleted yet (%s); waiting", config_arn, err)
            time.sleep(delay)
        while self.describe_replication_config(config_arn) is not None:
            if time.monotonic() >= deadline:
                raise DmsResourceError(
                    f"Replication config {config_arn} still exists {timeout:.0f} s after "
                    "DeleteReplicationConfig. Check it in the DMS console and delete it there."
                )
            time.sleep(delay)


class TableCalls:
    """The table statistics and reload calls of a replication task or a replication config."""

    def __init__(self, arn_member: str, statistics_call: str, result_key: str, reload_call: str) -> None:
        self.arn_member = arn_member
        self.statistics_call = statistics_call
        self.result_key = result_key
        self.reload_call = reload_call

    @classmethod
    def for_arn(cls, arn: str) -> TableCalls:
        if is_replication_config_arn(arn):
            return REPLICATION_CONFIG_CALLS
        return REPLICATION_TASK_CALLS

    def statistics_pages(self, arn: str) -> MarkerPages:
        return MarkerPages(self.result_key, **{self.arn_member: arn}, MaxRecords=TABLE_STATISTICS_PAGE_SIZE)


REPLICATION_TASK_CALLS = TableCalls(
    "ReplicationTaskArn", "describe_table_statistics", "TableStatistics", "reload_tables"
)
#: botocore: DescribeReplicationTableStatisticsResponse lists ReplicationTableStatistics (the
#: TableStatistics shape); ReloadReplicationTablesMessage takes ReplicationConfigArn.
REPLICATION_CONFIG_CALLS = TableCalls(
    "ReplicationConfigArn",
    "describe_replication_table_statistics",
    "ReplicationTableStatistics",
    "reload_replication_tables",
)


def replication_filter(config_arn: str) -> dict[str, Any]:
    return {"Filters": [{"Name": "replication-config-arn", "Values": [config_arn]}]}


def pick_replication(replications: Iterable[Mapping[str, Any]], config_arn: str) -> dict[str, Any] | None:
    for replication in replications:
        if replication.get("ReplicationConfigArn") == config_arn:
            return dict(replication)
    return None


def replication_config_changes(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The members of ``wanted`` that the config shows back differently (settings by content)."""
    changes: dict[str, Any] = {}
    for key, value in wanted.items():
        current = existing.get(key)
        if key == "TableMappings":
            same = _same_json(current, value)
        elif key == "ReplicationSettings":
            same = current is None or _settings_contain(current, value)
        elif key == "SupplementalSettings":
            same = _same_json(current, value)
        elif key == "ComputeConfig":
            same = all((current or {}).get(k) == v for k, v in value.items())
        else:
            same = current == value
        if not same:
            changes[key] = value
    return changes


def connection_filters(replication_instance_arn: str, endpoint_arn: str) -> list[dict[str, Any]]:
    return [
        {"Name": "endpoint-arn", "Values": [endpoint_arn]},
        {"Name": "replication-instance-arn", "Values": [replication_instance_arn]},
    ]


def pick_connection(
    connections: Iterable[Mapping[str, Any]], replication_instance_arn: str, endpoint_arn: str
) -> dict[str, Any] | None:
    for connection in connections:
        if (
            connection.get("EndpointArn") == endpoint_arn
            and connection.get("ReplicationInstanceArn") == replication_instance_arn
        ):
            return dict(connection)
    return None


def select_tables(rows: list[dict[str, Any]], tables: Iterable[TableRef] | None) -> list[dict[str, Any]]:
    """Keep only the statistics of ``tables`` (all when None)."""
    if tables is None:
        return rows
    wanted = set(tables)
    return [row for row in rows if TableRef.from_statistics(row) in wanted]


def _settings_contain(existing_json: str | None, wanted_json: str) -> bool:
    """True when every setting in ``wanted_json`` has the same value in the task's settings.

    DMS returns the full settings document with its defaults filled in, so only the keys the
    caller set are compared.
    """
    try:
        existing = json.loads(existing_json or "{}")
        wanted = json.loads(wanted_json or "{}")
    except json.JSONDecodeError:
        return existing_json == wanted_json
    return _contains(existing, wanted)


def _contains(existing: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(existing, dict) and all(_contains(existing.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list) and isinstance(existing, list):
        return all(any(_contains(e, w) for e in existing) for w in wanted)
    return bool(existing == wanted)

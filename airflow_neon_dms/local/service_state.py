"""The state of one local DMS and the look-ups every group of operations shares."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from airflow_neon_dms.local.databases import DatabaseAddress
from airflow_neon_dms.local.faults import InvalidParameterValueException, ResourceNotFoundFault
from airflow_neon_dms.local.models import Connection, Endpoint, ReplicationInstance, ReplicationTask
from airflow_neon_dms.local.task_runner import TaskJob


class ServiceState:
    """Endpoints, instances, connections, tasks and tags of one emulator, under one lock."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        routes: Mapping[tuple[str, int], tuple[str, int]] | None = None,
        task_creating_seconds: float = 0,
    ) -> None:
        self.region = region
        #: Seconds a new task stays ``creating`` before it is ``ready`` (real DMS: about a minute).
        self.task_creating_seconds = task_creating_seconds
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

    def settle_tasks(self) -> None:
        """Move the tasks whose ``creating`` time is over to ``ready``."""
        for task in self.tasks.values():
            task.settle()

    def _task(self, arn: str) -> ReplicationTask:
        try:
            return self.tasks[arn]
        except KeyError:
            raise ResourceNotFoundFault(f"Replication task {arn} not found.") from None

    def _tag(self, arn: str, tags: list[dict[str, Any]] | None) -> None:
        if any(not t.get("Key") for t in tags or []):
            raise InvalidParameterValueException("Every tag needs a non-empty Key.")
        if tags:
            self.tags.setdefault(arn, {}).update({t["Key"]: t.get("Value", "") for t in tags})

    def address(self, endpoint: Endpoint) -> DatabaseAddress:
        """Where the emulator connects for this endpoint, after ``--neon`` routing."""
        return endpoint.address().routed(self.routes)

    def _known_arn(self, arn: str) -> None:
        known = {e.arn for e in self.endpoints.values()} | set(self.instances) | set(self.tasks)
        if arn not in known:
            raise ResourceNotFoundFault(f"Resource {arn} not found.")

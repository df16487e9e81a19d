"""The state of one local DMS and the look-ups every group of operations shares."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_neon_dms.local.databases import DatabaseAddress
from airflow_neon_dms.local.faults import (
    InvalidParameterValueException,
    InvalidResourceStateFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.models import (
    Connection,
    Endpoint,
    ReplicationInstance,
    ReplicationTask,
    SubnetGroup,
)
from airflow_neon_dms.local.state_timing import AWS_LIKE, StateTiming
from airflow_neon_dms.local.task_runner import TaskJob


class ServiceState:
    """Endpoints, instances, connections, tasks and tags of one region of an emulator, under one lock."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        routes: dict[tuple[str, int], tuple[str, int]] | None = None,
        timing: StateTiming = AWS_LIKE,
    ) -> None:
        self.region = region
        #: How long ``creating``, ``starting``, ``deleting`` and ``modifying`` last.
        self.timing = timing
        self.account_id = account_id
        #: ``--neon`` routing, shared by every region of one emulator (kept by reference).
        self.routes: dict[tuple[str, int], tuple[str, int]] = routes if routes is not None else {}
        self.lock = threading.RLock()
        self.endpoints: dict[str, Endpoint] = {}
        self.instances: dict[str, ReplicationInstance] = {}
        self.connections: dict[tuple[str, str], Connection] = {}
        self.tasks: dict[str, ReplicationTask] = {}
        self.jobs: dict[str, TaskJob] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.subnet_groups: dict[str, SubnetGroup] = {}
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

    def settle(self) -> None:
        """End the transitional states whose time is over: ``creating`` tasks become ``ready``,
        ``modifying`` instances ``available``, and ``deleting`` resources are gone."""
        now = time.time()
        for task in list(self.tasks.values()):
            task.settle()
            if task.gone_at is not None and now >= task.gone_at:
                self._forget_task(task)
        for endpoint in list(self.endpoints.values()):
            if endpoint.gone_at is not None and now >= endpoint.gone_at:
                self._forget_endpoint(endpoint)
        for instance in list(self.instances.values()):
            if instance.state_until is not None and now >= instance.state_until:
                if instance.status == "deleting":
                    self._forget_instance(instance)
                else:
                    instance.status = "available"
                    instance.state_until = None

    def _forget_task(self, task: ReplicationTask) -> None:
        self.tasks.pop(task.arn, None)
        self.jobs.pop(task.arn, None)
        self.tags.pop(task.arn, None)

    def _forget_endpoint(self, endpoint: Endpoint) -> None:
        self.endpoints.pop(endpoint.identifier, None)
        for key in [k for k in self.connections if k[1] == endpoint.arn]:
            del self.connections[key]
        self.tags.pop(endpoint.arn, None)

    def _forget_instance(self, instance: ReplicationInstance) -> None:
        self.instances.pop(instance.arn, None)
        for key in [k for k in self.connections if k[0] == instance.arn]:
            del self.connections[key]
        self.tags.pop(instance.arn, None)

    def _deleted_at(self) -> float | None:
        """When a resource deleted now is gone, or None to remove it at once."""
        seconds = self.timing.deleting_seconds
        return time.time() + seconds if seconds > 0 else None

    @staticmethod
    def _not_deleting(kind: str, identifier: str, status: str) -> None:
        if status == "deleting":
            raise InvalidResourceStateFault(f"{kind} {identifier} is being deleted.")

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

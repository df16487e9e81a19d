"""A client of Airflow 3's REST API (``/api/v2``) for the real-deployment tests.

Authentication: the simple auth manager with ``simple_auth_manager_all_admins`` issues a JWT from
``GET /auth/token``; every call sends it as a bearer token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

#: Run states the scheduler will not move on from by itself.
FINISHED_RUN_STATES = frozenset({"success", "failed"})


class DeploymentError(RuntimeError):
    """A component of the deployment did not start or did not answer in time."""


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Call ``check`` until it returns something truthy; raise ``DeploymentError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, OSError) as err:
            last_error = err
        else:
            if result:
                return result
        time.sleep(interval)
    raise DeploymentError(f"{what}: not reached within {timeout:.0f} s (last error: {last_error!r})")


def task_in(task_id: str, states: set[str]) -> Callable[[dict[str, Any], list[dict[str, Any]]], bool]:
    """An ``until`` for :meth:`AirflowApi.wait_for_run`: the task is in one of ``states``."""

    def check(run: dict[str, Any], tis: list[dict[str, Any]]) -> bool:
        return any(ti["task_id"] == task_id and ti["state"] in states for ti in tis)

    return check


@dataclass
class RunWatch:
    """Every state each task instance was seen in while a run was polled."""

    seen: dict[str, list[str]] = field(default_factory=dict)

    def record(self, task_instances: list[dict[str, Any]]) -> None:
        for ti in task_instances:
            states = self.seen.setdefault(ti["task_id"], [])
            if ti["state"] and (not states or states[-1] != ti["state"]):
                states.append(ti["state"])

    def went_through(self, state: str) -> list[str]:
        return sorted(task for task, states in self.seen.items() if state in states)


class AirflowApi:
    """Airflow 3's REST API (``/api/v2``) with a JWT from the simple auth manager's ``/auth/token``."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._client = httpx.Client(base_url=base_url, timeout=60)
        self._token = ""

    def close(self) -> None:
        self._client.close()

    def _headers(self) -> dict[str, str]:
        if not self._token:
            # With simple_auth_manager_all_admins, GET /auth/token issues an admin token.
            answer = self._client.get("/auth/token")
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        answer = self._client.request(
            method, f"/api/v2{path}", headers={**self._headers(), **(headers or {})}, **kwargs
        )
        if answer.status_code == 401:  # token expired: take a new one once
            self._token = ""
            answer = self._client.request(
                method, f"/api/v2{path}", headers={**self._headers(), **(headers or {})}, **kwargs
            )
        return answer

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.request(method, path, **kwargs)
        if answer.is_error:
            raise DeploymentError(f"{method} {path} -> {answer.status_code}: {answer.text[:2000]}")
        return answer.json()

    # DAGs and runs
    def dag(self, dag_id: str) -> dict[str, Any] | None:
        answer = self.request("GET", f"/dags/{dag_id}")
        return answer.json() if answer.status_code == 200 else None

    def unpause(self, dag_id: str) -> None:
        self._json("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run = self._json("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        return result

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        answer = self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        return list(answer["task_instances"])

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return result

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        answer = self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries")
        return list(answer["task_instances"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The whole log of one try, one line per event, as the UI shows it."""
        answer = self._json(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true"},
            headers={"Accept": "application/json"},
        )
        content = answer.get("content", [])
        if isinstance(content, str):
            return content
        return "\n".join(json.dumps(line) if not isinstance(line, str) else line for line in content)

    def xcoms(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        base = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
        entries = self._json("GET", base)["xcom_entries"]
        return {e["key"]: self._json("GET", f"{base}/{quote(e['key'], safe='')}")["value"] for e in entries}

    # Human-in-the-loop (the UI's "Required actions": the same endpoints its client calls)
    def hitl_detail(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """What a HITL task asks (subject, body, options) and whether it has been answered."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails"
        result: dict[str, Any] = self._json("GET", path)
        return result

    def respond(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        chosen_options: list[str],
        params_input: dict[str, Any] | None = None,
        map_index: int = -1,
    ) -> dict[str, Any]:
        """Answer a HITL task (``PATCH .../hitlDetails``, as the UI's Respond button does)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails"
        body = {"chosen_options": chosen_options, "params_input": params_input or {}}
        result: dict[str, Any] = self._json("PATCH", path, json=body)
        return result

    def set_connection(self, conn_id: str, fields: dict[str, Any]) -> None:
        """Create or replace a connection in the metadata database (``fields``: Airflow's JSON form)."""
        body = {
            "connection_id": conn_id,
            **{k: v for k, v in fields.items() if k != "extra"},
            "extra": json.dumps(fields.get("extra") or {}),
        }
        answer = self.request("POST", "/connections", json=body)
        if answer.status_code == 409:
            answer = self.request("PATCH", f"/connections/{conn_id}", json=body)
        if answer.is_error:
            raise DeploymentError(f"connection {conn_id}: HTTP {answer.status_code}")

    def clear(self, dag_id: str, run_id: str, task_ids: list[str] | None = None, **options: Any) -> list[str]:
        """Clear task instances of one run (all of them when ``task_ids`` is None); return the cleared ids."""
        body: dict[str, Any] = {"dry_run": False, "dag_run_id": run_id, "reset_dag_runs": True, **options}
        if task_ids is not None:
            body["task_ids"] = task_ids
        answer = self._json("POST", f"/dags/{dag_id}/clearTaskInstances", json=body)
        return [ti["task_id"] for ti in answer["task_instances"]]

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 900,
        watch: RunWatch | None = None,
        until: Callable[[dict[str, Any], list[dict[str, Any]]], bool] | None = None,
    ) -> dict[str, Any]:
        """Poll the run (and its task instances, into ``watch``) until it finishes or ``until`` holds."""
        watch = watch if watch is not None else RunWatch()

        def done() -> dict[str, Any] | None:
            run = self.run(dag_id, run_id)
            tis = self.task_instances(dag_id, run_id)
            watch.record(tis)
            if until is not None:
                return run if until(run, tis) else None
            return run if run["state"] in FINISHED_RUN_STATES else None

        result: dict[str, Any] = wait_for(f"run {run_id}", done, timeout=timeout, interval=0.5)
        return result

    def all_task_logs(self, dag_id: str, run_id: str) -> Iterator[tuple[str, int, str]]:
        """(task id, try number, log text) of every try of every task of a run.

        Counts tries from the task instance's ``try_number``: the ``/tries`` endpoint answers 404
        for a task instance that is ``up_for_retry`` before its next try has started.
        """
        for ti in self.task_instances(dag_id, run_id):
            last = int(ti["try_number"] or 0)
            for number in range(1, last + 1):
                try:
                    yield ti["task_id"], number, self.task_log(dag_id, run_id, ti["task_id"], number)
                except DeploymentError as err:
                    # A try cut short by Airflow's deferral race (apache/airflow #67287) can leave no
                    # task-instance history behind; its lines are still in the scheduler's log,
                    # which the secret checks read too. The current try must always have a log.
                    if number == last or "404" not in str(err):
                        raise

"""How long the local DMS shows AWS's transitional states before the next one.

AWS DMS shows a new task as ``creating`` for about a minute, a started task as ``starting`` before
``running``, and a deleted endpoint, task or instance as ``deleting`` until it is gone (the
ReplicationTask.Status values in botocore's DMS service model; the waiters in botocore's
``dms/2016-01-01/waiters-2.json`` poll through them). The defaults mirror that order with shorter
times, so code that skips a state fails locally too; tests that are not about timing choose
``INSTANT`` explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StateTiming:
    """Seconds each transitional state lasts (0: the state is never seen by a Describe call)."""

    #: ``creating`` -> ``ready`` of a new task (AWS: about a minute).
    task_creating_seconds: float = 5.0
    #: ``starting`` -> ``running`` of a started task (AWS: tens of seconds).
    task_starting_seconds: float = 3.0
    #: ``deleting`` -> gone, for endpoints, tasks and replication instances.
    deleting_seconds: float = 3.0
    #: ``modifying`` -> ``available`` of a replication instance modified with ApplyImmediately, and
    #: ``modifying`` -> ``created``/``failed`` of a DMS Serverless replication whose config changed.
    modifying_seconds: float = 2.0
    #: DMS Serverless: StartReplication -> ``running``, the provisioning phase (AWS's user guide,
    #: "AWS DMS Serverless components": initializing ... provisioning_capacity,
    #: replication_starting; on AWS tens of minutes). No table loads during it.
    serverless_provisioning_seconds: float = 4.0
    #: DMS Serverless: how long a stopped or failed replication keeps its capacity
    #: (``ProvisionState`` ``provisioned``) before DMS deprovisions it (AWS: up to 48 hours).
    serverless_deprovision_after_seconds: float = 5.0
    #: DMS Serverless: ``deprovisioning`` -> ``deprovisioned``.
    serverless_deprovisioning_seconds: float = 2.0


#: The default: every AWS state is visible, briefly.
AWS_LIKE = StateTiming()
#: No transitional state is ever described: for tests that are not about timing.
INSTANT = StateTiming(0, 0, 0, 0, 0, 0, 0)

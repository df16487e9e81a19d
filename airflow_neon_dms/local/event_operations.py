"""Events and event subscriptions of the local DMS, and the hook that records events.

Events are recorded where AWS DMS raises them: a replication instance or task created, modified
or deleted (after the API call that did it), and a task that starts running, stops or fails
(whenever its status changes, on the API thread or the task's own thread). See ``events`` for the
categories and messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from airflow_neon_dms.local import events as ev
from airflow_neon_dms.local.api_params import (
    DESCRIBE_MAX,
    Params,
    Result,
    apply_filters,
    paginate,
    parse_filters,
    required,
    with_marker,
)
from airflow_neon_dms.local.events import Event, EventKind, EventSubscription
from airflow_neon_dms.local.faults import (
    InvalidParameterValueException,
    ResourceAlreadyExistsFault,
    ResourceNotFoundFault,
)
from airflow_neon_dms.local.models import ReplicationInstance, ReplicationTask, ResourceObserver
from airflow_neon_dms.local.service_state import ServiceState
from airflow_neon_dms.local.task_logs import start_line

T = TypeVar("T")

#: Events of an API call, by operation (task or instance named in the answer).
_CALL_EVENTS: dict[str, tuple[EventKind, ...]] = {
    "CreateReplicationInstance": (ev.INSTANCE_CREATING, ev.INSTANCE_CREATED),
    "DeleteReplicationInstance": (ev.INSTANCE_DELETING, ev.INSTANCE_DELETED),
    "CreateReplicationTask": (ev.TASK_CREATED,),
    "ModifyReplicationTask": (ev.TASK_MODIFIED,),
    "DeleteReplicationTask": (ev.TASK_DELETED,),
}


def _epoch(value: Any) -> float:
    """A request timestamp (epoch seconds, or ISO 8601 text as the JSON protocol allows)."""
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidParameterValueException(f"The time {value!r} is not a valid timestamp.") from None


def _existing(lookup: Callable[[str], T], arn: str) -> T | None:
    """The resource ``lookup`` finds for ``arn``, or None when it is gone (e.g. just deleted)."""
    try:
        return lookup(arn)
    except ResourceNotFoundFault:
        return None


class EventOperations(ServiceState):
    """DescribeEvents, DescribeEventCategories and the event subscription operations."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: list[Event] = []
        self.subscriptions: dict[str, EventSubscription] = {}

    # --- recording -------------------------------------------------------------------------------
    def record_event(self, kind: EventKind, source_id: str, instance_id: str) -> None:
        with self.lock:
            self.events.append(Event(kind, source_id, instance_id))

    def status_changed(self, resource: Any, old: str, new: str) -> None:
        """Observer of every task and instance status change (see ``models._Observed``)."""
        if isinstance(resource, ReplicationTask) and new in ev.TASK_STATUS_EVENTS:
            self.record_event(ev.TASK_STATUS_EVENTS[new], resource.identifier, self._instance_id(resource))
        elif isinstance(resource, ReplicationInstance) and old == "creating" and new == "available":
            self.record_event(ev.INSTANCE_CREATED, resource.identifier, resource.identifier)

    def _instance_id(self, task: ReplicationTask) -> str:
        instance = _existing(self._instance, task.instance_arn)
        return instance.identifier if instance else ""

    def after_call(self, operation: str, params: Params, result: Result) -> None:
        """Record the events of a successful API call and watch the resources it created."""
        kinds = _CALL_EVENTS.get(operation, ())
        if operation.endswith("ReplicationInstance") and "ReplicationInstance" in result:
            answer = result["ReplicationInstance"]
            instance = _existing(self._instance, answer["ReplicationInstanceArn"])
            if instance is not None:
                instance.observer = cast(ResourceObserver, self)
                if instance.status == "creating":
                    kinds = kinds[:1]  # "is created" follows when it becomes available
            for kind in kinds:
                identifier = answer["ReplicationInstanceIdentifier"]
                self.record_event(kind, identifier, identifier)
        elif operation.endswith("ReplicationTask") and "ReplicationTask" in result:
            answer = result["ReplicationTask"]
            task = _existing(self._task, answer["ReplicationTaskArn"])
            instance_arn = answer["ReplicationInstanceArn"]
            instance = _existing(self._instance, instance_arn)
            for kind in kinds:
                self.record_event(
                    kind, answer["ReplicationTaskIdentifier"], instance.identifier if instance else ""
                )
            if task is not None:
                task.observer = cast(ResourceObserver, self)
                if operation == "StartReplicationTask":
                    start_type = params.get("StartReplicationTaskType") or "start-replication"
                    task.note(
                        "TASK_MANAGER", "I", start_line(task.identifier, task.migration_type, start_type)
                    )
        elif operation == "ReloadTables":
            task = self._task(result["ReplicationTaskArn"])
            self.record_event(ev.TABLES_RELOAD, task.identifier, self._instance_id(task))

    # --- DescribeEvents ------------------------------------------------------------------------
    def describe_events(self, params: Params) -> Result:
        source_type = params.get("SourceType")
        if source_type is not None and source_type not in ev.EVENT_CATEGORIES:
            raise InvalidParameterValueException(
                f"Invalid SourceType {source_type!r}; use {' or '.join(ev.EVENT_CATEGORIES)}."
            )
        categories = {str(c).lower() for c in params.get("EventCategories") or []}
        self._check_categories(source_type, categories)
        end = _epoch(params["EndTime"]) if params.get("EndTime") is not None else time.time() + 1
        start = _epoch(params["StartTime"]) if params.get("StartTime") is not None else None
        if start is None and params.get("Duration") is not None:
            start = end - 60 * int(params["Duration"])
        filters = parse_filters(params, {"replication-instance-id": lambda e: e.instance_id})
        found = [
            e
            for e in apply_filters(list(self.events), filters)
            if (source_type is None or e.kind.source_type == source_type)
            and (not params.get("SourceIdentifier") or e.source_id == params["SourceIdentifier"])
            and (not categories or e.kind.category in categories)
            and (start is None or e.date >= start)
            and e.date <= end
        ]
        page, marker = paginate(params, found, DESCRIBE_MAX)
        return with_marker({"Events": [e.to_api() for e in page]}, marker)

    def describe_event_categories(self, params: Params) -> Result:
        source_type = params.get("SourceType")
        if source_type is not None and source_type not in ev.EVENT_CATEGORIES:
            raise InvalidParameterValueException(
                f"Invalid SourceType {source_type!r}; use {' or '.join(ev.EVENT_CATEGORIES)}."
            )
        groups = [
            {"SourceType": kind, "EventCategories": list(categories)}
            for kind, categories in ev.EVENT_CATEGORIES.items()
            if source_type in (None, kind)
        ]
        return {"EventCategoryGroupList": groups}

    @staticmethod
    def _check_categories(source_type: str | None, categories: set[str]) -> None:
        known = set(ev.EVENT_CATEGORIES.get(source_type or "", ())) or {
            c for group in ev.EVENT_CATEGORIES.values() for c in group
        }
        unknown = sorted(categories - known)
        if unknown:
            raise InvalidParameterValueException(
                f"Invalid event categories {', '.join(unknown)}"
                f"{' for source type ' + source_type if source_type else ''}; use "
                f"{', '.join(sorted(known))} (see DescribeEventCategories)."
            )

    # --- event subscriptions --------------------------------------------------------------------
    def _subscription(self, name: str) -> EventSubscription:
        try:
            return self.subscriptions[name]
        except KeyError:
            raise ResourceNotFoundFault(f"Event subscription {name} not found.") from None

    def _subscription_fields(self, params: Params, subscription: EventSubscription) -> None:
        source_type = params.get("SourceType", subscription.source_type)
        if source_type is not None and source_type not in ev.EVENT_CATEGORIES:
            raise InvalidParameterValueException(
                f"Invalid SourceType {source_type!r}; use {' or '.join(ev.EVENT_CATEGORIES)}."
            )
        categories = [str(c).lower() for c in params.get("EventCategories", subscription.categories) or []]
        self._check_categories(source_type, set(categories))
        subscription.source_type = source_type
        subscription.categories = categories
        subscription.sns_topic_arn = params.get("SnsTopicArn") or subscription.sns_topic_arn
        if params.get("Enabled") is not None:
            subscription.enabled = bool(params["Enabled"])

    def create_event_subscription(self, params: Params) -> Result:
        name = required(params, "SubscriptionName")
        topic = required(params, "SnsTopicArn")
        if name in self.subscriptions:
            raise ResourceAlreadyExistsFault(f"Event subscription {name} already exists.")
        subscription = EventSubscription(
            name=name,
            arn=self._arn("es", name),
            account_id=self.account_id,
            sns_topic_arn=topic,
            source_type=None,
            categories=[],
            source_ids=[str(s) for s in params.get("SourceIds") or []],
        )
        self._subscription_fields(params, subscription)
        self.subscriptions[name] = subscription
        self._tag(subscription.arn, params.get("Tags"))
        return {"EventSubscription": subscription.to_api(status="creating")}

    def modify_event_subscription(self, params: Params) -> Result:
        subscription = self._subscription(required(params, "SubscriptionName"))
        staged = EventSubscription(**vars(subscription))
        self._subscription_fields(params, staged)  # validates everything before changing anything
        self.subscriptions[staged.name] = staged
        return {"EventSubscription": staged.to_api(status="modifying")}

    def delete_event_subscription(self, params: Params) -> Result:
        subscription = self._subscription(required(params, "SubscriptionName"))
        del self.subscriptions[subscription.name]
        self.tags.pop(subscription.arn, None)
        return {"EventSubscription": subscription.to_api(status="deleting")}

    def describe_event_subscriptions(self, params: Params) -> Result:
        items = list(self.subscriptions.values())
        if params.get("SubscriptionName"):
            items = [self._subscription(params["SubscriptionName"])]
        filters = parse_filters(
            params,
            {"event-subscription-arn": lambda s: s.arn, "event-subscription-id": lambda s: s.name},
        )
        page, marker = paginate(params, apply_filters(items, filters), DESCRIBE_MAX)
        return with_marker({"EventSubscriptionsList": [s.to_api() for s in page]}, marker)

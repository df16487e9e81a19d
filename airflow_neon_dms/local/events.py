"""DMS events and event subscriptions: AWS's categories and messages, and their API form.

Categories and messages are those of the AWS DMS User Guide, "Working with Amazon SNS events and
notifications in AWS Database Migration Service" (tables "AWS DMS event categories and event
messages"); each message below carries its DMS event id. The API spells categories in lower case
(the guide capitalises them in its tables; the AWS CLI's ``describe-event-categories`` example
answers "creation", "state change", ...). Subscription fields follow the AWS CLI's
``create-event-subscription`` and ``describe-event-subscriptions`` examples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

INSTANCE = "replication-instance"
TASK = "replication-task"

#: DescribeEventCategories: the categories of each source type, in the order of the AWS CLI's
#: ``describe-event-categories`` example output (awscli/examples/dms/describe-event-categories.rst).
EVENT_CATEGORIES: dict[str, tuple[str, ...]] = {
    INSTANCE: (
        "low storage",
        "configuration change",
        "maintenance",
        "deletion",
        "creation",
        "failover",
        "failure",
    ),
    TASK: ("configuration change", "state change", "deletion", "creation", "failure"),
}


@dataclass(frozen=True)
class EventKind:
    """One row of the guide's event tables: source type, category, DMS event id, message."""

    source_type: str
    category: str
    event_id: str
    message: str


INSTANCE_CREATING = EventKind(
    INSTANCE, "creation", "DMS-EVENT-0067", "A replication instance is being created."
)
INSTANCE_CREATED = EventKind(INSTANCE, "creation", "DMS-EVENT-0005", "A replication instance is created.")
INSTANCE_DELETING = EventKind(
    INSTANCE, "deletion", "DMS-EVENT-0066", "The replication instance is being deleted."
)
INSTANCE_DELETED = EventKind(INSTANCE, "deletion", "DMS-EVENT-0003", "The replication instance is deleted.")
TASK_CREATED = EventKind(TASK, "creation", "DMS-EVENT-0074", "The replication task is created.")
TASK_STARTED = EventKind(TASK, "state change", "DMS-EVENT-0069", "The replication task has started.")
TASK_STOPPED = EventKind(TASK, "state change", "DMS-EVENT-0079", "The replication task has stopped.")
TASK_FAILED = EventKind(TASK, "failure", "DMS-EVENT-0078", "The replication task has failed.")
TASK_MODIFIED = EventKind(TASK, "configuration change", "DMS-EVENT-0080", "The replication task is modified.")
TASK_DELETED = EventKind(TASK, "deletion", "DMS-EVENT-0073", "The replication task is deleted.")
TABLES_RELOAD = EventKind(
    TASK, "state change", "DMS-EVENT-0081", "A reload of table details has been requested."
)

#: Task status changes that are events (task status -> event).
TASK_STATUS_EVENTS = {"running": TASK_STARTED, "stopped": TASK_STOPPED, "failed": TASK_FAILED}


@dataclass(frozen=True)
class Event:
    """One recorded event; ``instance_id`` is the replication instance it concerns (for filters)."""

    kind: EventKind
    source_id: str
    instance_id: str
    date: float = field(default_factory=time.time)

    def to_api(self) -> dict[str, Any]:
        return {
            "SourceIdentifier": self.source_id,
            "SourceType": self.kind.source_type,
            "Message": self.kind.message,
            "EventCategories": [self.kind.category],
            "Date": self.date,
        }


@dataclass
class EventSubscription:
    """An event subscription. The emulator has no SNS: it keeps subscriptions, sends nothing."""

    name: str
    arn: str
    account_id: str
    sns_topic_arn: str
    source_type: str | None
    categories: list[str]
    source_ids: list[str]
    enabled: bool = True
    created: float = field(default_factory=time.time)

    def to_api(self, status: str = "active") -> dict[str, Any]:
        millis = int(self.created * 1000) % 1000
        out: dict[str, Any] = {
            "CustomerAwsId": self.account_id,
            "CustSubscriptionId": self.name,
            "SnsTopicArn": self.sns_topic_arn,
            "Status": status,
            # botocore models this one time as a string: AWS sends "2020-05-21 22:28:51.924".
            "SubscriptionCreationTime": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.created))
            + f".{millis:03d}",
            "Enabled": self.enabled,
        }
        if self.source_type:
            out["SourceType"] = self.source_type
        if self.categories:
            out["EventCategoriesList"] = list(self.categories)
        if self.source_ids:
            out["SourceIdsList"] = list(self.source_ids)
        return out

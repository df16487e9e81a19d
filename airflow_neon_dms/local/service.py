"""The local DMS: every API operation the emulator serves, as plain Python over a JSON dict.

``DmsService.call("CreateEndpoint", params)`` returns the response dict or raises a ``DmsFault``.
No HTTP and no moto here (``moto_dms`` puts this behind moto's request handling); long work runs
on task threads (``task_runner``), so every call returns at once. The operations live in one
module per resource: ``endpoint_operations``, ``instance_operations``, ``task_operations``,
``event_operations``, ``task_log_operations``, ``task_metric_operations``, ``schema_operations``,
``endpoint_types``, ``subnet_group_operations``, ``assessment_operations``, and DMS Serverless in
``replication_config_operations`` and ``replication_operations``.
"""

from __future__ import annotations

from airflow_neon_dms.local.api_params import Params, Result, snake_case
from airflow_neon_dms.local.assessment_operations import AssessmentOperations
from airflow_neon_dms.local.endpoint_operations import EndpointOperations
from airflow_neon_dms.local.endpoint_types import EndpointTypeOperations
from airflow_neon_dms.local.event_operations import EventOperations
from airflow_neon_dms.local.faults import UnknownOperationException
from airflow_neon_dms.local.instance_operations import InstanceOperations
from airflow_neon_dms.local.replication_operations import ReplicationOperations
from airflow_neon_dms.local.schema_operations import SchemaOperations
from airflow_neon_dms.local.subnet_group_operations import SubnetGroupOperations
from airflow_neon_dms.local.task_log_operations import TaskLogOperations
from airflow_neon_dms.local.task_metric_operations import TaskMetricOperations
from airflow_neon_dms.local.task_operations import TaskOperations

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
        "DescribeEvents", "DescribeEventCategories", "CreateEventSubscription",
        "ModifyEventSubscription", "DeleteEventSubscription", "DescribeEventSubscriptions",
        "DescribeReplicationInstanceTaskLogs", "DescribeEndpointTypes",
        "RefreshSchemas", "DescribeRefreshSchemasStatus", "DescribeSchemas",
        "ModifyReplicationInstance",
        "CreateReplicationSubnetGroup", "DescribeReplicationSubnetGroups",
        "ModifyReplicationSubnetGroup", "DeleteReplicationSubnetGroup",
        # DMS Serverless
        "CreateReplicationConfig", "ModifyReplicationConfig", "DeleteReplicationConfig",
        "DescribeReplicationConfigs", "StartReplication", "StopReplication",
        "DescribeReplications", "DescribeReplicationTableStatistics", "ReloadReplicationTables",
        "StartReplicationTaskAssessmentRun", "DescribeReplicationTaskAssessmentRuns",
        "DescribeReplicationTaskIndividualAssessments", "DescribeApplicableIndividualAssessments",
        "CancelReplicationTaskAssessmentRun", "DeleteReplicationTaskAssessmentRun",
    }
)  # fmt: skip


class DmsService(
    EndpointOperations,
    InstanceOperations,
    TaskOperations,
    EventOperations,
    TaskLogOperations,
    TaskMetricOperations,
    SchemaOperations,
    EndpointTypeOperations,
    SubnetGroupOperations,
    ReplicationOperations,
    AssessmentOperations,
):
    """All state and operations of one local DMS (see ``ServiceState`` for the state).

    It observes its tasks and instances (``models.ResourceObserver``): ``EventOperations`` records
    their events, ``TaskLogOperations`` their task log lines, ``TaskMetricOperations`` gives each
    task its CloudWatch metrics publisher.
    """

    def call(self, operation: str, params: Params) -> Result:
        """Run one API operation by its DMS name (e.g. ``DescribeEndpoints``)."""
        method = getattr(self, snake_case(operation), None)
        if operation not in OPERATIONS or method is None:
            raise UnknownOperationException(
                f"The operation {operation} is not implemented by the local DMS emulator."
            )
        with self.lock:
            self.settle()
            result: Result = method(params)
            self.after_call(operation, params, result)
        return result

"""The openlineage provider's own extractor on NeonDmsStartTaskOperator after a real run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_neon_dms.dms.mappings import TableMappings
from airflow_neon_dms.dms.task_settings import TaskSettings
from airflow_neon_dms.exceptions import ReplicationTaskFailedError
from airflow_neon_dms.hooks.dms import NeonDmsHook
from airflow_neon_dms.operators.run import NeonDmsStartTaskOperator

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")


def _task(hook: NeonDmsHook, source_arn: str, target_arn: str, instance: str, name: str) -> str:
    arn, _ = hook.ensure_task(
        name,
        source_endpoint_arn=source_arn,
        target_endpoint_arn=target_arn,
        replication_instance_arn=instance,
        migration_type="full-load",
        table_mappings=TableMappings.include("public").to_json(),
        task_settings=TaskSettings().to_json(),
    )
    return arn


def _extractor(operator: NeonDmsStartTaskOperator) -> Any:
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    extractor = ExtractorManager()._get_extractor(operator)
    assert extractor is not None, "the provider found no lineage methods on the operator"
    return extractor


def test_completed_load_reports_source_and_neon_tables(
    aws_conn: str,
    endpoint_pair: Any,
    pg_server: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    arn = _task(
        hook, endpoint_pair.source_arn, endpoint_pair.target_arn, replication_instance_arn, unique_id("task")
    )
    operator = NeonDmsStartTaskOperator(
        task_id="start", replication_task_arn=arn, deferrable=False, waiter_delay=0.1
    )
    operator.execute(context_factory())
    lineage = _extractor(operator).extract_on_complete(None)
    namespace = f"postgres://{pg_server.host}:{pg_server.port}"
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        (namespace, f"{endpoint_pair.source_db}.public.items")
    ]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        (namespace, f"{endpoint_pair.target_db}.public.items")
    ]
    assert "columnLineage" not in lineage.outputs[0].facets  # no neon_conn_id: DMS lists no columns
    assert lineage.run_facets["externalQuery"].externalQueryId == arn


def test_failed_load_reports_the_dms_failure(
    aws_conn: str,
    dms: Any,
    endpoint_pair: Any,
    pg_server: Any,
    replication_instance_arn: str,
    unique_id: Callable[[str], str],
    context_factory: Callable[..., dict[str, Any]],
) -> None:
    bad_source = dms.create_endpoint(
        EndpointIdentifier=unique_id("source"),
        EndpointType="source",
        EngineName="postgres",
        ServerName=pg_server.host,
        Port=pg_server.port,
        DatabaseName="no_such_database_here",
        Username=pg_server.user,
        Password="unused",
    )["Endpoint"]["EndpointArn"]
    hook = NeonDmsHook(aws_conn_id=aws_conn)
    arn = _task(hook, bad_source, endpoint_pair.target_arn, replication_instance_arn, unique_id("task"))
    operator = NeonDmsStartTaskOperator(
        task_id="start", replication_task_arn=arn, deferrable=False, waiter_delay=0.1
    )
    with pytest.raises(ReplicationTaskFailedError):
        operator.execute(context_factory())
    lineage = _extractor(operator).extract_on_failure(None)
    assert lineage.run_facets["externalQuery"].externalQueryId == arn
    message = lineage.run_facets["errorMessage"].message
    assert "FATAL_ERROR" in message and "no_such_database_here" in message

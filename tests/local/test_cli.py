"""``neon-dms local-dms`` and ``neon-dms neon-proxy`` as a user runs them: foreground, stopped by a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import boto3
import psycopg
import pytest

from airflow_neon_dms.local.embedded import free_port


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_neon_dms.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "ready" in line:
            return process, "".join(lines)
    process.wait(10)
    raise AssertionError("the command did not start: " + "".join(lines))


def _stop(process: subprocess.Popen[str], sig: int) -> str:
    process.send_signal(sig)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_local_dms_serves_until_signalled(pg_server: Any, sig: int) -> None:
    port = free_port()
    process, ready = _start(
        "local-dms", "--port", str(port), "--neon", f"ep-cli-1@localhost:{pg_server.port}"
    )
    try:
        assert f"endpoint_url=http://127.0.0.1:{port}" in ready
        client = boto3.client(
            "dms",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="eu-west-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        assert client.describe_endpoints()["Endpoints"] == []
    finally:
        output = _stop(process, sig)
    assert "Neon endpoint ep-cli-1" in ready
    assert "Local DMS stopped" in output


def test_local_dms_rejects_a_bad_neon_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_neon_dms.cli", "local-dms", "--port", "0", "--neon", "ep-x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ENDPOINT_ID@HOST:PORT" in result.stderr


def test_neon_proxy_command(pg_server: Any) -> None:
    port = free_port()
    process, ready = _start(
        "neon-proxy",
        "--endpoint-id",
        "ep-cli-2",
        "--backend",
        f"{pg_server.host}:{pg_server.port}",
        "--port",
        str(port),
    )
    try:
        assert f"127.0.0.1:{port}" in ready
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user=pg_server.user,
            password=f"endpoint=ep-cli-2${pg_server.password or 'x'}",
            dbname="postgres",
            sslmode="require",
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        _stop(process, signal.SIGTERM)


def test_local_dms_creates_replication_instances_at_start() -> None:
    port = free_port()
    process, ready = _start(
        "local-dms", "--host", "0.0.0.0", "--port", str(port), "--replication-instance", "neon-dms-local",
        "--s3-bucket", "assessments",
    )  # fmt: skip
    try:
        client = boto3.client(
            "dms",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        instances = client.describe_replication_instances()["ReplicationInstances"]
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        _stop(process, signal.SIGTERM)
    assert [i["ReplicationInstanceIdentifier"] for i in instances] == ["neon-dms-local"]
    assert instances[0]["ReplicationInstanceArn"].startswith("arn:aws:dms:us-east-1:")
    assert instances[0]["ReplicationInstanceStatus"] == "available"
    assert "Replication instance ready" in ready
    assert buckets == ["assessments"]


def test_local_dms_keeps_new_tasks_creating_when_asked() -> None:
    port = free_port()
    process, _ = _start(
        "local-dms", "--port", str(port), "--replication-instance", "ri-cli", "--task-creating-seconds", "120"
    )
    try:
        client = boto3.client(
            "dms",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        [instance] = client.describe_replication_instances()["ReplicationInstances"]
        endpoints = [
            client.create_endpoint(
                EndpointIdentifier=f"cli-{kind}",
                EndpointType=kind,
                EngineName="postgres",
                ServerName="127.0.0.1",
                Port=5432,
                DatabaseName="db",
                Username="u",
                Password="p",
            )["Endpoint"]["EndpointArn"]
            for kind in ("source", "target")
        ]
        arn = client.create_replication_task(
            ReplicationTaskIdentifier="cli-task",
            SourceEndpointArn=endpoints[0],
            TargetEndpointArn=endpoints[1],
            ReplicationInstanceArn=instance["ReplicationInstanceArn"],
            MigrationType="full-load",
            TableMappings='{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1", '
            '"object-locator": {"schema-name": "public", "table-name": "%"}, "rule-action": "include"}]}',
        )["ReplicationTask"]["ReplicationTaskArn"]
        [task] = client.describe_replication_tasks()["ReplicationTasks"]
        with pytest.raises(client.exceptions.InvalidResourceStateFault):
            client.start_replication_task(
                ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
            )
    finally:
        _stop(process, signal.SIGTERM)
    assert task["Status"] == "creating"


@pytest.mark.parametrize(("flags", "after_delete"), [((), "deleting"), (("--instant-states",), "gone")])
def test_local_dms_state_timing_flags(flags: tuple[str, ...], after_delete: str) -> None:
    port = free_port()
    process, _ = _start("local-dms", "--port", str(port), *flags)
    try:
        client = boto3.client(
            "dms",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="eu-west-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        arn = client.create_endpoint(
            EndpointIdentifier="cli-timing",
            EndpointType="target",
            EngineName="postgres",
            ServerName="127.0.0.1",
            Port=5432,
            Username="u",
        )["Endpoint"]["EndpointArn"]
        client.delete_endpoint(EndpointArn=arn)
        try:
            found = client.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])
            status = found["Endpoints"][0]["Status"]
        except client.exceptions.ResourceNotFoundFault:
            status = "gone"
    finally:
        _stop(process, signal.SIGTERM)
    assert arn.startswith("arn:aws:dms:eu-west-1:")
    assert status == after_delete


def test_local_dms_serves_cloudwatch_and_checks_the_metrics_period() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "airflow_neon_dms.cli", "local-dms", "--metrics-period-seconds", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "'0' is not a positive number of seconds" in bad.stderr
    port = free_port()
    process, _ = _start("local-dms", "--port", str(port), "--metrics-period-seconds", "60")
    try:
        cloudwatch = boto3.client(
            "cloudwatch",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="eu-west-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        assert cloudwatch.list_metrics(Namespace="AWS/DMS")["Metrics"] == []
    finally:
        _stop(process, signal.SIGTERM)

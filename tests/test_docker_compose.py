"""docker-compose.yaml is coherent: services, images, dependencies, health checks, connections."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_the_whole_stack_is_there(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        *AIRFLOW_SERVICES,
        "airflow-init",
        "airflow-metadata",
        "source-db",
        "neon-backend",
        "neon-proxy",
        "local-dms",
        "demo-data",
    }
    assert expected <= set(services)


def test_every_service_has_an_image_and_builds_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name
            # every service built from the repository shares one tag, so one build serves all
            assert service["image"] == "airflow-neon-dms:local", name


def test_dockerfile_installs_this_provider_on_airflow_3() -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    match = re.search(r"^FROM apache/airflow:(\d+)\.(\d+)\.(\d+)", text, re.MULTILINE)
    assert match and match.group(1) == "3"
    assert re.search(r"pip install .*airflow-neon-dms\[local,deployment\]", text)


def test_metadata_database_drivers_come_with_an_extra(services: dict[str, dict[str, Any]]) -> None:
    """The URL's sync driver, and asyncpg for the async engine Airflow derives from it, are installed."""
    import tomllib

    url = services["airflow-apiserver"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url.startswith("postgresql+psycopg2://")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~\[ ]", requirement)[0] for requirement in extras["deployment"]}
    assert {"psycopg2-binary", "asyncpg"} <= names


def test_dependencies_point_at_services_that_can_satisfy_them(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dep, rule in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert dep != name
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], (
                    f"{name} waits for {dep} to be healthy, which has no check"
                )
            elif condition == "service_completed_successfully":
                assert services[dep].get("restart", "no") == "no", f"{dep} must run once"
            else:
                assert condition == "service_started"


def test_no_dependency_cycles(services: dict[str, dict[str, Any]]) -> None:
    state: dict[str, str] = {}

    def visit(node: str) -> None:
        assert state.get(node) != "open", f"cycle through {node}"
        if state.get(node) == "done":
            return
        state[node] = "open"
        for dep in services[node].get("depends_on") or {}:
            visit(dep)
        state[node] = "done"

    for name in services:
        visit(name)


def test_long_running_services_have_health_checks(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if service.get("restart") == "no":
            continue
        assert "healthcheck" in service, name


def test_airflow_components_share_config_and_dags(services: dict[str, dict[str, Any]]) -> None:
    envs = [services[name]["environment"] for name in AIRFLOW_SERVICES]
    assert all(env == envs[0] for env in envs)
    commands = {services[name]["command"] for name in AIRFLOW_SERVICES}
    assert commands == {"api-server", "scheduler", "dag-processor", "triggerer"}
    for name in AIRFLOW_SERVICES:
        assert "./dags:/opt/airflow/dags" in services[name]["volumes"]
    assert (ROOT / "dags").is_dir()


def _port(service: dict[str, Any], default: int) -> int:
    command = service.get("command") or []
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    return default


def test_connections_reach_services_in_the_stack(services: dict[str, dict[str, Any]]) -> None:
    env = services["airflow-scheduler"]["environment"]
    source = urlsplit(env["AIRFLOW_CONN_DMS_SOURCE"])
    assert source.hostname in services and source.port == 5432
    neon = json.loads(env["AIRFLOW_CONN_NEON_TARGET"])
    assert neon["conn_type"] == "neon"
    assert neon["host"] == "neon-proxy" and neon["port"] == _port(services["neon-proxy"], 5432)
    assert neon["extra"]["sslmode"] == "require"
    proxy_cmd = services["neon-proxy"]["command"]
    assert proxy_cmd[proxy_cmd.index("--endpoint-id") + 1] == neon["extra"]["endpoint_id"]
    backend_host = proxy_cmd[proxy_cmd.index("--backend") + 1].split(":")[0]
    assert backend_host in services
    aws = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    endpoint = urlsplit(aws["extra"]["endpoint_url"])
    assert endpoint.hostname in services
    assert endpoint.port == _port(services[endpoint.hostname], 0)
    instance = services["local-dms"]["command"]
    name = instance[instance.index("--replication-instance") + 1]
    assert env["NEON_DMS_REPLICATION_INSTANCE_ARN"] == name


def test_demo_tables_match_what_the_dag_selects(services: dict[str, dict[str, Any]]) -> None:
    from airflow_neon_dms.dms.mapping_match import select_tables
    from airflow_neon_dms.dms.mappings import TableMappings
    from airflow_neon_dms.local.sample_data import MIGRATED_TABLES, SOURCE_DDL

    env = services["airflow-scheduler"]["environment"]
    exclude = env["NEON_DMS_EXCLUDE_TABLES"].split(",")
    source_tables = [("public", name) for name in re.findall(r"CREATE TABLE (\w+)", SOURCE_DDL)]
    selected = select_tables(TableMappings.include("public", exclude=exclude).to_dict(), source_tables)
    assert sorted(t for _, t in selected) == sorted(MIGRATED_TABLES)


def test_demo_data_writes_to_the_databases_of_the_stack(services: dict[str, dict[str, Any]]) -> None:
    command = services["demo-data"]["command"]
    for flag in ("--source-dsn", "--target-dsn"):
        host = urlsplit(command[command.index(flag) + 1]).hostname
        assert host in services and host in services["demo-data"]["depends_on"]

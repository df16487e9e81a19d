"""Provider metadata: the single copy Airflow's ProvidersManager reads."""

from __future__ import annotations

from typing import Any

from airflow_neon_dms import __version__

PACKAGE_NAME = "airflow-neon-dms"
INTEGRATION_NEON = "Neon"
INTEGRATION_DMS = "AWS Database Migration Service (to Neon)"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow discovers through the entry point."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Neon DMS",
        "description": "Run AWS Database Migration Service migrations into Neon as Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION_NEON,
                "external-doc-url": "https://neon.com/docs/import/migrate-aws-dms",
                "tags": ["software"],
            },
            {
                "integration-name": INTEGRATION_DMS,
                "external-doc-url": "https://aws.amazon.com/dms/",
                "tags": ["aws"],
            },
        ],
        "hooks": [
            {"integration-name": INTEGRATION_NEON, "python-modules": ["airflow_neon_dms.hooks.neon"]},
            {
                "integration-name": INTEGRATION_DMS,
                "python-modules": ["airflow_neon_dms.hooks.dms", "airflow_neon_dms.hooks.dms_assessment"],
            },
        ],
        "operators": [
            {
                "integration-name": INTEGRATION_DMS,
                "python-modules": [
                    "airflow_neon_dms.operators.endpoint",
                    "airflow_neon_dms.operators.connection_test",
                    "airflow_neon_dms.operators.task",
                    "airflow_neon_dms.operators.run",
                    "airflow_neon_dms.operators.validation",
                    "airflow_neon_dms.operators.reload",
                    "airflow_neon_dms.operators.assessment",
                ],
            },
            {
                "integration-name": INTEGRATION_NEON,
                "python-modules": [
                    "airflow_neon_dms.operators.schema_preflight",
                    "airflow_neon_dms.operators.sequences",
                    "airflow_neon_dms.operators.data_diff",
                ],
            },
        ],
        "sensors": [
            {"integration-name": INTEGRATION_DMS, "python-modules": ["airflow_neon_dms.sensors.task"]},
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION_DMS,
                "python-modules": [
                    "airflow_neon_dms.triggers.connection_test",
                    "airflow_neon_dms.triggers.task",
                    "airflow_neon_dms.triggers.table_statistics",
                    "airflow_neon_dms.triggers.task_startable",
                    "airflow_neon_dms.triggers.assessment",
                ],
            },
        ],
        "extra-links": [
            "airflow_neon_dms.links.dms.NeonDmsEndpointLink",
            "airflow_neon_dms.links.dms.NeonDmsTaskLink",
            "airflow_neon_dms.links.dms.NeonDmsTableStatisticsLink",
            "airflow_neon_dms.links.dms.NeonDmsTaskLogsLink",
        ],
        "notifications": [
            "airflow_neon_dms.notifications.notifier.NeonDmsAlertNotifier",
            "airflow_neon_dms.notifications.notifier.NeonDmsSmtpNotifier",
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_neon_dms.hooks.neon.NeonHook",
                "hook-name": "Neon",
                "connection-type": "neon",
                "conn-fields": {
                    "endpoint_id": {
                        "label": "Endpoint ID",
                        "description": "Neon endpoint id (ep-...). Only needed when the host does not "
                        "start with it, e.g. a custom DNS name.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "sslmode": {
                        "label": "SSL mode",
                        "description": "This worker's TLS mode; Neon requires TLS. Empty: verify-full "
                        "for a *.neon.tech host (system roots), require for other hosts. Set require "
                        "to skip certificate checks.",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": [None, "require", "verify-ca", "verify-full"],
                        },
                    },
                    "certificate_arn": {
                        "label": "DMS certificate ARN",
                        "description": "ARN of Neon's CA (ISRG Root X1) imported into DMS; the DMS "
                        "endpoint then verifies Neon's certificate (SslMode verify-full).",
                        "schema": {"type": ["string", "null"]},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": [],
                    "relabeling": {"schema": "Database", "login": "Role"},
                    "placeholders": {
                        "host": "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
                        "schema": "neondb",
                        "login": "neondb_owner",
                        "port": "5432",
                    },
                },
            }
        ],
    }

"""Rules for the settings of DMS endpoints: MySQL databases, and TLS modes with their certificates.

Pure, no Airflow import. Sources: botocore's DMS model (2016-01-01): CreateEndpoint and
ModifyEndpoint ``DatabaseName`` ("For a MySQL source or target endpoint, do not specify
DatabaseName"; MySQLSettings.DatabaseName: specifying it "replicates all the task tables to this
single database ... you specify the database only when you specify the schema in the
table-mapping rules"), ``SslMode`` (none, require, verify-ca, verify-full) and ``CertificateArn``;
the DMS user guide, "Using SSL with AWS Database Migration Service": verify-ca and verify-full
need a certificate imported into DMS (ImportCertificate) and named on the endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_neon_dms.exceptions import NeonConfigError

#: EngineName values of the MySQL family (MySQL, MariaDB, Aurora MySQL, Cloud SQL for MySQL).
MYSQL_ENGINES: frozenset[str] = frozenset({"mysql", "mariadb", "aurora", "aurora-serverless", "gcp-mysql"})
#: The schema a PostgreSQL source migrates when none is named.
POSTGRES_DEFAULT_SCHEMA = "public"

DMS_SSL_MODES: frozenset[str] = frozenset({"none", "require", "verify-ca", "verify-full"})
#: SslMode values that check the server's certificate, so DMS needs the CA as CertificateArn.
VERIFYING_SSL_MODES: frozenset[str] = frozenset({"verify-ca", "verify-full"})

#: How to give DMS the CA of a Neon endpoint (Neon's certificates are issued by Let's Encrypt,
#: whose root is ISRG Root X1).
IMPORT_NEON_CA = (
    "Import Neon's CA into DMS once: download ISRG Root X1 "
    "(https://letsencrypt.org/certs/isrgrootx1.pem), run `aws dms import-certificate "
    "--certificate-identifier isrg-root-x1 --certificate-pem file://isrgrootx1.pem`, and pass the "
    "returned CertificateArn"
)


def is_mysql_engine(engine: str | None) -> bool:
    return str(engine or "").lower() in MYSQL_ENGINES


def check_mysql_database_name(endpoint: str, settings: Mapping[str, Any]) -> None:
    """Raise when a MySQL-family endpoint's settings carry DatabaseName (DMS would then load every
    task table into that one database)."""
    if is_mysql_engine(settings.get("EngineName")) and settings.get("DatabaseName"):
        raise NeonConfigError(
            f"Endpoint {endpoint} is a {settings['EngineName']} endpoint with DatabaseName "
            f"{settings['DatabaseName']!r}. DMS must not get DatabaseName for MySQL endpoints (it would "
            "replicate every task table into that one database). Remove it from extra_settings and "
            "name the database as the schema of the table mapping (the DAG's source_schema)."
        )


def default_source_schema(engine: str | None, connection_schema: str | None, conn_id: str) -> str:
    """The table-mapping schema to migrate when none is given.

    A MySQL database is a schema in DMS table mappings, so a MySQL-family source migrates the
    database named in its connection's Schema field; a PostgreSQL source migrates ``public``.
    """
    if not is_mysql_engine(engine):
        return POSTGRES_DEFAULT_SCHEMA
    if not connection_schema:
        raise NeonConfigError(
            f"Connection {conn_id!r} is a MySQL source without a Schema (database) and no source_schema "
            "was given. Set the connection's Schema to the database to migrate, or pass source_schema."
        )
    return connection_schema


def tls_settings(endpoint: str, ssl_mode: str, certificate_arn: str | None) -> dict[str, str]:
    """``SslMode`` (and ``CertificateArn``) for an endpoint; raise for a mode DMS cannot honour."""
    mode = (ssl_mode or "none").strip().lower()
    if mode not in DMS_SSL_MODES:
        raise NeonConfigError(
            f"Endpoint {endpoint}: SslMode {ssl_mode!r} is not one of {', '.join(sorted(DMS_SSL_MODES))}."
        )
    if mode in VERIFYING_SSL_MODES and not certificate_arn:
        raise NeonConfigError(
            f"Endpoint {endpoint}: SslMode {mode} checks the server's certificate, so DMS needs the CA "
            f"as a CertificateArn, and none was given. {IMPORT_NEON_CA} as certificate_arn (operator "
            "argument or the connection's 'certificate_arn' extra); or use ssl_mode 'require'."
        )
    settings = {"SslMode": mode}
    if certificate_arn:
        settings["CertificateArn"] = certificate_arn
    return settings

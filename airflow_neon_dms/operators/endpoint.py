"""Create (or reuse) the DMS endpoints: the Neon target, and a generic source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseHook, Context

from airflow_neon_dms.exceptions import NeonConfigError
from airflow_neon_dms.links.dms import NeonDmsEndpointLink
from airflow_neon_dms.masking import mask
from airflow_neon_dms.operators.base import AWS_TEMPLATE_FIELDS, NeonDmsBaseOperator

DEFAULT_TAGS: dict[str, str] = {"managed-by": "airflow-neon-dms"}

#: Airflow connection type -> DMS EngineName.
ENGINE_BY_CONN_TYPE: dict[str, str] = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "neon": "postgres",
    "mysql": "mysql",
    "mariadb": "mariadb",
    "oracle": "oracle",
    "mssql": "sqlserver",
    "sqlserver": "sqlserver",
}


class _EndpointOperator(NeonDmsBaseOperator):
    operator_extra_links = (NeonDmsEndpointLink(),)

    def __init__(
        self,
        *,
        endpoint_identifier: str,
        tags: Mapping[str, str] | None = None,
        extra_settings: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint_identifier = endpoint_identifier
        self.tags = tags
        self.extra_settings = extra_settings

    def endpoint_settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def execute(self, context: Context) -> str:
        from airflow_neon_dms.dms.endpoint_settings import check_mysql_database_name

        settings = {**self.endpoint_settings(), **dict(self.extra_settings or {})}
        check_mysql_database_name(self.endpoint_identifier, settings)
        tags = {**DEFAULT_TAGS, **dict(self.tags or {})}
        arn, action = self.hook.ensure_endpoint(self.endpoint_identifier, settings, tags)
        NeonDmsEndpointLink.persist(
            context=context,
            operator=self,
            region_name=self.hook.conn_region_name,
            aws_partition=self.hook.conn_partition,
            endpoint_id=self.endpoint_identifier,
        )
        self.log.info(
            "Endpoint %s (%s, %s:%s/%s) %s: %s",
            self.endpoint_identifier,
            settings.get("EngineName"),
            settings.get("ServerName"),
            settings.get("Port"),
            settings.get("DatabaseName"),
            action,
            arn,
        )
        return arn


class NeonTargetEndpointOperator(_EndpointOperator):
    """
    Create the DMS target endpoint for a Neon database, or reuse (and update) the one that exists.

    The endpoint always carries the connection's current password: a salted scrypt fingerprint in
    an endpoint tag tells when it changed (a rotation), and the password is then sent again.

    Reads the ``neon`` connection through NeonHook: the direct (non-pooler) host and the password
    in the form ``endpoint=<endpoint-id>$<password>``, which is masked in logs and never returned.
    TLS: SslMode ``require``, or ``verify-full`` once DMS has Neon's CA (``certificate_arn``: the
    ARN ImportCertificate returned for ISRG Root X1). Returns the endpoint ARN.

    :param endpoint_identifier: DMS endpoint identifier (letters, digits, hyphens).
    :param neon_conn_id: Airflow connection of type ``neon``.
    :param tags: tags for a new endpoint (``managed-by: airflow-neon-dms`` is added).
    :param extra_settings: more CreateEndpoint arguments (e.g. ``PostgreSQLSettings``); they win.
    :param ssl_mode: DMS SslMode; default: the connection's ``dms_ssl_mode`` extra, else
        ``verify-full`` with a certificate ARN and ``require`` without.
    :param certificate_arn: ARN of Neon's CA in DMS (default: the connection's ``certificate_arn``
        extra); verify-ca and verify-full need it.
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "neon_conn_id",
        "endpoint_identifier",
        "ssl_mode",
        "certificate_arn",
        "tags",
        "extra_settings",
    )
    template_fields_renderers = {"extra_settings": "json", "tags": "json"}

    def __init__(
        self,
        *,
        neon_conn_id: str = "neon_default",
        ssl_mode: str | None = None,
        certificate_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.neon_conn_id = neon_conn_id
        self.ssl_mode = ssl_mode
        self.certificate_arn = certificate_arn

    def endpoint_settings(self) -> dict[str, Any]:
        from airflow_neon_dms.hooks.neon import NeonHook  # psycopg: only when the task runs

        return NeonHook(neon_conn_id=self.neon_conn_id).dms_target_settings(
            ssl_mode=self.ssl_mode, certificate_arn=self.certificate_arn
        )


class NeonDmsSourceEndpointOperator(_EndpointOperator):
    """
    Create (or reuse) a DMS source endpoint from an Airflow connection and/or explicit settings.

    The connection gives EngineName (from its type: postgres, mysql, mariadb, oracle, mssql),
    ServerName, Port, DatabaseName, Username and Password (masked); ``extra_settings`` can set or
    override any CreateEndpoint argument, so a source with no Airflow connection works too.
    A MySQL or MariaDB endpoint gets no DatabaseName (botocore: DMS would then load every task
    table into that one database): the connection's Schema is the table mapping's schema instead.
    A changed connection password is sent again, as for the Neon target. Returns the endpoint ARN.

    :param endpoint_identifier: DMS endpoint identifier.
    :param source_conn_id: Airflow connection of the source database (optional).
    :param engine_name: DMS EngineName; defaults from the connection type.
    :param ssl_mode: DMS SslMode (none, require, verify-ca, verify-full); the connection's
        ``sslmode`` extra when not given, else ``none``.
    :param certificate_arn: ARN of the source's CA imported into DMS (default: the connection's
        ``certificate_arn`` extra); verify-ca and verify-full need it.
    """

    template_fields: Sequence[str] = (
        *AWS_TEMPLATE_FIELDS,
        "source_conn_id",
        "endpoint_identifier",
        "engine_name",
        "ssl_mode",
        "certificate_arn",
        "tags",
        "extra_settings",
    )
    template_fields_renderers = {"extra_settings": "json", "tags": "json"}

    def __init__(
        self,
        *,
        source_conn_id: str | None = None,
        engine_name: str | None = None,
        ssl_mode: str | None = None,
        certificate_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.engine_name = engine_name
        self.ssl_mode = ssl_mode
        self.certificate_arn = certificate_arn

    def endpoint_settings(self) -> dict[str, Any]:
        from airflow_neon_dms.dms.endpoint_settings import is_mysql_engine, tls_settings

        settings: dict[str, Any] = {"EndpointType": "source"}
        if self.source_conn_id:
            conn = BaseHook.get_connection(self.source_conn_id)
            engine = self.engine_name or ENGINE_BY_CONN_TYPE.get(str(conn.conn_type or "").lower())
            if not engine:
                raise NeonConfigError(
                    f"Connection {self.source_conn_id!r} has type {conn.conn_type!r}, which has no DMS "
                    f"engine this operator knows ({', '.join(sorted(set(ENGINE_BY_CONN_TYPE)))}). Pass "
                    "engine_name='<DMS EngineName>'."
                )
            mask(conn.password or "")
            extra = conn.extra_dejson or {}
            settings.update(
                {
                    "EngineName": engine,
                    "ServerName": conn.host,
                    "Port": int(conn.port) if conn.port else None,
                    # MySQL: the database is the table mapping's schema, never DatabaseName.
                    "DatabaseName": None if is_mysql_engine(engine) else conn.schema or None,
                    "Username": conn.login,
                    "Password": conn.password,
                    **tls_settings(
                        self.endpoint_identifier,
                        self.ssl_mode or _dms_ssl_mode(extra.get("sslmode")),
                        self.certificate_arn or extra.get("certificate_arn"),
                    ),
                }
            )
        elif self.engine_name:
            settings["EngineName"] = self.engine_name
            if self.ssl_mode:
                settings.update(tls_settings(self.endpoint_identifier, self.ssl_mode, self.certificate_arn))
        settings = {k: v for k, v in settings.items() if v not in (None, "")}
        missing = [k for k in ("EngineName",) if k not in settings and k not in (self.extra_settings or {})]
        if missing:
            raise NeonConfigError(
                f"Source endpoint {self.endpoint_identifier} has no EngineName: pass source_conn_id (an "
                "Airflow connection of the source database) or engine_name plus extra_settings."
            )
        return settings


def _dms_ssl_mode(libpq_mode: object) -> str:
    """libpq sslmode -> DMS SslMode (disable/allow/prefer have no DMS equivalent but ``none``)."""
    value = str(libpq_mode or "").lower()
    return value if value in ("require", "verify-ca", "verify-full") else "none"

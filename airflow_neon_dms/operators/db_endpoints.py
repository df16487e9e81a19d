"""Turn Airflow connection ids into database endpoints for the schema, sequence and diff operators.

Sources: ``postgres`` and ``mysql`` connection types, or any connection whose URI is
``postgresql://`` / ``mysql://``. The Neon target: the ``neon`` connection type (``postgres``
accepted too), read by ``NeonHook``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook, Connection

from airflow_neon_dms.diff.connect import Endpoint, endpoint_from_dsn
from airflow_neon_dms.exceptions import WrongConnectionTypeError
from airflow_neon_dms.masking import mask

POSTGRES_TYPES = frozenset({"postgres", "postgresql"})
MYSQL_TYPES = frozenset({"mysql", "mariadb"})


def _where(conn: Connection) -> str:
    return f"{conn.host or 'localhost'}:{conn.port or ''}/{conn.schema or ''}"


def source_endpoint(conn_id: str) -> Endpoint:
    """The migration source named by an Airflow connection id (PostgreSQL, MySQL or MariaDB)."""
    conn = BaseHook.get_connection(conn_id)
    if conn.password:
        mask(conn.password)
    conn_type = (conn.conn_type or "").lower()
    if conn_type in POSTGRES_TYPES:
        params: dict[str, Any] = {
            "host": conn.host or "localhost",
            "port": conn.port or 5432,
            "dbname": conn.schema or "postgres",
            "user": conn.login,
            "password": conn.password or None,
            "connect_timeout": int(conn.extra_dejson.get("connect_timeout", 10)),
        }
        if conn.extra_dejson.get("sslmode"):
            params["sslmode"] = conn.extra_dejson["sslmode"]
        return Endpoint(
            "postgresql", {k: v for k, v in params.items() if v is not None}, f"PostgreSQL {_where(conn)}"
        )
    if conn_type in MYSQL_TYPES:
        params = {
            "host": conn.host or "localhost",
            "port": conn.port or 3306,
            "user": conn.login or "root",
            "password": conn.password or "",
            "charset": "utf8mb4",
            "connect_timeout": int(conn.extra_dejson.get("connect_timeout", 10)),
        }
        if conn.schema:
            params["database"] = conn.schema
        return Endpoint("mysql", params, f"MySQL {_where(conn)}")
    uri = conn.get_uri()
    if uri.startswith(("postgresql://", "postgres://", "mysql://", "mariadb://")):
        return endpoint_from_dsn(uri, "source")
    raise WrongConnectionTypeError(
        f"Connection {conn_id!r} has type {conn.conn_type!r}; the source must be a 'postgres' or 'mysql' "
        "connection (or have a postgresql:// or mysql:// URI)."
    )


def neon_endpoint(conn_id: str) -> Endpoint:
    """The Neon target named by an Airflow connection id: ``NeonHook``'s connection arguments.

    The hook checks the connection (type, host, role, database, sslmode), masks the password,
    swaps a ``-pooler`` host for the direct one and passes the endpoint id when SNI cannot.
    """
    from airflow_neon_dms.hooks.neon import NeonHook

    hook = NeonHook(neon_conn_id=conn_id)
    params = {k: v for k, v in hook.connection_kwargs().items() if v is not None}
    target = hook.target
    return Endpoint("postgresql", params, f"Neon {target.host}:{target.port}/{target.database}")


def source_schema(conn_id: str, given: str | None = None) -> str:
    """The table-mapping schema to migrate: ``given``, else the source connection's default.

    A MySQL/MariaDB source migrates the database in its connection's Schema field (DMS takes a
    MySQL database as the mapping's schema, never as the endpoint's DatabaseName); any other
    source migrates ``public``.
    """
    from airflow_neon_dms.dms.endpoint_settings import default_source_schema

    if given:
        return given
    conn = BaseHook.get_connection(conn_id)
    engine = "mysql" if (conn.conn_type or "").lower() in MYSQL_TYPES else conn.conn_type
    return default_source_schema(engine, conn.schema, conn_id)

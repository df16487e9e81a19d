"""Turn Airflow connection ids into database endpoints for the schema, sequence and diff operators.

Sources: ``postgres`` and ``mysql`` connection types, or any connection whose URI is
``postgresql://`` / ``mysql://``. The Neon target: the ``neon`` connection type (``postgres``
accepted too), read with the same fields as ``NeonHook``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook, Connection
from airflow.sdk.log import mask_secret

from airflow_neon_dms.diff.connect import Endpoint, endpoint_from_dsn
from airflow_neon_dms.exceptions import WrongConnectionTypeError
from airflow_neon_dms.neon import endpoint_id_from_host, is_neon_host

POSTGRES_TYPES = frozenset({"postgres", "postgresql"})
MYSQL_TYPES = frozenset({"mysql", "mariadb"})
NEON_TYPES = frozenset({"neon", "postgres", "postgresql"})


def _where(conn: Connection) -> str:
    return f"{conn.host or 'localhost'}:{conn.port or ''}/{conn.schema or ''}"


def source_endpoint(conn_id: str) -> Endpoint:
    """The migration source named by an Airflow connection id (PostgreSQL, MySQL or MariaDB)."""
    conn = BaseHook.get_connection(conn_id)
    if conn.password:
        mask_secret(conn.password)
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
    """The Neon target named by an Airflow connection id (TLS required unless the extra says otherwise).

    Mirrors ``NeonHook.connection_kwargs()``; once the hook is available this becomes
    ``Endpoint("postgresql", NeonHook(neon_conn_id=conn_id).connection_kwargs(), ...)``.
    """
    conn = BaseHook.get_connection(conn_id)
    if (conn.conn_type or "").lower() not in NEON_TYPES:
        raise WrongConnectionTypeError(
            f"Connection {conn_id!r} has type {conn.conn_type!r}; the Neon target needs a 'neon' "
            "connection. Create it with --conn-type neon."
        )
    if conn.password:
        mask_secret(conn.password)
    extra = conn.extra_dejson
    host = conn.host or "localhost"
    params: dict[str, Any] = {
        "host": host,
        "port": conn.port or 5432,
        "dbname": conn.schema or "neondb",
        "user": conn.login,
        "password": conn.password or None,
        "sslmode": extra.get("sslmode") or "require",
        "connect_timeout": int(extra.get("connect_timeout", 10)),
        "application_name": "airflow-neon-dms",
    }
    explicit_id = extra.get("endpoint_id")
    if explicit_id:
        endpoint_id = endpoint_id_from_host(host, explicit_id)
        if not (is_neon_host(host) and host.split(".", 1)[0] == endpoint_id):
            params["options"] = f"endpoint={endpoint_id}"
    return Endpoint("postgresql", {k: v for k, v in params.items() if v is not None}, f"Neon {_where(conn)}")

"""NeonHook: psycopg 3 connections to a Neon database, and the DMS target settings for it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import psycopg
from airflow.sdk import BaseHook

from airflow_neon_dms.dms.endpoint_settings import tls_settings
from airflow_neon_dms.dms.failure_hints import neon_hint, neon_network_hint
from airflow_neon_dms.exceptions import DatabaseConnectionError, WrongConnectionTypeError
from airflow_neon_dms.masking import mask
from airflow_neon_dms.neon import NeonTarget, dms_password, is_neon_host, worker_sslrootcert

#: Connection types this hook reads; ``postgres`` lets an existing Postgres connection to Neon serve.
ACCEPTED_CONN_TYPES = frozenset({"neon", "postgres", "postgresql"})


def redact(text: str, *secrets: str) -> str:
    """Replace every non-empty secret in ``text`` with ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class NeonHook(BaseHook):
    """
    Interact with a Neon database through psycopg 3.

    The Airflow connection (type ``neon``) holds the Neon host, port (5432), role (Login),
    password and database (Schema). Extras: ``endpoint_id`` for hosts that do not start with it;
    ``sslmode`` for this worker's own connection (``verify-full`` against the system's trusted
    roots for a ``*.neon.tech`` host, ``require`` for any other; ``require`` is the documented way
    down); ``sslrootcert`` (a CA file instead of the system roots); ``certificate_arn`` and
    ``dms_ssl_mode`` for the DMS endpoint's TLS. A ``-pooler`` host is replaced by the
    direct host: DMS bulk loads and session settings need it.

    :param neon_conn_id: The Airflow connection id of the Neon database.
    :param connect_timeout: Seconds to wait for the TCP and TLS handshake.
    """

    conn_name_attr = "neon_conn_id"
    default_conn_name = "neon_default"
    conn_type = "neon"
    hook_name = "Neon"

    def __init__(self, neon_conn_id: str = default_conn_name, *, connect_timeout: int = 10) -> None:
        super().__init__()
        self.neon_conn_id = neon_conn_id
        self.connect_timeout = connect_timeout

    @cached_property
    def target(self) -> NeonTarget:
        """The connection's fields, checked and normalised (no I/O beyond reading the connection)."""
        conn = self.get_connection(self.neon_conn_id)
        if conn.conn_type not in ACCEPTED_CONN_TYPES:
            raise WrongConnectionTypeError(
                f"Connection {self.neon_conn_id!r} has type {conn.conn_type!r}; NeonHook needs a "
                "'neon' connection. Create it with --conn-type neon (or in the UI: Connection Type Neon)."
            )
        mask(conn.password or "")
        target = NeonTarget.from_fields(
            conn_id=self.neon_conn_id,
            host=conn.host,
            port=conn.port,
            database=conn.schema,
            user=conn.login,
            password=conn.password,
            extra=conn.extra_dejson,
        )
        if target.was_pooler_host:
            self.log.info(
                "Connection %s names the pooler host; using the direct host %s instead "
                "(PgBouncer transaction mode breaks DMS bulk loads and SET).",
                self.neon_conn_id,
                target.host,
            )
        return target

    def connection_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (they include the password: never log them)."""
        target = self.target
        kwargs: dict[str, Any] = {
            "host": target.host,
            "port": target.port,
            "dbname": target.database,
            "user": target.user,
            "password": target.password,
            "sslmode": target.sslmode,
            "sslrootcert": worker_sslrootcert(
                target.sslmode,
                target.sslrootcert,
                psycopg.pq.version(),
                ssl.get_default_verify_paths().cafile,
            ),
            "connect_timeout": self.connect_timeout,
            "application_name": "airflow-neon-dms",
        }
        if kwargs["sslrootcert"] is None:
            del kwargs["sslrootcert"]
        sni_names_endpoint = is_neon_host(target.host) and target.host.split(".", 1)[0] == target.endpoint_id
        if target.endpoint_id and not sni_names_endpoint:
            # No SNI can carry the endpoint id for this host: pass it as Neon's startup option.
            kwargs["options"] = f"endpoint={target.endpoint_id}"
        return kwargs

    def get_conn(self) -> psycopg.Connection[Any]:
        """Open a new psycopg connection to the Neon database.

        A refused or failed connection raises DatabaseConnectionError naming the Airflow connection,
        the server's reason and the likely fix (never the password).
        """
        kwargs = self.connection_kwargs()
        try:
            return psycopg.connect(**kwargs)
        except psycopg.OperationalError as err:
            target = self.target
            reason = redact((str(err).strip().splitlines() or ["connection failed"])[0], target.password)
            hint = neon_hint(reason, side="airflow") or neon_network_hint(reason)
            raise DatabaseConnectionError(
                f"Neon connection {self.neon_conn_id!r} ({target.user}@{target.host}:{target.port}/"
                f"{target.database}) failed: {reason}.{self._pooler_note()}" + (f" {hint}" if hint else "")
            ) from err

    def _pooler_note(self) -> str:
        """A sentence saying the connection's pooler host was replaced, or ''."""
        if not self.target.was_pooler_host:
            return ""
        return (
            f" The connection's '-pooler' host was replaced by the direct host {self.target.host} "
            "(DMS bulk loads and SET need it; the worker uses the same host)."
        )

    @contextmanager
    def cursor(self) -> Iterator[psycopg.Cursor[Any]]:
        """Yield a cursor in a transaction that commits on success and rolls back on error."""
        with self.get_conn() as conn, conn.cursor() as cur:
            yield cur

    def test_connection(self) -> tuple[bool, str]:
        """Connect and run a query; the Airflow UI's Test button shows the returned message."""
        try:
            target = self.target
            with self.cursor() as cur:
                cur.execute("SELECT current_database(), current_user, current_setting('server_version')")
                row = cur.fetchone()
        except DatabaseConnectionError as err:
            return False, str(err)
        except psycopg.Error as err:
            return False, redact(str(err).strip(), self.target.password)
        except ValueError as err:
            return False, str(err)
        assert row is not None
        where = f"endpoint {target.endpoint_id}" if target.endpoint_id else f"host {target.host}"
        return True, (
            f"Connected to Neon {where}, database {row[0]} as {row[1]} (PostgreSQL {row[2]})."
            f"{self._pooler_note()}"
        )

    def dms_target_settings(
        self, *, ssl_mode: str | None = None, certificate_arn: str | None = None
    ) -> dict[str, Any]:
        """CreateEndpoint arguments for this Neon database as an AWS DMS target.

        ServerName is the direct host, Password is ``endpoint=<id>$<password>`` (masked in logs the
        moment it exists). SslMode is ``ssl_mode``, else the connection's ``dms_ssl_mode`` extra,
        else ``verify-full`` with a certificate ARN (``certificate_arn``, else the connection's
        ``certificate_arn`` extra) and ``require`` without; verify-ca/verify-full without a
        certificate ARN is an error naming the fix.
        """
        target = self.target
        certificate = certificate_arn or target.certificate_arn
        tls = tls_settings(
            f"for Neon connection {self.neon_conn_id!r}",
            ssl_mode or target.dms_sslmode(certificate),
            certificate,
        )
        password = dms_password(target.require_endpoint_id(), target.password)
        mask(password)
        return {
            "EndpointType": "target",
            "EngineName": "postgres",
            "ServerName": target.host,
            "Port": target.port,
            "DatabaseName": target.database,
            "Username": target.user,
            "Password": password,
            **tls,
        }

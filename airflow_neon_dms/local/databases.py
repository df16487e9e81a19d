"""How the emulator reaches an endpoint's database: address, TLS mode, driver, error text.

Every connection the emulator makes (TestConnection, a task's source and target) starts here, so
the Neon routing (``--neon``) and the password handling are in one place. A password never leaves
this module in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import psycopg

POSTGRES_ENGINES = frozenset({"postgres", "aurora-postgresql", "aurora-postgresql-serverless"})
MYSQL_ENGINES = frozenset({"mysql", "mariadb", "aurora", "aurora-serverless"})
CONNECT_TIMEOUT_SECONDS = 10

#: DMS SslMode -> libpq sslmode. The emulator has no certificate store, so verify-ca and
#: verify-full encrypt like ``require`` without checking the server certificate.
_PG_SSLMODE = {"none": "disable", "require": "require", "verify-ca": "require", "verify-full": "require"}


@dataclass(frozen=True)
class DatabaseAddress:
    """Where and how to connect: the endpoint's fields, after Neon routing."""

    engine: str
    host: str
    port: int
    user: str
    password: str = ""
    database: str = ""
    ssl_mode: str = "none"
    #: Why DMS could not connect with these fields at all (e.g. no DatabaseName): every
    #: connection attempt fails with this message instead of using the driver's defaults.
    problem: str = ""
    #: A PostgreSQL source's ``PostgreSQLSettings.SlotName``: a logical replication slot created
    #: beforehand, for a CDC task's native start point (local/cdc/start_position.py).
    slot_name: str = ""

    def __repr__(self) -> str:  # never show the password
        return (
            f"DatabaseAddress(engine={self.engine!r}, host={self.host!r}, port={self.port}, "
            f"user={self.user!r}, database={self.database!r}, ssl_mode={self.ssl_mode!r})"
        )

    @property
    def is_postgres(self) -> bool:
        return self.engine in POSTGRES_ENGINES

    @property
    def is_mysql(self) -> bool:
        return self.engine in MYSQL_ENGINES

    def routed(self, routes: Mapping[tuple[str, int], tuple[str, int]]) -> DatabaseAddress:
        """Return the address with host and port replaced when a route covers them."""
        target = routes.get((self.host.lower(), int(self.port)))
        if target is None:
            return self
        return replace(self, host=target[0], port=target[1])


class DatabaseUnreachable(Exception):
    """A connection could not be opened; ``str()`` is the driver's message without secrets."""


def mask(text: str, *secrets: str) -> str:
    """Replace every secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def connect_postgres(address: DatabaseAddress, **kwargs: Any) -> psycopg.Connection[Any]:
    """Open a psycopg connection to a PostgreSQL endpoint, or raise DatabaseUnreachable."""
    if address.problem:
        raise DatabaseUnreachable(address.problem)
    try:
        return psycopg.connect(
            host=address.host,
            port=address.port,
            user=address.user,
            password=address.password or None,
            dbname=address.database or "postgres",
            sslmode=_PG_SSLMODE.get(address.ssl_mode, "prefer"),
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="neon-dms-local",
            **kwargs,
        )
    except psycopg.Error as err:
        raise DatabaseUnreachable(mask(str(err).strip(), address.password)) from None


def mysql_connect_args(address: DatabaseAddress) -> dict[str, Any]:
    """PyMySQL ``connect()`` keyword arguments for an endpoint (also used by the binlog reader)."""
    return {
        "host": address.host,
        "port": int(address.port),
        "user": address.user,
        "password": address.password,
        "database": address.database or None,
        "charset": "utf8mb4",
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "ssl": {"check_hostname": False} if address.ssl_mode != "none" else None,
    }


def connect_mysql(address: DatabaseAddress, *, streaming: bool = False) -> Any:
    """Open a PyMySQL connection to a MySQL/MariaDB endpoint, or raise DatabaseUnreachable."""
    import pymysql
    import pymysql.cursors

    if address.problem:
        raise DatabaseUnreachable(address.problem)
    try:
        return pymysql.connect(
            **mysql_connect_args(address),
            autocommit=True,
            cursorclass=pymysql.cursors.SSCursor if streaming else pymysql.cursors.Cursor,
        )
    except pymysql.err.MySQLError as err:
        raise DatabaseUnreachable(mysql_error_text(err, address.password)) from None


def mysql_error_text(err: Exception, password: str = "") -> str:
    """A PyMySQL error as ``(code) message``, with the password masked."""
    return mask(_mysql_message(err), password)


def _mysql_message(err: Exception) -> str:
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    if len(args) == 2:
        return f"({args[0]}) {args[1]}"
    return str(err)


def check_connection(address: DatabaseAddress) -> str | None:
    """Connect and run ``SELECT 1``; return None on success, else the driver's error text."""
    try:
        if address.is_postgres:
            with connect_postgres(address) as conn:
                conn.execute("SELECT 1")
        elif address.is_mysql:
            conn = connect_mysql(address)
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
            finally:
                conn.close()
        else:
            return f"The local DMS emulator cannot connect to {address.engine} endpoints."
    except DatabaseUnreachable as err:
        return str(err)
    except Exception as err:  # a driver error after connecting (e.g. the server closed)
        return mask(str(err).strip() or type(err).__name__, address.password)
    return None

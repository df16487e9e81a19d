"""Open source and Neon connections from DSNs for the diff (the CLI and the operators use it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from airflow_neon_dms.diff.redact import dsn_password, redact
from airflow_neon_dms.dms.failure_hints import neon_hint
from airflow_neon_dms.exceptions import DatabaseConnectionError, NeonConfigError
from airflow_neon_dms.schema.model import Engine

POSTGRES_SCHEMES = ("postgresql", "postgres")
MYSQL_SCHEMES = ("mysql", "mariadb", "mysql+pymysql")


def open_postgres(conninfo: str | dict[str, Any]) -> psycopg.Connection[Any]:
    """Open a psycopg 3 connection (PostgreSQL source or the Neon target) from a conninfo or kwargs."""
    if isinstance(conninfo, dict):
        return psycopg.connect(**conninfo)
    return psycopg.connect(conninfo)


def mysql_params(dsn: str) -> dict[str, Any]:
    """pymysql.connect keyword arguments from ``mysql://user:password@host:port/database``."""
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    params: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "charset": "utf8mb4",
        "connect_timeout": int(query.get("connect_timeout", ["10"])[0]),
    }
    database = parts.path.lstrip("/")
    if database:
        params["database"] = unquote(database)
    return params


def open_mysql(params: dict[str, Any]) -> Any:
    """Open a pymysql connection (MySQL or MariaDB source)."""
    try:
        import pymysql
    except ImportError as err:  # pragma: no cover - depends on the installed extras
        raise NeonConfigError(
            "A MySQL/MariaDB source needs the pymysql driver. Install airflow-neon-dms[mysql]."
        ) from err
    return pymysql.connect(**params)


@dataclass(frozen=True)
class Endpoint:
    """How to open one side: its engine and the arguments of its driver (these hold secrets)."""

    engine: Engine
    params: dict[str, Any] = field(repr=False)
    description: str = ""

    def secrets(self) -> list[str]:
        """The passwords this side's driver arguments hold (``password``, or inside ``conninfo``)."""
        found = [str(self.params.get("password") or "")]
        conninfo = self.params.get("conninfo")
        if isinstance(conninfo, str):
            found.append(dsn_password(conninfo) or "")
        return [s for s in found if s]

    def redact(self, text: str) -> str:
        """``text`` without this side's password or any DSN password."""
        return redact(text, self.secrets())

    def open(self) -> Any:
        """Connect; a refused or failed connection raises DatabaseConnectionError naming this side."""
        try:
            return open_postgres(self.params) if self.engine == "postgresql" else open_mysql(self.params)
        except NeonConfigError:
            raise
        except Exception as err:  # psycopg.Error or pymysql.Error: both drivers, one message
            reason = self.redact((str(err).strip().splitlines() or [type(err).__name__])[0])
            hint = neon_hint(reason, side="airflow") or (
                "Check the connection's host, port, login and password, and that the server accepts "
                "connections from this worker."
            )
            raise DatabaseConnectionError(f"Cannot connect to {self.description}: {reason}. {hint}") from err


def endpoint_from_dsn(dsn: str, role: str) -> Endpoint:
    """Parse a ``postgresql://`` or ``mysql://`` DSN; no description or error holds the password."""
    scheme = dsn.split("://", 1)[0].lower() if "://" in dsn else ""
    try:
        parts = urlsplit(dsn)
        where = f"{parts.hostname or 'localhost'}:{parts.port or ''}/{parts.path.lstrip('/')}"
    except ValueError as err:
        reason = redact(str(err), [dsn_password(dsn)])
        raise NeonConfigError(
            f"The {role} DSN is not a valid URI ({reason}). Use postgresql://user:password@host:port/db "
            "or mysql://user:password@host:port/db, with special characters in the password "
            "percent-encoded (@ as %40)."
        ) from None
    if scheme in POSTGRES_SCHEMES:
        return Endpoint("postgresql", {"conninfo": dsn}, f"PostgreSQL {where}")
    if scheme in MYSQL_SCHEMES:
        return Endpoint("mysql", mysql_params(dsn), f"MySQL {where}")
    raise NeonConfigError(
        f"The {role} DSN has scheme {scheme or '(none)'!r}; use postgresql://user:password@host/db "
        "or mysql://user:password@host/db."
    )

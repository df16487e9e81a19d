"""Pure rules about Neon hosts and the password form AWS DMS needs.

AWS DMS does not send TLS SNI, so Neon's proxy cannot tell from the connection which compute
endpoint is meant. Neon accepts the endpoint id inside the password instead:
``endpoint=<endpoint_id>$<password>``. Neon's proxy also accepts ``;`` as the separator, but DMS
refuses ``;`` in endpoint passwords, so ``$`` is the one that works with DMS
(neondatabase/neon issue 4882, pull request 4881).

Nothing here imports Airflow: the hook, the operators, the CLI and the local emulator share it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from airflow_neon_dms.exceptions import DmsPasswordError, NeonConfigError, NeonHostError

NEON_HOST_SUFFIX = ".neon.tech"
POOLER_SUFFIX = "-pooler"
DMS_PASSWORD_SEPARATOR = "$"
#: Separators Neon's proxy accepts between the endpoint id and the password.
NEON_PASSWORD_SEPARATORS = ("$", ";")
ENDPOINT_OPTION_PREFIX = "endpoint="

#: Characters AWS DMS refuses in an endpoint password, per engine. Source: the DMS error quoted in
#: neondatabase/neon issue 4882 ("The parameter Password contains at least one unsupported
#: characters from following list : ;+%") for PostgreSQL endpoints.
DMS_UNSUPPORTED_PASSWORD_CHARACTERS: Mapping[str, frozenset[str]] = {
    "postgres": frozenset(";+%"),
    "aurora-postgresql": frozenset(";+%"),
}

#: Neon's own answer to a client that sent neither SNI nor an endpoint id.
NEON_MISSING_ENDPOINT_MESSAGE = (
    "Endpoint ID is not specified. Either please upgrade the postgres client library (libpq) for "
    "SNI support or pass the endpoint ID (the first part of the domain name) as a parameter: "
    "'?options=endpoint%3D<endpoint-id>'. See more at https://neon.tech/sni"
)

_ENDPOINT_ID_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _clean_host(host: str | None) -> str:
    value = (host or "").strip().rstrip(".").lower()
    if not value:
        raise NeonHostError(
            "Neon host is empty. Set the connection's Host to the endpoint host from the Neon "
            "console, e.g. ep-cool-darkness-123456.us-east-2.aws.neon.tech."
        )
    if _is_ip_address(value):
        return value.strip("[]")
    if "://" in value or "/" in value or "@" in value or ":" in value:
        raise NeonHostError(
            f"Neon host {value!r} is not a bare host name. Put only the host in the Host field "
            "(no scheme, user, port or path)."
        )
    return value


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_neon_host(host: str) -> bool:
    """Return True for a host name under Neon's domain (AWS, Azure and cell hosts alike)."""
    value = (host or "").strip().rstrip(".").lower()
    return value.endswith(NEON_HOST_SUFFIX) and value.count(".") >= 2


def is_pooler_host(host: str) -> bool:
    """Return True when the first DNS label ends with ``-pooler`` (PgBouncer in front of Neon)."""
    first = (host or "").strip().lower().split(".", 1)[0]
    return first.endswith(POOLER_SUFFIX)


def direct_host(host: str) -> str:
    """Return the direct (non-pooler) host: DMS must never go through PgBouncer."""
    value = _clean_host(host)
    if _is_ip_address(value):
        return value
    first, _, rest = value.partition(".")
    if first.endswith(POOLER_SUFFIX):
        first = first[: -len(POOLER_SUFFIX)]
    for label in [first, *(rest.split(".") if rest else [])]:
        if not _HOST_LABEL_RE.match(label):
            raise NeonHostError(
                f"Neon host {value!r} has an invalid DNS label {label!r}. Copy the host from the "
                "Neon console's connection details."
            )
    return f"{first}.{rest}" if rest else first


def validate_endpoint_id(endpoint_id: str) -> str:
    """Return the endpoint id when it has only letters, digits and inner hyphens."""
    value = (endpoint_id or "").strip()
    if not value:
        raise NeonHostError(
            "Neon endpoint id is empty. Set the connection extra 'endpoint_id' "
            "(e.g. ep-cool-darkness-123456) or use the Neon host that starts with it."
        )
    if not _ENDPOINT_ID_RE.match(value):
        bad = sorted({ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch == "-"))})
        detail = f"characters {''.join(bad)!r}" if bad else "a leading or trailing hyphen"
        raise NeonHostError(
            f"Neon endpoint id {value!r} has {detail}; an endpoint id has only letters, digits "
            "and hyphens. Copy it from the Neon console (it is the first part of the host)."
        )
    return value


def endpoint_id_from_host(host: str, endpoint_id: str | None = None) -> str:
    """Return the Neon endpoint id: the explicit one when given, else the host's first label.

    ``ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech`` gives ``ep-cool-darkness-123456``.
    A host outside Neon's domain (a custom DNS name, an IP address, a local stand-in) needs the
    explicit id.
    """
    if endpoint_id:
        return validate_endpoint_id(endpoint_id)
    value = _clean_host(host)
    if _is_ip_address(value) or not is_neon_host(value):
        raise NeonHostError(
            f"Host {value!r} is not a Neon host (*{NEON_HOST_SUFFIX}), so the endpoint id cannot "
            "be read from it. Set the connection extra 'endpoint_id' to the Neon endpoint id "
            "(e.g. ep-cool-darkness-123456)."
        )
    first = direct_host(value).split(".", 1)[0]
    return validate_endpoint_id(first)


def check_dms_password(password: str, engine: str = "postgres") -> None:
    """Raise when AWS DMS cannot store ``password`` for an endpoint of ``engine``.

    The message names the offending character, never the password.
    """
    if not password:
        raise DmsPasswordError(
            "The Neon password is empty. Set the Password of the Neon connection to the role's "
            "password from the Neon console."
        )
    forbidden = DMS_UNSUPPORTED_PASSWORD_CHARACTERS.get(engine, frozenset())
    bad = sorted({ch for ch in password if ch in forbidden})
    if bad:
        chars = " ".join(repr(ch) for ch in bad)
        raise DmsPasswordError(
            f"The password for the {engine} endpoint contains {chars}, which AWS DMS does not "
            f"accept in endpoint passwords ({''.join(sorted(forbidden))}). Reset the Neon role's "
            "password (Neon console: Roles > Reset password) to one without these characters."
        )


def dms_password(endpoint_id: str, password: str, engine: str = "postgres") -> str:
    """Return ``endpoint=<endpoint_id>$<password>``, the password form DMS uses to reach Neon."""
    ep = validate_endpoint_id(endpoint_id)
    check_dms_password(password, engine)
    return f"{ENDPOINT_OPTION_PREFIX}{ep}{DMS_PASSWORD_SEPARATOR}{password}"


def split_endpoint_password(value: str) -> tuple[str | None, str]:
    """Split a password as Neon's proxy does: ``endpoint=<id>$<pw>`` (or ``;``) -> (id, pw).

    Returns ``(None, value)`` when the value carries no endpoint id.
    """
    if not value.startswith(ENDPOINT_OPTION_PREFIX):
        return None, value
    rest = value[len(ENDPOINT_OPTION_PREFIX) :]
    positions = [rest.find(sep) for sep in NEON_PASSWORD_SEPARATORS if sep in rest]
    if not positions:
        return None, value
    cut = min(positions)
    return rest[:cut], rest[cut + 1 :]


#: libpq sslmode values that encrypt; Neon refuses unencrypted connections.
TLS_SSLMODES = frozenset({"require", "verify-ca", "verify-full"})
LIBPQ_SSLMODES = frozenset({"disable", "allow", "prefer", *TLS_SSLMODES})
DEFAULT_PORT = 5432
#: The worker's sslmode for a ``*.neon.tech`` host: Neon's certificates chain to a public root, so
#: the worker checks the chain and the host name (Neon's "Connect securely" guide recommends it).
NEON_DEFAULT_SSLMODE = "verify-full"
#: sslmode for any other host (a custom DNS name, the local stand-in): encrypted, not verified.
OTHER_DEFAULT_SSLMODE = "require"
#: libpq's ``sslrootcert=system`` (the system's trusted roots) exists from libpq 16 on, and only
#: with sslmode verify-full (libpq documentation, "sslrootcert").
LIBPQ_SYSTEM_ROOTS_VERSION = 160000


def worker_sslrootcert(
    sslmode: str, explicit: str | None, libpq_version: int, system_cafile: str | None
) -> str | None:
    """The ``sslrootcert`` for the worker's own connection, or None when the mode checks nothing.

    An explicit ``sslrootcert`` wins. Otherwise verify-full uses libpq's ``system`` roots (libpq
    16 and later) and verify-ca, or an older libpq, the system CA bundle file.
    """
    if explicit:
        return explicit
    if sslmode not in ("verify-ca", "verify-full"):
        return None
    if sslmode == "verify-full" and libpq_version >= LIBPQ_SYSTEM_ROOTS_VERSION:
        return "system"
    if system_cafile:
        return system_cafile
    raise NeonConfigError(
        f"sslmode {sslmode} needs trusted root certificates, and this worker has neither libpq 16+ "
        "(sslrootcert=system) nor a system CA bundle. Set the connection extra 'sslrootcert' to a "
        "CA file (for Neon: ISRG Root X1), or set the extra 'sslmode' to 'require'."
    )


@dataclass(frozen=True)
class NeonTarget:
    """Validated connection fields of one Neon database (the password is kept out of ``repr``)."""

    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    endpoint_id: str | None
    sslmode: str
    was_pooler_host: bool = False
    #: The worker's CA file (extra ``sslrootcert``); None uses the system roots.
    sslrootcert: str | None = None
    #: DMS endpoint SslMode (extra ``dms_ssl_mode``); None: verify-full with a certificate ARN,
    #: else require (none when the worker's sslmode is ``disable``, the local stand-in).
    dms_ssl_mode: str | None = None
    #: ARN of the CA certificate imported into DMS (extra ``certificate_arn``).
    certificate_arn: str | None = None

    @classmethod
    def from_fields(
        cls,
        *,
        conn_id: str,
        host: str | None,
        port: int | None,
        database: str | None,
        user: str | None,
        password: str | None,
        extra: Mapping[str, object] | None = None,
    ) -> NeonTarget:
        """Check the fields of Neon connection ``conn_id`` and normalise the host."""
        extra = extra or {}
        raw_host = _clean_host(host)
        given_id = str(extra.get("endpoint_id") or "").strip() or None
        on_neon = is_neon_host(raw_host)
        if given_id:
            endpoint_id: str | None = validate_endpoint_id(given_id)
        elif on_neon:
            endpoint_id = endpoint_id_from_host(raw_host)
        else:
            endpoint_id = None
        default_sslmode = NEON_DEFAULT_SSLMODE if on_neon else OTHER_DEFAULT_SSLMODE
        sslmode = str(extra.get("sslmode") or default_sslmode).strip().lower()
        if sslmode not in LIBPQ_SSLMODES:
            raise NeonConfigError(
                f"Connection {conn_id!r} has sslmode {sslmode!r}; use one of "
                f"{', '.join(sorted(TLS_SSLMODES))} (Neon requires TLS)."
            )
        # A Neon host, or any host with an endpoint id (it reaches Neon's proxy): TLS or nothing.
        if (on_neon and sslmode not in TLS_SSLMODES) or (given_id and sslmode in ("disable", "allow")):
            raise NeonConfigError(
                f"Connection {conn_id!r} has sslmode {sslmode!r}, but Neon only accepts encrypted "
                "connections. Set the extra 'sslmode' to 'require' (or verify-full), or remove it."
            )
        if not user:
            raise NeonConfigError(
                f"Connection {conn_id!r} has no Login. Set it to the Neon role, e.g. neondb_owner."
            )
        if not database:
            raise NeonConfigError(
                f"Connection {conn_id!r} has no Database (the Schema field). Set it to the Neon "
                "database name, e.g. neondb."
            )
        if port is not None and not 0 < int(port) < 65536:
            raise NeonConfigError(f"Connection {conn_id!r} has port {port}; use 1-65535 (Neon: 5432).")
        return cls(
            host=direct_host(raw_host),
            port=int(port or DEFAULT_PORT),
            database=database,
            user=user,
            password=password or "",
            endpoint_id=endpoint_id,
            sslmode=sslmode,
            was_pooler_host=is_pooler_host(raw_host),
            sslrootcert=_extra_text(extra, "sslrootcert"),
            dms_ssl_mode=_extra_text(extra, "dms_ssl_mode"),
            certificate_arn=_extra_text(extra, "certificate_arn"),
        )

    def require_endpoint_id(self) -> str:
        """Return the endpoint id, or explain how to set it when the host does not reveal it."""
        if self.endpoint_id:
            return self.endpoint_id
        return endpoint_id_from_host(self.host)

    def dms_sslmode(self, certificate_arn: str | None = None) -> str:
        """The DMS SslMode for this target (DMS knows none, require, verify-ca, verify-full).

        The DMS endpoint verifies Neon's certificate only with a CA imported into DMS, so it is
        ``verify-full`` when a certificate ARN is known and ``require`` otherwise, unless the
        connection's ``dms_ssl_mode`` extra says which.
        """
        if self.dms_ssl_mode:
            return self.dms_ssl_mode.lower()
        if certificate_arn or self.certificate_arn:
            return "verify-full"
        if self.sslmode in TLS_SSLMODES:
            return "require"
        if self.sslmode == "disable":
            return "none"
        raise NeonConfigError(
            f"sslmode {self.sslmode!r} has no AWS DMS equivalent. Use 'require' (Neon requires TLS)."
        )


def _extra_text(extra: Mapping[str, object], key: str) -> str | None:
    return str(extra.get(key) or "").strip() or None

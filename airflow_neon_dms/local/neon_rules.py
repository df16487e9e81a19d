"""Neon's connection rules as the local Neon proxy applies them, written from Neon's own docs.

This module is the emulator's own reading of Neon's rules; it deliberately shares no code with the
provider's ``airflow_neon_dms.neon`` (which the operators use), so that a wrong assumption on one
side shows up as a failure instead of passing both.

Sources:

* Neon docs, "Connection errors" (https://neon.tech/docs/connect/connection-errors) and
  https://neon.tech/sni: Neon's proxy routes a connection by its *endpoint id*, the first label of
  the host name (``ep-cool-darkness-123456`` in ``ep-cool-darkness-123456.us-east-2.aws.neon.tech``,
  also with a ``-pooler`` suffix for the pooled host). A client sends it as the TLS SNI name; a
  client without SNI passes it as ``options=endpoint%3D<endpoint-id>`` (``%3D`` is the URL-encoded
  ``=``) or in the password as ``endpoint=<endpoint-id>;<password>``. Without any of these, Neon
  answers with :data:`MISSING_ENDPOINT_MESSAGE` (quoted from the docs page).
* neondatabase/neon issue 4882 and pull request 4881: ``$`` is accepted as the separator too,
  because AWS DMS refuses ``;`` in endpoint passwords.
* Neon requires TLS; an unencrypted client gets ``connection is insecure (try using
  `sslmode=require`)`` (the docs page above).
"""

from __future__ import annotations

import ipaddress
import string

#: The prefix of the endpoint id in the ``options`` parameter and in the password.
ENDPOINT_KEY = "endpoint="
#: Neon's own answer to a client that sent neither SNI nor an endpoint id (Neon docs, above).
MISSING_ENDPOINT_MESSAGE = (
    "Endpoint ID is not specified. Either please upgrade the postgres client library (libpq) for "
    "SNI support or pass the endpoint ID (the first part of the domain name) as a parameter: "
    "'?options=endpoint%3D<endpoint-id>'. See more at https://neon.tech/sni"
)
#: Neon's answer to a client that does not use TLS.
INSECURE_MESSAGE = "connection is insecure (try using `sslmode=require`)"
#: The suffix of a pooled (PgBouncer) Neon host's first label; the endpoint id is what precedes it.
POOLED_HOST_SUFFIX = "-pooler"
#: Characters that separate the endpoint id from the real password (``;`` in Neon's docs, ``$``
#: added for AWS DMS by neondatabase/neon pull request 4881).
PASSWORD_SEPARATORS = ";$"
#: An endpoint id is one DNS label: letters, digits and inner hyphens, at most 63 characters.
_LABEL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-")
_MAX_LABEL_LENGTH = 63


def check_endpoint_id(value: str) -> str:
    """Return ``value`` when it can be a Neon endpoint id (one DNS label); else raise ValueError."""
    endpoint_id = (value or "").strip()
    if not endpoint_id:
        raise ValueError("The Neon endpoint id is empty; give the id, e.g. ep-local-123.")
    wrong = sorted(set(endpoint_id) - _LABEL_CHARACTERS)
    if wrong:
        raise ValueError(
            f"Neon endpoint id {endpoint_id!r} contains {''.join(wrong)!r}; an endpoint id is the first "
            "label of the Neon host name: letters, digits and hyphens only (e.g. ep-local-123)."
        )
    if endpoint_id[0] == "-" or endpoint_id[-1] == "-" or len(endpoint_id) > _MAX_LABEL_LENGTH:
        raise ValueError(
            f"Neon endpoint id {endpoint_id!r} is not a DNS label: it must not start or end with a "
            f"hyphen and has at most {_MAX_LABEL_LENGTH} characters (e.g. ep-local-123)."
        )
    return endpoint_id


def is_ip_address(host: str) -> bool:
    """True for an IPv4 or IPv6 literal (TLS sends no SNI for those, RFC 6066 section 3)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def endpoint_from_sni(server_name: str | None) -> str | None:
    """The endpoint id a TLS SNI name carries: its first label without ``-pooler``.

    None for no name, an IP address or a single-label name (``localhost``): Neon's hosts always
    have a domain after the endpoint id.
    """
    if not server_name or is_ip_address(server_name):
        return None
    label, dot, _domain = server_name.partition(".")
    if not dot:
        return None
    label = label.lower()
    if label.endswith(POOLED_HOST_SUFFIX):
        label = label[: len(label) - len(POOLED_HOST_SUFFIX)]
    return label


def endpoint_from_options(options: str) -> str | None:
    """The endpoint id in the ``options`` startup parameter (``endpoint=<id>``, also ``%3D``)."""
    for word in options.split():
        word = word.replace("%3D", "=").replace("%3d", "=").removeprefix("--")
        if word.startswith(ENDPOINT_KEY):
            return word[len(ENDPOINT_KEY) :]
    return None


def options_without_endpoint(options: str) -> str:
    """The ``options`` parameter minus the endpoint id, as the backend PostgreSQL should get it."""
    kept = [w for w in options.split() if endpoint_from_options(w) is None]
    return " ".join(kept)


def split_password(password: str) -> tuple[str | None, str]:
    """``endpoint=<id>$<password>`` (or ``;``) -> (id, password); (None, password) without an id."""
    if not password.startswith(ENDPOINT_KEY):
        return None, password
    rest = password[len(ENDPOINT_KEY) :]
    for position, character in enumerate(rest):
        if character in PASSWORD_SEPARATORS:
            return rest[:position], rest[position + 1 :]
    return None, password

"""Take passwords out of DSNs and driver messages before they reach an error or a log (pure).

Both DSN forms are covered: the URI form (``postgresql://user:password@host/db``, ``mysql://...``,
and ``?password=...`` in its query) and libpq's key=value form (``password=... host=...``,
quoted values too). Known secrets are also replaced wherever they appear, URL-decoded or not,
since a driver may quote a part of a DSN it failed to parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "***"

#: ``scheme://user:password@``: the password runs to the last ``@`` before the host.
_URI_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s\"']*:)[^\s/\"']*(?=@)")
#: ``password=value`` in a conninfo string or a URI query: a quoted value or up to a separator.
_KEY_VALUE_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&'\"]+)", re.IGNORECASE
)
#: Parts of a password split at ``@`` are masked too when at least this long (a driver that
#: splits a DSN at the wrong ``@`` prints the rest as a host name).
_MIN_PART = 4


def dsn_password(dsn: str) -> str | None:
    """The password a DSN carries (URI userinfo, URI query or key=value), or None."""
    found = _KEY_VALUE_PASSWORD.search(dsn)
    if found:
        value = found.group(0)[len(found.group("head")) :]
        return unquote(value.strip("'\""))
    if "://" in dsn:
        try:
            password = urlsplit(dsn).password
        except ValueError:
            return None
        return unquote(password) if password else None
    return None


def secret_variants(secret: str) -> list[str]:
    """The forms a secret may appear in: as given, URL-decoded, and its ``@``-separated parts."""
    forms = {secret, unquote(secret)}
    for form in list(forms):
        forms.update(part for part in form.split("@") if len(part) >= _MIN_PART)
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every DSN password, and every given secret, replaced by ``***``."""
    out = _URI_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    out = _KEY_VALUE_PASSWORD.sub(lambda m: m.group("head") + MASK, out)
    for secret in secrets:
        if secret:
            for form in secret_variants(secret):
                out = out.replace(form, MASK)
    return out

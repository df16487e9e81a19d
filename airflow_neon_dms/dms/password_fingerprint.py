"""A salted, slow fingerprint of an endpoint password, kept in a DMS endpoint tag.

DMS never returns an endpoint's password (botocore's DescribeEndpoints output has no Password
member), so without a record of what was sent, a rotated password looks like "nothing changed".
The endpoint operators store this fingerprint in the tag :data:`TAG_KEY` and send the password
(ModifyEndpoint) whenever the connection's password no longer matches it.

Why scrypt and not a plain or keyed hash: tags are readable by anyone allowed
``dms:ListTagsForResource``, so the tag must not let them test password guesses cheaply. A
per-endpoint random salt stops precomputed tables; scrypt (memory-hard, ``hashlib.scrypt``)
makes each guess cost about 16 MiB and tens of milliseconds. An HMAC would need a secret key
kept somewhere else; with the key stored next to the digest it is only a fast salted hash.

Tag values: at most 256 characters of letters, digits, spaces and ``_ . : / = + - @`` (AWS DMS
API reference, Tag). The format ``scrypt:<log2 N>:<r>:<p>:<salt hex>:<digest hex>`` fits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: The endpoint tag that holds the fingerprint.
TAG_KEY = "neon-dms:password-fingerprint"

_LOG2_N, _R, _P = 14, 8, 1
_SALT_BYTES = 16


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**log2_n, r=r, p=p, maxmem=2**26, dklen=32)


def password_fingerprint(password: str, *, salt: bytes | None = None) -> str:
    """A new fingerprint of ``password`` with a fresh random salt (or the one given)."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = _scrypt(password, salt, _LOG2_N, _R, _P)
    return f"scrypt:{_LOG2_N}:{_R}:{_P}:{salt.hex()}:{digest.hex()}"


def fingerprint_matches(fingerprint: str | None, password: str) -> bool:
    """True when ``fingerprint`` was made from ``password``; False when absent or unreadable
    (the caller then sends the password again, which is always safe)."""
    parts = (fingerprint or "").split(":")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    # Other cost parameters (an older or newer format): send the password and write a new tag.
    if parts[1:4] != [str(_LOG2_N), str(_R), str(_P)]:
        return False
    try:
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return False
    return hmac.compare_digest(_scrypt(password, salt, _LOG2_N, _R, _P), digest)

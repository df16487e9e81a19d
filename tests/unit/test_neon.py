"""The pure Neon rules: endpoint ids, direct hosts and the DMS password form."""

from __future__ import annotations

import pytest

from airflow_neon_dms.exceptions import DmsPasswordError, NeonConfigError, NeonHostError
from airflow_neon_dms.neon import (
    NEON_MISSING_ENDPOINT_MESSAGE,
    NeonTarget,
    check_dms_password,
    direct_host,
    dms_password,
    endpoint_id_from_host,
    is_neon_host,
    is_pooler_host,
    split_endpoint_password,
    validate_endpoint_id,
)

HOSTS = [
    # host, endpoint id, direct host, pooler?
    (
        "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        "ep-cool-darkness-123456",
        "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        False,
    ),
    (
        "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech",
        "ep-cool-darkness-123456",
        "ep-cool-darkness-123456.us-east-2.aws.neon.tech",
        True,
    ),
    (
        "ep-x-a1b2c3d4.c-2.us-east-1.aws.neon.tech",
        "ep-x-a1b2c3d4",
        "ep-x-a1b2c3d4.c-2.us-east-1.aws.neon.tech",
        False,
    ),
    (
        "ep-x-a1b2c3d4-pooler.c-2.us-east-1.aws.neon.tech",
        "ep-x-a1b2c3d4",
        "ep-x-a1b2c3d4.c-2.us-east-1.aws.neon.tech",
        True,
    ),
    (
        "ep-quiet-sky-987654.eastus2.azure.neon.tech",
        "ep-quiet-sky-987654",
        "ep-quiet-sky-987654.eastus2.azure.neon.tech",
        False,
    ),
    (
        "EP-Upper-Case-1.us-east-2.aws.neon.tech.",
        "ep-upper-case-1",
        "ep-upper-case-1.us-east-2.aws.neon.tech",
        False,
    ),
]


@pytest.mark.parametrize(("host", "endpoint_id", "direct", "pooler"), HOSTS)
def test_neon_host_shapes(host: str, endpoint_id: str, direct: str, pooler: bool) -> None:
    assert is_neon_host(host)
    assert endpoint_id_from_host(host) == endpoint_id
    assert direct_host(host) == direct
    assert is_pooler_host(host) is pooler


@pytest.mark.parametrize("host", ["db.example.com", "10.0.0.5", "::1", "localhost", "neon.tech"])
def test_non_neon_host_needs_an_explicit_id(host: str) -> None:
    with pytest.raises(NeonHostError, match="endpoint_id"):
        endpoint_id_from_host(host)
    assert endpoint_id_from_host(host, "ep-local-1") == "ep-local-1"


def test_ip_address_is_kept_as_direct_host() -> None:
    assert direct_host("127.0.0.1") == "127.0.0.1"
    assert direct_host("[::1]") == "::1"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("postgresql://ep-a.us-east-2.aws.neon.tech", "bare host"),
        ("ep-a.us-east-2.aws.neon.tech:5432", "bare host"),
        ("user@ep-a.us-east-2.aws.neon.tech", "bare host"),
        ("ep_a.us-east-2.aws.neon.tech", "invalid DNS label"),
        ("-ep-a.us-east-2.aws.neon.tech", "invalid DNS label"),
        ("ep-a..aws.neon.tech", "invalid DNS label"),
    ],
)
def test_malformed_hosts_are_refused(host: str | None, message: str) -> None:
    with pytest.raises(NeonHostError, match=message):
        direct_host(host)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["ep cool", "ep-cool!", "ep-cool-", "-ep", "ép-1", "ep$1"])
def test_endpoint_id_with_illegal_characters(bad: str) -> None:
    with pytest.raises(NeonHostError) as err:
        validate_endpoint_id(bad)
    assert "only letters, digits and hyphens" in str(err.value)


def test_empty_endpoint_id() -> None:
    with pytest.raises(NeonHostError, match="endpoint_id"):
        validate_endpoint_id("")


def test_dms_password_uses_dollar_separator() -> None:
    assert (
        dms_password("ep-cool-darkness-123456", "AbC123xyz") == "endpoint=ep-cool-darkness-123456$AbC123xyz"
    )


@pytest.mark.parametrize("char", [";", "+", "%"])
def test_password_characters_dms_refuses(char: str) -> None:
    secret = f"Ab{char}c9-secret"
    with pytest.raises(DmsPasswordError) as err:
        dms_password("ep-a-1", secret)
    text = str(err.value)
    assert repr(char) in text
    assert "Reset the Neon role's password" in text
    assert secret not in text


def test_empty_password_is_refused() -> None:
    with pytest.raises(DmsPasswordError, match="empty"):
        check_dms_password("")


def test_other_engines_have_no_postgres_rule() -> None:
    check_dms_password("a;b", engine="mysql")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("endpoint=ep-a-1$pw", ("ep-a-1", "pw")),
        ("endpoint=ep-a-1;pw", ("ep-a-1", "pw")),
        ("endpoint=ep-a-1$p$w;x", ("ep-a-1", "p$w;x")),
        ("plain-password", (None, "plain-password")),
        ("endpoint=no-separator", (None, "endpoint=no-separator")),
    ],
)
def test_split_endpoint_password(value: str, expected: tuple[str | None, str]) -> None:
    assert split_endpoint_password(value) == expected


def test_split_round_trips_dms_password() -> None:
    assert split_endpoint_password(dms_password("ep-x-9", "pa$$word")) == ("ep-x-9", "pa$$word")


def test_missing_endpoint_message_is_neons() -> None:
    assert NEON_MISSING_ENDPOINT_MESSAGE.startswith("Endpoint ID is not specified.")
    assert "options=endpoint%3D<endpoint-id>" in NEON_MISSING_ENDPOINT_MESSAGE


def _target(**overrides: object) -> NeonTarget:
    fields: dict[str, object] = {
        "conn_id": "neon_target",
        "host": "ep-a-1-pooler.us-east-2.aws.neon.tech",
        "port": None,
        "database": "neondb",
        "user": "neondb_owner",
        "password": "pw",
        "extra": {},
    }
    fields.update(overrides)
    return NeonTarget.from_fields(**fields)  # type: ignore[arg-type]


def test_target_normalises_pooler_host_and_defaults() -> None:
    target = _target()
    assert target.host == "ep-a-1.us-east-2.aws.neon.tech"
    assert target.was_pooler_host
    assert target.port == 5432
    # A *.neon.tech host: the worker verifies Neon's certificate chain and host name by default.
    assert target.sslmode == "verify-full"
    assert target.dms_sslmode() == "require"  # DMS verifies only with a certificate ARN
    assert target.require_endpoint_id() == "ep-a-1"
    assert "pw" not in repr(target)


def test_target_explicit_endpoint_id_for_custom_host() -> None:
    target = _target(host="db.internal.example.com", extra={"endpoint_id": "ep-b-2"})
    assert target.endpoint_id == "ep-b-2"
    assert target.host == "db.internal.example.com"


def test_target_without_id_on_custom_host_fails_only_for_dms() -> None:
    target = _target(host="127.0.0.1")
    assert target.endpoint_id is None
    with pytest.raises(NeonHostError, match="endpoint_id"):
        target.require_endpoint_id()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"user": ""}, "no Login"),
        ({"database": None}, "no Database"),
        ({"port": 70000}, "port 70000"),
        ({"extra": {"sslmode": "disable"}}, "only accepts encrypted"),
        ({"extra": {"sslmode": "sometimes"}}, "sslmode 'sometimes'"),
        ({"extra": {"endpoint_id": "ep bad"}}, "only letters"),
        ({"host": ""}, "empty"),
    ],
)
def test_target_bad_fields(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(NeonConfigError, match=message) as err:
        _target(**overrides)
    assert "neon_target" in str(err.value) or "Neon" in str(err.value)


def test_dms_sslmode_mapping() -> None:
    assert _target().dms_sslmode() == "require"
    assert _target(host="127.0.0.1", extra={"sslmode": "disable"}).dms_sslmode() == "none"
    with pytest.raises(NeonConfigError, match="no AWS DMS equivalent"):
        _target(host="127.0.0.1", extra={"sslmode": "prefer"}).dms_sslmode()


def test_sslmode_require_is_the_documented_way_down() -> None:
    assert _target(extra={"sslmode": "require"}).sslmode == "require"
    assert _target(host="db.internal.example", extra={"endpoint_id": "ep-a-1"}).sslmode == "require"


def test_dms_sslmode_follows_the_certificate() -> None:
    arn = "arn:aws:dms:us-east-2:1:cert:X"
    assert _target(extra={"certificate_arn": arn}).dms_sslmode() == "verify-full"
    assert _target().dms_sslmode(arn) == "verify-full"
    assert _target(extra={"dms_ssl_mode": "require", "certificate_arn": arn}).dms_sslmode() == "require"


@pytest.mark.parametrize(
    ("sslmode", "explicit", "libpq", "cafile", "expected"),
    [
        ("verify-full", None, 170000, "/etc/ssl/ca.pem", "system"),
        ("verify-full", None, 150000, "/etc/ssl/ca.pem", "/etc/ssl/ca.pem"),
        ("verify-ca", None, 170000, "/etc/ssl/ca.pem", "/etc/ssl/ca.pem"),
        ("verify-full", "/my/ca.pem", 170000, None, "/my/ca.pem"),
        ("require", None, 170000, "/etc/ssl/ca.pem", None),
    ],
)
def test_worker_sslrootcert(
    sslmode: str, explicit: str | None, libpq: int, cafile: str | None, expected: str | None
) -> None:
    from airflow_neon_dms.neon import worker_sslrootcert

    assert worker_sslrootcert(sslmode, explicit, libpq, cafile) == expected


def test_worker_sslrootcert_without_any_roots_names_the_fix() -> None:
    from airflow_neon_dms.neon import worker_sslrootcert

    with pytest.raises(NeonConfigError, match="extra 'sslrootcert'.*'require'"):
        worker_sslrootcert("verify-full", None, 150000, None)

"""A side that cannot be reached fails with a message naming it, the reason and the fix."""

from __future__ import annotations

import json

import pytest

from airflow_neon_dms.cli import main
from airflow_neon_dms.diff.connect import Endpoint, endpoint_from_dsn
from airflow_neon_dms.exceptions import DatabaseConnectionError, NeonConfigError
from airflow_neon_dms.local.embedded import free_port


def test_unreachable_postgres_names_the_side_and_the_fix() -> None:
    port = free_port()
    side = endpoint_from_dsn(
        f"postgresql://app:Secret-Pass-9@127.0.0.1:{port}/shop?connect_timeout=3", "source"
    )
    with pytest.raises(DatabaseConnectionError) as err:
        side.open()
    text = str(err.value)
    assert text.startswith(f"Cannot connect to PostgreSQL 127.0.0.1:{port}/shop:")
    assert "Check the connection's host, port, login and password" in text
    assert "Secret-Pass-9" not in text


def test_unreachable_mysql_names_the_side() -> None:
    port = free_port()
    side = Endpoint(
        "mysql",
        {"host": "127.0.0.1", "port": port, "user": "root", "password": "Pw-77", "connect_timeout": 3},
        f"MySQL 127.0.0.1:{port}/shop",
    )
    with pytest.raises(
        DatabaseConnectionError, match=f"Cannot connect to MySQL 127.0.0.1:{port}/shop"
    ) as err:
        side.open()
    assert "Pw-77" not in str(err.value)


SECRET = "Secret-Pass-9"


def test_a_dsn_the_driver_quotes_back_is_redacted() -> None:
    # libpq quotes the whole URI when it cannot parse it, password included.
    side = endpoint_from_dsn(f"postgresql://app:{SECRET}@[::1]x:5432/shop", "source")
    with pytest.raises(DatabaseConnectionError) as err:
        side.open()
    assert "postgresql://app:***@[::1]x:5432/shop" in str(err.value)
    assert SECRET not in str(err.value)


def test_a_password_split_at_an_unencoded_at_sign_is_redacted() -> None:
    port = free_port()
    side = endpoint_from_dsn(
        f"postgresql://app:Pass@{SECRET}@127.0.0.1:{port}/shop?connect_timeout=3", "source"
    )
    with pytest.raises(DatabaseConnectionError) as err:
        side.open()
    assert SECRET not in str(err.value)


def test_a_malformed_dsn_is_refused_without_its_password() -> None:
    with pytest.raises(NeonConfigError, match="The target DSN is not a valid URI") as err:
        endpoint_from_dsn(f"postgresql://app:{SECRET}@127.0.0.1:notaport/shop", "target")
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://app:{SECRET}@[::1]x:5432/shop",  # libpq quotes the URI back
        f"postgresql://app:{SECRET}@127.0.0.1:notaport/shop",  # not a URI at all
        f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/shop?connect_timeout=3",  # nobody listens
    ],
)
def test_cli_output_never_holds_the_password(dsn: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["diff", dsn, dsn, "--table", "public.t"])
    out, err = capsys.readouterr()
    assert code == 2
    assert json.loads(out)["error"]
    assert SECRET not in out + err

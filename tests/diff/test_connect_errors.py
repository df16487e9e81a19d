"""A side that cannot be reached fails with a message naming it, the reason and the fix."""

from __future__ import annotations

import pytest

from airflow_neon_dms.diff.connect import Endpoint, endpoint_from_dsn
from airflow_neon_dms.exceptions import DatabaseConnectionError
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

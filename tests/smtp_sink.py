"""A real local SMTP server (aiosmtpd) that keeps every message it receives, for the alert tests."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from airflow_neon_dms.local.embedded import free_port

SMTP_LOGIN = "alerts"
SMTP_PASSWORD = "Smtp-Relay-Secret-8812"


@dataclass
class SmtpSink:
    """The messages received, each with its envelope recipients."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    # aiosmtpd calls handle_DATA for every message.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def airflow_conn(self) -> str:
        """An ``AIRFLOW_CONN_*`` value for this server (plain SMTP, with the sink's login)."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "login": SMTP_LOGIN,
                "password": SMTP_PASSWORD,
                "extra": {"from_email": "airflow@example.com", "disable_ssl": True, "disable_tls": True},
            }
        )


def mail_body(message: EmailMessage) -> str:
    """The HTML (or else plain) body of a received message."""
    part = message.get_body(preferencelist=("html", "plain"))
    assert part is not None
    return str(part.get_content())


@contextlib.contextmanager
def running_smtp_sink() -> Iterator[SmtpSink]:
    """aiosmtpd on a free port of 127.0.0.1, accepting the login ``SMTP_LOGIN`` / ``SMTP_PASSWORD``."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        return AuthResult(
            success=data.login == SMTP_LOGIN.encode() and data.password == SMTP_PASSWORD.encode()
        )

    sink = SmtpSink(port=free_port())
    controller = Controller(
        sink, hostname="127.0.0.1", port=sink.port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()

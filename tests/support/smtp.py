"""A local SMTP server (aiosmtpd) standing in for the organisation's mail server.

It runs in this process on a free port, keeps every message it accepts (envelope and
parsed message), can require a login, and can refuse chosen recipients with a 550.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from campaign.appeals.deliveries import SmtpConfig
from tests.conftest import free_port

SENDER = "Amnesty Urgent Action <urgent@amnesty.example.org>"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def attachments(self) -> dict[str, bytes]:
        return {
            str(part.get_filename()): bytes(part.get_payload(decode=True))
            for part in self.message.iter_attachments()
        }


@dataclass
class Handler:
    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 <" + address + ">: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 queued"


@dataclass
class SmtpServer:
    port: int
    handler: Handler
    user: str = ""
    password: str = ""

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def config(self, **changes: Any) -> SmtpConfig:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "starttls": False,
            "sender": SENDER,
            "timeout": 10.0,
        }
        return SmtpConfig(**{**values, **changes})

    def env(self) -> dict[str, str]:
        """The CAMPAIGN_* settings that point a process at this server."""
        return {
            "CAMPAIGN_SMTP_HOST": "127.0.0.1",
            "CAMPAIGN_SMTP_PORT": str(self.port),
            "CAMPAIGN_SMTP_USER": self.user,
            "CAMPAIGN_SMTP_PASSWORD": self.password,
            "CAMPAIGN_SMTP_STARTTLS": "false",
            "CAMPAIGN_MAIL_FROM": SENDER,
        }


@contextlib.contextmanager
def running_smtp(user: str = "", password: str = "") -> Iterator[SmtpServer]:
    handler = Handler()
    port = free_port()
    options: dict[str, Any] = {}
    if user:

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                user.encode(),
                password.encode(),
            )
            return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

        options = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(port, handler, user, password)
    finally:
        controller.stop()

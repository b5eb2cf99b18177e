"""An inbound SMS as every provider's webhook becomes it, and what came of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from campaign.inbound.keywords import Intent
from campaign.supporters.phones import Sender


@dataclass(frozen=True, slots=True)
class Part:
    """Which part of a concatenated SMS this is (Vonage delivers them one by one)."""

    reference: str
    number: int
    total: int


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider: str
    message_id: str
    sender: Sender
    short_code: str
    text: str
    received_at: datetime
    part: Part | None = None
    channel: str = "sms"
    # False: the provider cannot answer in the webhook's response, so replies are queued
    replies_inline: bool = True

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboundSms:
        part = data.get("part")
        return cls(
            provider=data["provider"],
            message_id=data["message_id"],
            sender=Sender(**data["sender"]),
            short_code=data["short_code"],
            text=data["text"],
            received_at=datetime.fromisoformat(data["received_at"]),
            part=Part(**part) if part else None,
            channel=data.get("channel", "sms"),
            replies_inline=data.get("replies_inline", True),
        )


@dataclass(frozen=True, slots=True)
class TextResult:
    """What one inbound message did, and the reply the supporter gets."""

    intent: Intent | None  # None: one part of a longer message, waiting for the rest
    appeal_slug: str | None = None
    counted: bool = False
    retry: bool = False
    spooled: bool = False
    total: int | None = None
    reply: str | None = None

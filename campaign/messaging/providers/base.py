"""The one interface every outgoing SMS provider implements.

``send`` gets the clear number (decrypted by the sender a moment before) and returns a
``SendResult``: sent (with the provider's message id), a temporary failure (throttled, a
5xx, a timeout: the sender retries later with backoff) or a permanent one (with the
reason; ``opted_out`` when the provider says the person blocked us).  A provider never
logs the number.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import httpx

from campaign.settings import Settings

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: str  # "sent", "temporary" or "permanent"
    provider_message_id: str | None = None
    error: str | None = None
    opted_out: bool = False
    throttled: bool = False
    retry_after: float | None = None  # seconds the provider asked us to wait

    @classmethod
    def sent(cls, message_id: str) -> SendResult:
        return cls("sent", provider_message_id=message_id)

    @classmethod
    def temporary(
        cls, error: str, *, throttled: bool = False, retry_after: float | None = None
    ) -> SendResult:
        return cls("temporary", error=error[:300], throttled=throttled, retry_after=retry_after)

    @classmethod
    def permanent(cls, error: str, *, opted_out: bool = False) -> SendResult:
        return cls("permanent", error=error[:300], opted_out=opted_out)


class SmsProvider(ABC):
    name: ClassVar[str]

    def __init__(self, settings: Settings):
        self.settings = settings
        self.sender_id = settings.sms_from or settings.short_code

    @abstractmethod
    async def send(self, to: str, body: str, reference: str) -> SendResult:
        """Send one text; ``reference`` is our outbox id (for the provider's logs)."""

    async def aclose(self) -> None:  # noqa: B027 - most providers have nothing to release
        """Release connections."""


class HttpProvider(SmsProvider):
    """A provider reached over HTTP: one pooled client, errors of the network as temporary."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.http = httpx.AsyncClient(timeout=TIMEOUT, limits=httpx.Limits(max_connections=64))

    async def send(self, to: str, body: str, reference: str) -> SendResult:
        try:
            return await self.post(to, body, reference)
        except httpx.TimeoutException:
            return SendResult.temporary("timeout")
        except httpx.TransportError as error:
            return SendResult.temporary(f"network: {type(error).__name__}")

    @abstractmethod
    async def post(self, to: str, body: str, reference: str) -> SendResult:
        """The provider's request and the reading of its answer."""

    async def aclose(self) -> None:
        await self.http.aclose()


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None

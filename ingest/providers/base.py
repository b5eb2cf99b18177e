"""The one interface every SMS provider's webhook handler implements.

A handler checks the request really comes from its provider, turns the provider's
fields into ``Received`` texts, and shapes the answer the provider expects; on its
delivery-report address it turns the provider's report on a text we sent into a
``Receipt``.  The app does the rest (numbers, storage, replies, recording the report)
the same way for every provider.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from campaign.errors import BadRequest
from campaign.inbound.message import Part, TextResult
from campaign.settings import Settings

MAX_FIELDS = 200  # a form with more fields is refused (parse_qsl's max_num_fields)
MAX_TEXT = 1600  # ten concatenated parts; anything longer is not an SMS
# A provider's id (message id, short code, part reference): printable ASCII, no spaces.
# Anything else is refused, not cut or cleaned: two ids cut alike would count as one.
PROVIDER_ID = re.compile(r"[!-~]+")
# A path or query taken as it is: printable ASCII without the characters a URL splits on.
PLAIN_URL_PART = re.compile(r"[!-\"$-\[\]-~]+")


@dataclass(frozen=True, slots=True)
class Received:
    """One inbound text as the provider described it, before the number is protected."""

    message_id: str
    sender: str
    short_code: str
    text: str
    region: str | None = None  # where the provider says the sender is, for local numbers
    part: Part | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A provider's report on a text we sent: how far it got (a report only moves it forward)."""

    message_id: str
    status: str  # "sent", "delivered" or "failed"
    error: str | None = None
    opted_out: bool = False  # the network says the supporter has blocked our texts


class Provider(ABC):
    name: ClassVar[str]
    path: ClassVar[str]
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    receipt_path: ClassVar[str]  # where the provider reports on the texts we send
    receipt_methods: ClassVar[tuple[str, ...]] = ("POST",)
    # Whether the webhook's answer carries the reply (Twilio's TwiML); if not, replies go
    # through the outbox and the provider's sending API.
    replies_inline: ClassVar[bool] = True

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def accepts_unsigned(self) -> bool:
        """Whether this provider's requests are taken without a signature (an explicit setting)."""
        return False

    @abstractmethod
    async def receive(self, request: Request, body: bytes) -> list[Received]:
        """Check the signature (403 when wrong or no secret is set), read the texts (400 when malformed)."""

    @abstractmethod
    def answer(self, outcomes: list[TextResult]) -> Response:
        """The response the provider expects for these outcomes."""

    @abstractmethod
    async def receipt(self, request: Request, body: bytes) -> Receipt | None:
        """Check the signature (403 when wrong) and read a delivery report; None if it tells nothing."""

    def public_url(self, request: Request) -> str:
        """The URL the provider signed: the configured public base plus path and query."""
        scope = request.scope
        path, query = scope["path"], scope.get("query_string", b"").decode("latin-1")
        if (
            "?" in path
            or not PLAIN_URL_PART.fullmatch(path)
            or (query and not PLAIN_URL_PART.fullmatch(query))
        ):
            # Starlette's URL escapes and splits what a plain path and query never hold.
            path, query = request.url.path, request.url.query
        url = self.settings.public_url + path
        return f"{url}?{query}" if query else url


def form_fields(body: bytes) -> dict[str, str]:
    """Read an application/x-www-form-urlencoded body; the last value of a field wins.

    What ``parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)`` reads, with
    the unquoting left out for the fields that need none (most of a provider's).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8") from None
    if text.count("&") >= MAX_FIELDS:
        raise BadRequest(f"the form could not be read: more than {MAX_FIELDS} fields")
    fields: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in pair or "+" in pair:
            name, value = unquote_plus(name), unquote_plus(value)
        fields[name] = value
    return fields


def required(fields: Mapping[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not fields.get(name, "").strip()]
    if missing:
        raise BadRequest(f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    return [fields[name] for name in names]


def check_text(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text of {len(text)} characters; an SMS holds at most {MAX_TEXT}")
    if "\x00" in text:
        raise BadRequest("text contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("text contains an unpaired surrogate (\\ud800-\\udfff)") from None
    return text


def check_id(value: str, name: str, limit: int = 128) -> str:
    """A provider's id as given, or BadRequest: 1 to ``limit`` printable ASCII characters."""
    if len(value) > limit or not PROVIDER_ID.fullmatch(value):
        raise BadRequest(f"{name}: 1 to {limit} printable ASCII characters without spaces")
    return value

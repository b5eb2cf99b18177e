"""Delivery reports of the texts we send: Twilio status callbacks and Vonage delivery receipts.

Twilio calls ``POST /webhooks/twilio/status`` (the ``StatusCallback`` the sender gives each
text), signed like the inbound webhook::

    POST /webhooks/twilio/status HTTP/1.1
    Content-Type: application/x-www-form-urlencoded
    X-Twilio-Signature: Yl0n5F2k...=

    MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&MessageStatus=delivered&SmsStatus=delivered
    &AccountSid=AC0000...&From=4777&To=%2B31612345678&ApiVersion=2010-04-01

Vonage calls ``/webhooks/vonage/delivery`` (GET, or POST as form or JSON), signed when
signed messages are on::

    GET /webhooks/vonage/delivery?msisdn=31612345678&to=4777&network-code=20416
        &messageId=0A0000000123ABCD1&status=delivered&err-code=0&client-ref=1234
        &scts=2612010241&message-timestamp=2026-12-01+02%3A41%3A07 HTTP/1.1

A report moves a text forward only (queued < sent < delivered; undelivered or failed
with the provider's error code); Twilio's 21610 marks the supporter opted out.  Reports
for texts we do not know get a 200 too, so the provider does not retry them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from campaign.errors import BadRequest, Forbidden
from campaign.messaging import outbox
from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.providers.base import form_fields, required
from ingest.providers.twilio import Twilio
from ingest.providers.vonage import Vonage

TWILIO_STATUS = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}
VONAGE_STATUS = {
    "accepted": "sent",
    "buffered": "sent",
    "delivered": "delivered",
    "expired": "failed",
    "failed": "failed",
    "rejected": "failed",
}
OPTED_OUT = "21610"


def routes(settings: Settings, runtime: Callable[[], Runtime]) -> list[Route]:
    twilio = Twilio(settings)
    vonage = Vonage(settings)

    async def twilio_status(request: Request) -> Response:
        token = settings.twilio_auth_token
        if not token:
            raise Forbidden("CAMPAIGN_TWILIO_AUTH_TOKEN is not set; unsigned requests are refused")
        signature = request.headers.get("x-twilio-signature", "")
        if not signature:
            raise Forbidden("missing X-Twilio-Signature")
        fields = form_fields(await request.body())
        if not twilio._signed(token, twilio.public_url(request), fields, signature):
            raise Forbidden("X-Twilio-Signature does not match the request")
        sid, given = required(fields, "MessageSid", "MessageStatus")
        status = TWILIO_STATUS.get(given.lower())
        if status is None:
            raise BadRequest(f"unknown MessageStatus {given!r}")
        code = fields.get("ErrorCode", "").strip()
        error = f"twilio {code}: {given}" if code else (given if status == "failed" else None)
        known = await asyncio.to_thread(
            outbox.record_receipt, runtime().engine, "twilio", sid[:128], status, error, code == OPTED_OUT
        )
        return JSONResponse({"known": known})

    async def vonage_delivery(request: Request) -> Response:
        fields = vonage._fields(request, await request.body())
        if settings.vonage_signature_secret:
            vonage._check_signature(fields, settings.vonage_signature_secret)
        (message_id,) = required(fields, "messageId")
        given = fields.get("status", "").lower()
        status = VONAGE_STATUS.get(given)
        if status is None:
            return JSONResponse({"known": False})  # "unknown" and the like: nothing to learn
        code = fields.get("err-code", "").strip()
        error = f"vonage {given}" + (f" (err-code {code})" if code and code != "0" else "")
        known = await asyncio.to_thread(
            outbox.record_receipt,
            runtime().engine,
            "vonage",
            message_id[:128],
            status,
            error if status == "failed" else None,
        )
        return JSONResponse({"known": known})

    return [
        Route("/webhooks/twilio/status", twilio_status, methods=["POST"]),
        Route("/webhooks/vonage/delivery", vonage_delivery, methods=["GET", "POST"]),
    ]

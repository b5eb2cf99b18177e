"""Twilio: inbound SMS (``POST /webhooks/twilio``, answered with TwiML) and status callbacks.

A sample request, as Twilio sends it (form fields; new fields may appear at any time
and are covered by the signature like the others)::

    POST /webhooks/twilio HTTP/1.1
    Content-Type: application/x-www-form-urlencoded
    X-Twilio-Signature: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=

    ToCountry=NL&ToState=&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f
    &NumMedia=0&ToCity=&FromZip=&SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&FromState=
    &SmsStatus=received&FromCity=&Body=JA&FromCountry=NL&To=4777&ToZip=&NumSegments=1
    &MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC00000000000000000000000000000000
    &From=%2B31612345678&ApiVersion=2010-04-01

The status callback of a text we sent (the ``StatusCallback`` the sender gives it), signed
the same way::

    POST /webhooks/twilio/status HTTP/1.1
    Content-Type: application/x-www-form-urlencoded
    X-Twilio-Signature: Yl0n5F2k...=

    MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&MessageStatus=delivered&SmsStatus=delivered
    &AccountSid=AC0000...&From=4777&To=%2B31612345678&ApiVersion=2010-04-01

The signature is checked with the twilio helper library's ``RequestValidator`` over the
public URL and every posted field.  A status moves a text forward only (queued < sent <
delivered; undelivered or failed with Twilio's error code); error 21610 marks the
supporter opted out.
"""

from __future__ import annotations

import functools
import hmac

from starlette.requests import Request
from starlette.responses import Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from campaign.errors import BadRequest, Forbidden
from campaign.inbound.message import TextResult
from ingest.providers.base import Provider, Receipt, Received, check_id, check_text, form_fields, required

STATUS = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}
OPTED_OUT = "21610"


class _OneValueEach(dict[str, str]):
    """The form's fields, offering the ``getall`` of a multi-dict (one value each).

    ``RequestValidator.get_values`` tries ``getall``, then ``getlist``, then indexing; on a
    plain dict it raises and catches two AttributeErrors per field, most of the check's cost.
    """

    def getall(self, name: str) -> list[str]:
        return [self[name]]


def signed(token: str, url: str, fields: dict[str, str], signature: str) -> bool:
    """Whether ``signature`` is Twilio's for this URL and these fields."""
    validator = _validator(token)
    fields = _OneValueEach(fields)
    # Fast path: the URL exactly as configured (one HMAC).  ``validate`` then also
    # tries it with and without the port, as Twilio may sign either form.
    expected = validator.compute_signature(url, fields)
    if not signature.isascii():  # compare_digest refuses non-ASCII text: a forgery, not a 500
        return False
    return hmac.compare_digest(expected, signature) or validator.validate(url, fields, signature)


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)  # made once per auth token, not per request


@functools.lru_cache(maxsize=64)
def _twiml(replies: tuple[str, ...]) -> str:
    """The TwiML answer with these replies, rendered once: most answers are alike (none when
    thank-yous are queued; the same count within a batch)."""
    twiml = MessagingResponse()
    for reply in replies:
        twiml.message(reply)
    return str(twiml)


class Twilio(Provider):
    name = "twilio"
    path = "/webhooks/twilio"
    receipt_path = "/webhooks/twilio/status"

    async def receive(self, request: Request, body: bytes) -> list[Received]:
        fields = self._signed_fields(request, body)
        message_id, sender, short_code = required(fields, "MessageSid", "From", "To")
        return [
            Received(
                message_id=check_id(message_id, "MessageSid"),
                sender=sender,
                short_code=check_id(short_code, "To", 32),
                text=check_text(fields.get("Body", "")),
                region=(fields.get("FromCountry") or None),
            )
        ]

    def answer(self, outcomes: list[TextResult]) -> Response:
        replies = tuple(outcome.reply for outcome in outcomes if outcome.reply)
        return Response(_twiml(replies), media_type="application/xml")

    async def receipt(self, request: Request, body: bytes) -> Receipt | None:
        fields = self._signed_fields(request, body)
        sid, given = required(fields, "MessageSid", "MessageStatus")
        status = STATUS.get(given.lower())
        if status is None:
            raise BadRequest(f"unknown MessageStatus {given!r}")
        code = fields.get("ErrorCode", "").strip()
        error = f"twilio {code}: {given}" if code else (given if status == "failed" else None)
        return Receipt(sid[:128], status, error, opted_out=code == OPTED_OUT)

    def _signed_fields(self, request: Request, body: bytes) -> dict[str, str]:
        """The posted fields, once the signature over them is checked (403 when wrong)."""
        token = self.settings.twilio_auth_token
        if not token:
            raise Forbidden("CAMPAIGN_TWILIO_AUTH_TOKEN is not set; unsigned requests are refused")
        signature = request.headers.get("x-twilio-signature", "")
        if not signature:
            raise Forbidden("missing X-Twilio-Signature")
        fields = form_fields(body)
        if not signed(token, self.public_url(request), fields, signature):
            raise Forbidden("X-Twilio-Signature does not match the request")
        return fields

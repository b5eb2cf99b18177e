"""Twilio inbound SMS: ``POST /webhooks/twilio``, answered with TwiML.

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

The signature is checked with the twilio helper library's ``RequestValidator`` over the
public URL and every posted field.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from campaign.errors import Forbidden
from campaign.inbound.message import TextResult
from ingest.providers.base import Provider, Received, check_id, check_text, form_fields, required


class Twilio(Provider):
    name = "twilio"
    path = "/webhooks/twilio"

    async def receive(self, request: Request, body: bytes) -> list[Received]:
        token = self.settings.twilio_auth_token
        if not token:
            raise Forbidden("CAMPAIGN_TWILIO_AUTH_TOKEN is not set; unsigned requests are refused")
        signature = request.headers.get("x-twilio-signature", "")
        if not signature:
            raise Forbidden("missing X-Twilio-Signature")
        fields = form_fields(body)
        if not self._signed(token, self.public_url(request), fields, signature):
            raise Forbidden("X-Twilio-Signature does not match the request")
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

    @staticmethod
    def _signed(token: str, url: str, fields: dict[str, str], signature: str) -> bool:
        validator = RequestValidator(token)
        # Fast path: the URL exactly as configured (one HMAC).  ``validate`` then also
        # tries it with and without the port, as Twilio may sign either form.
        expected = validator.compute_signature(url, fields)
        return hmac.compare_digest(expected, signature) or validator.validate(url, fields, signature)

    def answer(self, outcomes: list[TextResult]) -> Response:
        twiml = MessagingResponse()
        for outcome in outcomes:
            if outcome.reply:
                twiml.message(outcome.reply)
        return Response(str(twiml), media_type="application/xml")

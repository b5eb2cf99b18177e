"""Vonage (Nexmo): inbound SMS (``GET`` or ``POST /webhooks/vonage``) and delivery receipts.

A sample request, as Vonage sends it (query string for GET; the same fields as a form or
JSON for POST; ``timestamp``, ``nonce`` and ``sig`` once signed messages are on in the
Vonage account, which they must be: without ``CAMPAIGN_VONAGE_SIGNATURE_SECRET`` every
request is a 403 unless ``CAMPAIGN_VONAGE_ALLOW_UNSIGNED=true`` says otherwise)::

    GET /webhooks/vonage?msisdn=31612345678&to=4777&messageId=0A0000001234567B
        &text=JA&type=text&keyword=JA&api-key=abcd1234
        &message-timestamp=2026-11-21+20%3A15%3A04&timestamp=1795372504
        &nonce=9b5ecf3e-3c0b-4b55-8c0e-7d1d3c9d0a44&sig=3e0c...f1 HTTP/1.1

Long texts come in parts with ``concat=true``, ``concat-ref``, ``concat-total`` and
``concat-part``; the store keeps the parts until the set is complete.  Vonage retries
anything but a 200 for a day, so the answer is always quick and empty.

The delivery receipt of a text we sent comes to ``/webhooks/vonage/delivery`` the same
ways (GET, or POST as form or JSON), signed the same way::

    GET /webhooks/vonage/delivery?msisdn=31612345678&to=4777&network-code=20416
        &messageId=0A0000000123ABCD1&status=delivered&err-code=0&client-ref=1234
        &scts=2612010241&message-timestamp=2026-12-01+02%3A41%3A07 HTTP/1.1

A receipt moves a text forward only (sent < delivered; failed with the status and
``err-code``); a status that tells nothing (``unknown``) is acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.requests import Request
from starlette.responses import Response

from campaign.errors import BadRequest, Forbidden
from campaign.inbound.message import Part, TextResult
from ingest.jsonbody import bad_text, read_json
from ingest.providers.base import Provider, Receipt, Received, check_id, check_text, form_fields, required

MAX_CLOCK_SKEW = 300  # seconds a signed request may be old (replays are refused)
STATUS = {
    "accepted": "sent",
    "buffered": "sent",
    "delivered": "delivered",
    "expired": "failed",
    "failed": "failed",
    "rejected": "failed",
}


def signature(params: dict[str, str], secret: str, method: str) -> str:
    """Vonage's request signature: the sorted ``&key=value`` pairs, hashed with the secret."""
    text = "".join(
        f"&{key}={str(value).replace('&', '_').replace('=', '_')}"
        for key, value in sorted(params.items())
        if key != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((text + secret).encode(), usedforsecurity=False).hexdigest()
    return hmac.new(secret.encode(), text.encode(), method).hexdigest()


class Vonage(Provider):
    name = "vonage"
    path = "/webhooks/vonage"
    methods = ("GET", "POST")
    receipt_path = "/webhooks/vonage/delivery"
    receipt_methods = ("GET", "POST")
    replies_inline = False  # Vonage ignores the answer's body: replies are sent by the SMS API

    async def receive(self, request: Request, body: bytes) -> list[Received]:
        fields = self._signed_fields(request, body)
        if fields.get("type") == "binary":
            return []  # a binary SMS carries no words to read
        sender, short_code, message_id = required(fields, "msisdn", "to", "messageId")
        return [
            Received(
                message_id=check_id(message_id, "messageId"),
                sender=sender,
                short_code=check_id(short_code, "to", 32),
                text=check_text(fields.get("text", "")),
                part=self._part(fields),
            )
        ]

    def answer(self, outcomes: list[TextResult]) -> Response:
        return Response(status_code=200)

    async def receipt(self, request: Request, body: bytes) -> Receipt | None:
        fields = self._signed_fields(request, body)
        (message_id,) = required(fields, "messageId")
        given = fields.get("status", "").lower()
        status = STATUS.get(given)
        if status is None:
            return None  # "unknown" and the like: nothing to learn
        code = fields.get("err-code", "").strip()
        error = f"vonage {given}" + (f" (err-code {code})" if code and code != "0" else "")
        return Receipt(message_id[:128], status, error if status == "failed" else None)

    @property
    def accepts_unsigned(self) -> bool:
        return not self.settings.vonage_signature_secret and self.settings.vonage_allow_unsigned

    def _signed_fields(self, request: Request, body: bytes) -> dict[str, str]:
        """The request's fields, once their signature is checked (403 when wrong or impossible).

        Without a secret nothing can be checked, so nothing is taken: a Twilio-only install must
        not count texts or receipts from anyone who finds this URL.  Only an explicit
        CAMPAIGN_VONAGE_ALLOW_UNSIGNED=true takes them unsigned.
        """
        secret = self.settings.vonage_signature_secret
        if not secret and not self.settings.vonage_allow_unsigned:
            raise Forbidden(
                "CAMPAIGN_VONAGE_SIGNATURE_SECRET is not set; unsigned requests are refused"
                " (CAMPAIGN_VONAGE_ALLOW_UNSIGNED=true takes them, for an account that cannot sign)"
            )
        fields = self._fields(request, body)
        if secret:
            self._check_signature(fields, secret)
        return fields

    @staticmethod
    def _fields(request: Request, body: bytes) -> dict[str, str]:
        fields = dict(request.query_params)
        if request.method == "POST" and body:
            if request.headers.get("content-type", "").startswith("application/json"):
                data = read_json(body)  # deep nesting, huge numbers, NaN: a 400, not a 500
                if not isinstance(data, dict):
                    raise BadRequest("the JSON body must be an object")
                reason = bad_text(data)  # e.g. "\ud800": the signature could not even be computed
                if reason:
                    raise BadRequest(f"the JSON body: {reason}")
                fields.update({str(k): "" if v is None else str(v) for k, v in data.items()})
            else:
                fields.update(form_fields(body))
        return fields

    def _check_signature(self, fields: dict[str, str], secret: str) -> None:
        given = fields.get("sig", "").lower()
        if not given:
            raise Forbidden("missing sig: signed messages are required")
        expected = signature(fields, secret, self.settings.vonage_signature_method)
        if not given.isascii() or not hmac.compare_digest(given, expected):  # non-ASCII: forged
            raise Forbidden("sig does not match the request")
        try:
            stamp = int(fields.get("timestamp", ""))
        except ValueError:
            raise Forbidden("signed request without a valid timestamp") from None
        if abs(time.time() - stamp) > MAX_CLOCK_SKEW:
            raise Forbidden("signed request is too old (or from the future): refused as a replay")

    @staticmethod
    def _part(fields: dict[str, str]) -> Part | None:
        if fields.get("concat", "").lower() != "true":
            return None
        try:
            reference = fields["concat-ref"]
            total = int(fields["concat-total"])
            number = int(fields["concat-part"])
        except (KeyError, ValueError):
            raise BadRequest("concat=true needs concat-ref, concat-total and concat-part") from None
        if not 1 <= number <= total <= 255:
            raise BadRequest("concat-part must be between 1 and concat-total (at most 255)")
        return Part(reference=check_id(reference, "concat-ref", 64), number=number, total=total)

"""Vonage (Nexmo) SMS API: ``POST {base}/sms/json``.

A sample request and answer (form fields; the key and secret in the body)::

    POST /sms/json HTTP/1.1
    Content-Type: application/x-www-form-urlencoded

    api_key=abcd1234&api_secret=...&from=4777&to=31612345678&text=Dank+je%21+...
    &type=unicode&status-report-req=1&client-ref=1234
    &callback=https%3A%2F%2Fcampaign.example.org%2Fwebhooks%2Fvonage%2Fdelivery

    HTTP/1.1 200 OK
    {"message-count": "1", "messages": [{"to": "31612345678", "message-id": "0A0000000123ABCD1",
     "status": "0", "remaining-balance": "3.14", "message-price": "0.03", "network": "20416"}]}

The HTTP status is 200 even when the text was refused; each message's ``status`` says
what happened: 0 sent, 1 throttled (retried later), 5 an internal error (retried), 7 the
number is barred (treated as an opt-out), anything else permanent with its ``error-text``.
Delivery receipts arrive at ``/webhooks/vonage/delivery``.
"""

from __future__ import annotations

from campaign.errors import ConfigurationError
from campaign.messaging.providers.base import HttpProvider, SendResult, retry_after
from campaign.settings import Settings

THROTTLED = "1"
TEMPORARY = {"5"}  # internal error at Vonage
BARRED = "7"


class VonageSender(HttpProvider):
    name = "vonage"

    def __init__(self, settings: Settings):
        if not settings.vonage_api_key or not settings.vonage_api_secret:
            raise ConfigurationError(
                "CAMPAIGN_VONAGE_API_KEY and CAMPAIGN_VONAGE_API_SECRET are needed to send through Vonage"
            )
        super().__init__(settings)
        self.url = settings.vonage_api_url.rstrip("/") + "/sms/json"
        self.callback = settings.public_url + "/webhooks/vonage/delivery"

    async def post(self, to: str, body: str, reference: str) -> SendResult:
        form = {
            "api_key": self.settings.vonage_api_key,
            "api_secret": self.settings.vonage_api_secret,
            "from": self.sender_id,
            "to": to.lstrip("+"),
            "text": body,
            "status-report-req": "1",
            "client-ref": reference,
            "callback": self.callback,
        }
        if not body.isascii():
            form["type"] = "unicode"
        response = await self.http.post(self.url, data=form)
        if response.status_code == 429:
            return SendResult.temporary("vonage 429", throttled=True, retry_after=retry_after(response))
        if response.status_code >= 500:
            return SendResult.temporary(f"vonage {response.status_code}")
        try:
            message = response.json()["messages"][0]
            status = str(message["status"])
        except (ValueError, KeyError, IndexError, TypeError):
            return SendResult.permanent(f"vonage {response.status_code}: answer not understood")
        if status == "0":
            return SendResult.sent(str(message.get("message-id", "")))
        reason = f"vonage status {status}: {message.get('error-text', '')}".rstrip(": ")
        if status == THROTTLED:
            return SendResult.temporary(reason, throttled=True)
        if status in TEMPORARY:
            return SendResult.temporary(reason)
        return SendResult.permanent(reason, opted_out=status == BARRED)

"""Twilio Programmable Messaging: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``.

A sample request and answer (form fields; HTTP Basic auth with the account SID and the
auth token)::

    POST /2010-04-01/Accounts/AC0000.../Messages.json HTTP/1.1
    Authorization: Basic QUMwMDAwLi4uOnRva2Vu
    Content-Type: application/x-www-form-urlencoded

    To=%2B31612345678&From=4777&Body=Dank+je%21+...&StatusCallback=https%3A%2F%2Fcampaign.example.org%2Fwebhooks%2Ftwilio%2Fstatus

    HTTP/1.1 201 Created
    {"sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "status": "queued", "error_code": null, ...}

Errors come as ``{"code": 21610, "message": "Attempt to send to unsubscribed recipient",
"more_info": "...", "status": 400}``: 21610 means the person texted STOP to Twilio, so they
are marked opted out; 429 (code 20429) is throttling, retried after ``Retry-After``; other
4xx are permanent.  Delivery reports arrive at ``POST /webhooks/twilio/status``.

The twilio helper library's REST client is synchronous (one blocking request at a time);
the sender keeps several texts in flight, so the request is made with httpx here, and the
library checks the status callbacks' signatures (ingest/providers/twilio.py).
"""

from __future__ import annotations

import httpx

from campaign.errors import ConfigurationError
from campaign.messaging.providers.base import HttpProvider, SendResult, retry_after
from campaign.settings import Settings

OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"
# Codes that say "not now" rather than "never": queue overflow, rate limits.
TEMPORARY_CODES = {20429, 30001}


class TwilioSender(HttpProvider):
    name = "twilio"

    def __init__(self, settings: Settings):
        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            raise ConfigurationError(
                "CAMPAIGN_TWILIO_ACCOUNT_SID and CAMPAIGN_TWILIO_AUTH_TOKEN are needed to send through Twilio"
            )
        super().__init__(settings)
        self.url = (
            f"{settings.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{settings.twilio_account_sid}"
            "/Messages.json"
        )
        self.auth = httpx.BasicAuth(settings.twilio_account_sid, settings.twilio_auth_token)
        self.status_callback = settings.public_url + "/webhooks/twilio/status"

    async def post(self, to: str, body: str, reference: str) -> SendResult:
        form = {"To": to, "From": self.sender_id, "Body": body, "StatusCallback": self.status_callback}
        response = await self.http.post(self.url, data=form, auth=self.auth)
        if response.status_code in (200, 201):
            sid = _json(response).get("sid")
            if not sid:
                return SendResult.temporary("Twilio answered without a message sid")
            return SendResult.sent(str(sid))
        error = _json(response)
        code = error.get("code")
        reason = f"twilio {response.status_code}" + (f" {code}" if code else "")
        if error.get("message"):
            reason += f": {error['message']}"
        if response.status_code == 429 or code == 20429:
            return SendResult.temporary(reason, throttled=True, retry_after=retry_after(response))
        if response.status_code >= 500 or code in TEMPORARY_CODES:
            return SendResult.temporary(reason)
        return SendResult.permanent(reason, opted_out=code == OPTED_OUT)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}

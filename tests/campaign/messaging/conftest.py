"""The outbox's tests: the real app and sender on the test's backend, against a local SMS API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from campaign.messaging.providers import provider_for
from campaign.messaging.sender import OutboxSender, SendTotals
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import OutboxMessage, Supporter, utcnow
from ingest.app import create_app
from tests.conftest import PUBLIC_URL
from tests.support.sms_api import ACCOUNT_SID, AUTH_TOKEN, VONAGE_KEY, VONAGE_SECRET, SmsApi

NUMBERS = ["+31612345601", "+31612345602", "+31612345603", "+31612345604", "+32470123405"]


@pytest.fixture
def api() -> Iterator[SmsApi]:
    with SmsApi() as server:
        yield server


@pytest.fixture
def messaging(settings: Settings, api: SmsApi) -> Settings:
    """Settings with a thank-you delay and Twilio pointed at the local API."""
    return settings.model_copy(
        update={
            "thank_you_delay": 60.0,
            "sms_provider": "twilio",
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_api_url": api.url,
            "vonage_api_key": VONAGE_KEY,
            "vonage_api_secret": VONAGE_SECRET,
            "vonage_api_url": api.url,
            "send_rate": 0.0,
        }
    )


@pytest.fixture
def rt(messaging: Settings) -> Iterator[Runtime]:
    runtime = Runtime.open(messaging, migrate=False)
    yield runtime
    runtime.close()


@pytest.fixture
def app(messaging: Settings, rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(messaging, rt), base_url=PUBLIC_URL) as client:
        yield client


def send_all(settings: Settings, rt: Runtime, **options: object) -> SendTotals:
    """Run a real sender until nothing is due or waiting."""

    async def main() -> SendTotals:
        provider = provider_for(settings)
        sender = OutboxSender(
            rt.engine,
            rt.vault,
            provider,
            yes_words=settings.yes_words,
            rate=float(options.pop("rate", settings.send_rate)),  # type: ignore[arg-type]
            backoff_base=float(options.pop("backoff_base", 0.05)),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )
        try:
            return await sender.run(until_idle=True)
        finally:
            await provider.aclose()

    return asyncio.run(main())


def make_due(rt: Runtime) -> None:
    """Let the delay pass: every queued text is due now."""
    with rt.engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "queued")
            .values(scheduled_at=utcnow() - timedelta(seconds=1))
        )


def outbox_rows(rt: Runtime) -> list[OutboxMessage]:
    from sqlalchemy.orm import Session

    with Session(rt.engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def subscribe(rt: Runtime, numbers: list[str]) -> list[int]:
    """Supporters who texted JOIN, the way the write path makes them."""
    from campaign.inbound.message import InboundSms

    messages = [
        InboundSms("twilio", f"SMjoin{i}", rt.vault.sender(n), "4777", "JOIN", utcnow())
        for i, n in enumerate(numbers)
    ]
    rt.recorder.record(messages)
    with rt.engine.connect() as connection:
        ids = dict(connection.execute(select(Supporter.phone_hash, Supporter.id)).all())
    return [ids[rt.vault.hash(number)] for number in numbers]  # in the order of the numbers

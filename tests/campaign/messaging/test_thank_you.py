"""Thank-yous a minute later, with the count then; one per person however often they text."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import OutboxMessage
from tests.campaign.messaging.conftest import NUMBERS, make_due, outbox_rows, send_all
from tests.conftest import post_twilio, twilio_form
from tests.support.sms_api import SmsApi


def test_thanks_come_later_once_per_person_with_the_count_at_sending(
    app: TestClient, rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    first = post_twilio(app, twilio_form("SM1", NUMBERS[0], "JA"))
    assert first.status_code == 200
    assert "<Message>" not in first.text  # no immediate thank-you when it comes later
    post_twilio(app, twilio_form("SM2", NUMBERS[0], "ja!"))  # again, within the delay
    post_twilio(app, twilio_form("SM2", NUMBERS[0], "ja!"))  # and a provider retry
    post_twilio(app, twilio_form("SM3", NUMBERS[1], "HASSAN"))
    rows = outbox_rows(rt)
    assert [(r.kind, r.status) for r in rows] == [("thank_you", "queued")] * 2
    for row in rows:
        delay = (row.scheduled_at - row.created_at).total_seconds()
        assert abs(delay - 60) < 1

    assert send_all(messaging, rt).sent == 0  # not due yet: nothing goes early
    assert api.received == []

    # More people sign before the minute is over: the thank-you tells the count then.
    post_twilio(app, twilio_form("SM4", NUMBERS[2], "JA"))
    post_twilio(app, twilio_form("SM5", NUMBERS[3], "JA"))
    make_due(rt)
    totals = send_all(messaging, rt)
    assert totals.sent == 4
    assert len(api.texts_to(NUMBERS[0])) == 1
    # In the language of the yes-word ("JA": Dutch), with the four signers at sending time.
    assert api.texts_to(NUMBERS[0]) == [
        "Dank je! Jij en 3 anderen staan achter Hassan. Antwoord STOP om af te melden."
    ]
    assert api.texts_to(NUMBERS[3]) == api.texts_to(NUMBERS[0])
    assert {r.status for r in outbox_rows(rt)} == {"sent"}
    assert all(m["callback"] == messaging.public_url + "/webhooks/twilio/status" for m in api.received)

    # A later JA, after the thank-you went: answered again, as "already signed".
    post_twilio(app, twilio_form("SM6", NUMBERS[0], "JA"))
    make_due(rt)
    send_all(messaging, rt)
    assert api.texts_to(NUMBERS[0])[1] == "Je staat al achter Hassan, dank je! Al 4 mensen hebben getekend."


def test_stop_between_queuing_and_sending_cancels_the_text(
    app: TestClient, rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    post_twilio(app, twilio_form("SM1", NUMBERS[0], "JA"))
    post_twilio(app, twilio_form("SM2", NUMBERS[1], "JA"))
    stop = post_twilio(app, twilio_form("SM3", NUMBERS[0], "STOP"))
    assert "geen berichten meer" in stop.text  # STOP is confirmed at once, in the JA-er's Dutch
    make_due(rt)
    totals = send_all(messaging, rt)
    assert (totals.sent, totals.cancelled) == (1, 1)
    assert api.texts_to(NUMBERS[0]) == []
    statuses = {r.status: r.error for r in outbox_rows(rt)}
    assert statuses == {"cancelled": "opted out before sending", "sent": None}


def test_zero_delay_keeps_the_immediate_reply_and_queues_nothing(
    settings: Settings, client: TestClient, runtime: Runtime, hassan: object
) -> None:
    assert settings.thank_you_delay == 0
    reply = post_twilio(client, twilio_form("SM1", NUMBERS[0], "JA"))
    assert "Dank je! Jij bent de eerste die achter Hassan staat." in reply.text
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(OutboxMessage.id)) is None


def test_thank_you_of_a_vonage_signer_goes_through_the_outbox_too(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    from campaign.inbound.message import InboundSms
    from campaign.storage.models import utcnow

    message = InboundSms("vonage", "0A01", rt.vault.sender(NUMBERS[4]), "4777", "JA", utcnow())
    outcome = rt.recorder.record([message]).outcomes[0]
    assert outcome.counted and outcome.reply is None
    make_due(rt)
    vonage = messaging.model_copy(update={"sms_provider": "vonage"})
    assert send_all(vonage, rt).sent == 1
    [text] = api.received
    assert (text["provider"], text["to"]) == ("vonage", NUMBERS[4].lstrip("+"))
    assert text["body"].startswith("Dank je! Jij bent de eerste")
    assert text["client-ref"] == str(outbox_rows(rt)[0].id)
    assert abs((outbox_rows(rt)[0].sent_at - utcnow()) / timedelta(seconds=1)) < 30


def test_erasure_removes_every_text_of_the_supporter(
    app: TestClient, rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    from sqlalchemy import delete

    from campaign.messaging.outbox import forget_supporter
    from campaign.storage.models import Signature, Supporter

    post_twilio(app, twilio_form("SM1", NUMBERS[0], "JA"))
    post_twilio(app, twilio_form("SM2", NUMBERS[1], "JA"))
    [first, _] = outbox_rows(rt)
    with rt.engine.begin() as connection:  # as `campaign supporter forget` would
        assert forget_supporter(connection, first.supporter_id) == 1
        connection.execute(delete(Signature).where(Signature.supporter_id == first.supporter_id))
        from campaign.storage.models import InboundMessage

        connection.execute(delete(InboundMessage).where(InboundMessage.supporter_id == first.supporter_id))
        connection.execute(delete(Supporter).where(Supporter.id == first.supporter_id))
    make_due(rt)
    assert send_all(messaging, rt).sent == 1
    assert api.texts_to(NUMBERS[0]) == []

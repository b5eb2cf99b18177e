"""The sender against a local SMS API: throttling, failures, delivery reports, a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select, update
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from campaign.messaging import alerts
from campaign.messaging.outbox import IN_DOUBT
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import Supporter
from tests.campaign.messaging.conftest import NUMBERS, outbox_rows, send_all, subscribe
from tests.conftest import PUBLIC_URL, post_twilio, twilio_form
from tests.support.sms_api import AUTH_TOKEN, Behaviour, SmsApi


def queue_alert(rt: Runtime, appeal: str = "hassan", text: str | None = None) -> int:
    return alerts.queue(rt.engine, alerts.plan(rt.engine, appeal, text=text), "test").queued


def test_throttling_slows_sending_and_loses_nothing(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    subscribe(rt, NUMBERS)
    api.behaviour = Behaviour(throttle_first=6, retry_after="0")
    assert queue_alert(rt) == 5
    totals = send_all(messaging, rt, concurrency=5)
    assert api.throttled == 6
    assert totals.sent == 5 and totals.failed == 0 and totals.retried >= 6
    assert sorted(m["to"] for m in api.received) == sorted(NUMBERS)  # each once
    assert {r.status for r in outbox_rows(rt)} == {"sent"}
    assert max(r.attempts for r in outbox_rows(rt)) >= 2


def test_server_errors_are_retried_and_permanent_errors_fail_with_the_reason(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    subscribe(rt, NUMBERS)
    api.behaviour = Behaviour(server_error_first=2, unsubscribed={NUMBERS[1]}, invalid={NUMBERS[2]})
    queue_alert(rt)
    totals = send_all(messaging, rt, concurrency=2)
    assert (totals.sent, totals.failed) == (3, 2)
    by_number = {m["to"] for m in api.received}
    assert by_number == {NUMBERS[0], NUMBERS[3], NUMBERS[4]}
    failed = sorted(r.error or "" for r in outbox_rows(rt) if r.status == "failed")
    assert failed[0].startswith("twilio 400 21211")
    # Twilio quotes the number in this error; only its masked form is stored (and shown).
    assert NUMBERS[2] not in failed[0] and NUMBERS[2][-9:] not in failed[0]
    assert f"+•••{NUMBERS[2][-2:]}" in failed[0]
    assert failed[1] == "twilio 400 21610: Attempt to send to unsubscribed recipient"
    # 21610: the person texted STOP to Twilio; they are opted out here too.
    with rt.engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(Supporter.opted_out.is_(True))) == 1


def test_numbers_in_errors_kept_before_are_masked_by_the_migration(
    rt: Runtime, messaging: Settings, hassan: object
) -> None:
    from alembic import command

    from campaign.storage import db
    from campaign.storage.models import OutboxMessage

    subscribe(rt, NUMBERS[:2])
    queue_alert(rt)
    raw = f"twilio 400 21211: The 'To' number {NUMBERS[0]} is not a valid phone number."
    with rt.engine.begin() as connection:
        connection.execute(update(OutboxMessage).values(status="failed", error=raw))
    config = db.alembic_config(rt.engine)
    command.downgrade(config, "0009")
    command.upgrade(config, "head")
    errors = {row.error for row in outbox_rows(rt)}
    assert errors == {f"twilio 400 21211: The 'To' number +•••{NUMBERS[0][-2:]} is not a valid phone number."}


def test_temporary_errors_give_up_after_the_last_attempt(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    subscribe(rt, NUMBERS[:1])
    api.behaviour = Behaviour(server_error_first=10)
    queue_alert(rt)
    totals = send_all(messaging, rt, max_attempts=3)
    assert (totals.sent, totals.failed) == (0, 1)
    [row] = outbox_rows(rt)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == "gave up after 3 tries: twilio 503 20500: Service unavailable"


def sign_callback(form: dict[str, str]) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/webhooks/twilio/status", form)


def test_status_callbacks_update_delivery(
    app: TestClient, rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    subscribe(rt, NUMBERS[:2])
    queue_alert(rt)
    send_all(messaging, rt)
    first, second = api.received
    callbacks = [
        {"MessageSid": first["sid"], "MessageStatus": "sent", "AccountSid": "AC1"},
        {"MessageSid": first["sid"], "MessageStatus": "delivered", "AccountSid": "AC1"},
        {"MessageSid": first["sid"], "MessageStatus": "sent", "AccountSid": "AC1"},  # late, out of order
        {
            "MessageSid": second["sid"],
            "MessageStatus": "undelivered",
            "ErrorCode": "30005",
            "AccountSid": "AC1",
        },
    ]
    for form in callbacks:
        answer = app.post(
            "/webhooks/twilio/status", data=form, headers={"X-Twilio-Signature": sign_callback(form)}
        )
        assert answer.json() == {"known": True}
    by_sid = {r.provider_message_id: r for r in outbox_rows(rt)}
    assert by_sid[first["sid"]].status == "delivered" and by_sid[first["sid"]].delivered_at is not None
    assert (by_sid[second["sid"]].status, by_sid[second["sid"]].error) == (
        "failed",
        "twilio 30005: undelivered",
    )

    forged = {"MessageSid": first["sid"], "MessageStatus": "failed"}
    refused = app.post("/webhooks/twilio/status", data=forged, headers={"X-Twilio-Signature": "bad"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    unknown = {"MessageSid": "SMnope", "MessageStatus": "delivered"}
    answer = app.post(
        "/webhooks/twilio/status", data=unknown, headers={"X-Twilio-Signature": sign_callback(unknown)}
    )
    assert answer.json() == {"known": False}
    bad = {"MessageSid": first["sid"], "MessageStatus": "exploded"}
    answer = app.post("/webhooks/twilio/status", data=bad, headers={"X-Twilio-Signature": sign_callback(bad)})
    assert answer.status_code == 400 and "MessageStatus" in answer.json()["error"]["message"]


def test_vonage_delivery_receipts(
    app: TestClient, rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    from ingest.providers.vonage import signature

    subscribe(rt, NUMBERS[:1])
    queue_alert(rt)
    send_all(messaging.model_copy(update={"sms_provider": "vonage"}), rt)
    [text] = api.received
    assert text["callback"] == PUBLIC_URL + "/webhooks/vonage/delivery"
    fields = {
        "msisdn": text["to"],
        "to": "4777",
        "messageId": text["sid"],
        "status": "delivered",
        "err-code": "0",
        "client-ref": text["client-ref"],
        "timestamp": str(int(time.time())),
    }
    fields["sig"] = signature(fields, messaging.vonage_signature_secret, "sha256")
    assert app.get("/webhooks/vonage/delivery", params=fields).json() == {"known": True}
    assert outbox_rows(rt)[0].status == "delivered"
    fields["sig"] = "0" * 64
    assert app.get("/webhooks/vonage/delivery", params=fields).status_code == 403


def sender_process(messaging: Settings, log: object, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CAMPAIGN_DATA_DIR": str(messaging.data_dir),
        "CAMPAIGN_DATABASE_URL": messaging.resolved_database_url,
        "CAMPAIGN_SECRET_KEY": messaging.secret_key,
        "CAMPAIGN_PUBLIC_URL": messaging.public_url,
        "CAMPAIGN_SMS_PROVIDER": "twilio",
        "CAMPAIGN_TWILIO_ACCOUNT_SID": messaging.twilio_account_sid,
        "CAMPAIGN_TWILIO_AUTH_TOKEN": messaging.twilio_auth_token,
        "CAMPAIGN_TWILIO_API_URL": messaging.twilio_api_url,
        "CAMPAIGN_SEND_RATE": "0",
        "CAMPAIGN_SEND_LEASE": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "send", *extra],
        env=env,
        stdout=log,  # type: ignore[arg-type]
        stderr=subprocess.STDOUT,
        cwd=messaging.data_dir.parent,
    )


def test_a_sender_killed_mid_batch_resumes_without_sending_twice(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object, tmp_path: object
) -> None:
    numbers = [f"+316{20000000 + i}" for i in range(120)]
    subscribe(rt, numbers)
    assert queue_alert(rt) == 120
    # A provider that takes a moment to answer: the kill below lands while a round is in flight.
    api.behaviour = Behaviour(delay=0.3)
    with open(f"{tmp_path}/sender.log", "wb") as log:
        first = sender_process(messaging, log)
        deadline = time.monotonic() + 60
        while len(api.received) < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)  # mid-batch: texts in flight, results unwritten
        first.wait(timeout=10)
        got_before = len(api.received)
        assert 30 <= got_before < 120
        time.sleep(1.1)  # the lease of the stopped sender's claims runs out
        second = sender_process(messaging, log, "--until-idle")
        assert second.wait(timeout=120) == 0
    received = [m["to"] for m in api.received]
    assert len(received) == len(set(received))  # nobody got it twice
    rows = outbox_rows(rt)
    statuses = {s: sum(1 for r in rows if r.status == s) for s in {r.status for r in rows}}
    # What the killed sender held is in doubt: marked unknown once its lease ran out, not resent.
    interrupted = [r for r in rows if r.status == "unknown"]
    assert all(r.error == IN_DOUBT for r in interrupted)
    assert statuses.get("sent", 0) + len(interrupted) == 120
    assert 0 < len(interrupted) <= messaging.send_concurrency  # at most one round was at stake
    # Every text marked sent was received; one in doubt may or may not have been.
    assert statuses["sent"] <= len(received) <= 120
    sent_to = {r.provider_message_id for r in rows if r.status == "sent"}
    assert sent_to <= {m["sid"] for m in api.received}


def test_the_alert_becomes_the_latest_alert_once_it_is_sent(
    app: TestClient, rt: Runtime, messaging: Settings, api: SmsApi, hassan: object, kenya: object
) -> None:
    subscribe(rt, NUMBERS[:2])
    queue_alert(rt, "kenya", text="Demand accountability in Kenya. Reply JA.")
    post_twilio(app, twilio_form("SM1", NUMBERS[0], "JA"))  # before the alert went: the featured appeal
    send_all(messaging.model_copy(update={"thank_you_delay": 0.0}), rt)
    assert api.texts_to(NUMBERS[1]) == ["Demand accountability in Kenya. Reply JA."]
    post_twilio(app, twilio_form("SM2", NUMBERS[1], "JA"))
    with rt.engine.connect() as connection:
        from campaign.storage.models import Appeal, Signature

        signed = dict(
            connection.execute(
                select(Signature.supporter_id, Appeal.slug).join(Appeal, Appeal.id == Signature.appeal_id)
            ).all()
        )
    assert sorted(signed.values()) == ["hassan", "kenya"]
    assert all(r.status == "sent" for r in outbox_rows(rt) if r.kind == "alert")


def test_two_senders_share_the_outbox_and_send_each_text_once(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    import asyncio

    from campaign.messaging.providers import provider_for
    from campaign.messaging.sender import OutboxSender

    numbers = [f"+316{30000000 + i}" for i in range(60)]
    subscribe(rt, numbers)
    queue_alert(rt)
    api.behaviour = Behaviour(delay=0.005)

    async def both() -> list[int]:
        providers = [provider_for(messaging), provider_for(messaging)]
        senders = [OutboxSender(rt.engine, rt.vault, p, rate=0, concurrency=4) for p in providers]
        try:
            totals = await asyncio.gather(*(s.run(until_idle=True) for s in senders))
        finally:
            for p in providers:
                await p.aclose()
        return [t.sent for t in totals]

    sent = asyncio.run(both())
    assert sum(sent) == 60
    received = [m["to"] for m in api.received]
    assert sorted(received) == sorted(numbers)

"""The leads' texts when a milestone passes: queued once, in the reply lane, numbers kept like supporters'."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from campaign.appeals import milestones
from campaign.errors import ConfigurationError
from campaign.messaging import alerts, lead_notices
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import OutboxMessage, Supporter
from tests.campaign.messaging.conftest import make_due, outbox_rows, send_all, subscribe
from tests.support.sms_api import SmsApi

LEAD = "+31611112222"


def test_a_milestone_queues_one_text_per_lead_in_the_reply_lane(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    notify = lead_notices.notifier(runtime.vault, [LEAD])
    caplog.set_level(logging.INFO, logger="campaign.milestones")
    assert milestones.claim(runtime.engine, "campaign:torture", 10000, on_claim=notify)
    assert not milestones.claim(runtime.engine, "campaign:torture", 10000, on_claim=notify)
    assert milestones.claim(runtime.engine, "all", 25000, on_claim=notify)
    with runtime.engine.connect() as connection:
        texts = connection.execute(
            select(OutboxMessage.kind, OutboxMessage.lane, OutboxMessage.body, OutboxMessage.supporter_id)
        ).all()
        (lead,) = connection.execute(select(Supporter)).all()
    assert sorted((kind, lane, body.rsplit(" (", 1)[0]) for kind, lane, body, _ in texts) == [
        ("milestone", "reply", "Milestone: all appeals together passed 25,000 signatures"),
        ("milestone", "reply", "Milestone: campaign torture passed 10,000 signatures"),
    ]
    assert {supporter for *_, supporter in texts} == {lead.id}, "one lead, kept once"
    assert not lead.subscribed, "a lead is never sent the alerts"
    assert runtime.vault.decrypt(lead.phone_encrypted) == LEAD and LEAD not in lead.phone_encrypted
    assert "1111" not in caplog.text and "a text queued for 1 leads" in caplog.text


def test_no_leads_no_notices(runtime: Runtime) -> None:
    assert lead_notices.notifier(runtime.vault, []) is None


def test_a_wrong_lead_number_is_named_by_its_place_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.load(data_dir=tmp_path, milestone_notify=f"{LEAD}, 0612345678")
    assert "CAMPAIGN_MILESTONE_NOTIFY" in error.value.message and "entry 2" in error.value.message
    assert "0612345678" not in error.value.message
    assert Settings.load(data_dir=tmp_path, milestone_notify=f" {LEAD} ,").milestone_notify == (LEAD,)


def test_the_leads_text_goes_before_a_big_alert_queued_earlier(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(rt, [f"+316{40000000 + i}" for i in range(12)])
    alerts.queue(rt.engine, alerts.plan(rt.engine, "hassan"), "test")
    make_due(rt)  # the alert is due first
    notify = lead_notices.notifier(rt.vault, [LEAD])
    assert milestones.claim(rt.engine, "appeal:hassan", 10000, on_claim=notify)
    caplog.set_level(logging.DEBUG)
    totals = send_all(messaging, rt, concurrency=1)
    assert totals.sent == 13
    first = outbox_rows(rt)
    sent_order = sorted((row for row in first if row.sent_at), key=lambda row: (row.sent_at, row.id))
    assert sent_order[0].kind == "milestone", "the lead hears first, whatever bulk waits"
    assert api.texts_to(LEAD) == [sent_order[0].body]
    assert "11112222" not in caplog.text, "the lead's number is masked in every log"

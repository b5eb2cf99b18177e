"""Alerts and outcome messages: who they reach, once, audited; and the CLI flows."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import update

from campaign import audit
from campaign.appeals import outcomes
from campaign.errors import BadRequest, NotFound
from campaign.messaging import alerts, outcome_messages
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import Supporter
from tests.campaign.messaging.conftest import NUMBERS, outbox_rows, send_all, subscribe
from tests.cli.test_cli import campaign
from tests.conftest import backend_env
from tests.support import cli_process
from tests.support.sms_api import SmsApi


def answering(settings: Settings, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command, with a person typing ``answer`` at its question."""
    env = {
        **os.environ,
        **backend_env(settings),
        "COLUMNS": "200",
    }
    return cli_process.run(
        args,
        env=env,
        input=answer,
        timeout=120,
        cwd=settings.data_dir.parent,
    )


def test_an_alert_reaches_subscribers_of_the_chosen_countries_once(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    ids = subscribe(rt, NUMBERS)  # four Dutch numbers and a Belgian one
    with rt.engine.begin() as connection:  # one opted out, one never subscribed
        connection.execute(update(Supporter).where(Supporter.id == ids[0]).values(opted_out=True))
        connection.execute(update(Supporter).where(Supporter.id == ids[1]).values(subscribed=False))
    everyone = alerts.plan(rt.engine, "hassan")
    assert (everyone.recipients, everyone.already) == (3, 0)
    assert everyone.body.startswith("Hassan is at risk of torture")
    belgians = alerts.plan(rt.engine, "hassan", ["be"])
    assert (belgians.countries, belgians.recipients) == (("BE",), 1)
    assert alerts.queue(rt.engine, belgians, "lead").queued == 1
    again = alerts.plan(rt.engine, "hassan")
    assert (again.recipients, again.already) == (2, 1)
    assert alerts.queue(rt.engine, again, "lead").queued == 2
    assert alerts.queue(rt.engine, again, "lead").queued == 0  # a second click sends nothing
    send_all(messaging, rt)
    assert sorted(m["to"] for m in api.received) == sorted(NUMBERS[2:])
    entries = [e for e in audit.recent(rt.engine) if e.action == "alert.send"]
    assert [e.detail["recipients"] for e in entries] == [0, 2, 1]
    assert all("+3" not in str(e.detail) for e in entries)  # never a number in the audit log


def test_alert_input_is_checked(rt: Runtime, hassan: object) -> None:
    with pytest.raises(NotFound):
        alerts.plan(rt.engine, "nobody")
    with pytest.raises(BadRequest, match="unknown country 'Atlantis'"):
        alerts.plan(rt.engine, "hassan", ["Atlantis"])
    with pytest.raises(BadRequest, match="161 characters"):
        alerts.plan(rt.engine, "hassan", text="x" * 161)
    assert alerts.plan(rt.engine, "hassan", ["Netherlands, BE"]).countries == ("BE", "NL")


def test_the_outcome_message_reaches_every_signer_who_did_not_opt_out_once(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    from campaign.inbound.message import InboundSms
    from campaign.storage.models import utcnow

    signs = [
        InboundSms("twilio", f"SM{i}", rt.vault.sender(n), "4777", "JA", utcnow())
        for i, n in enumerate(NUMBERS)
    ]
    rt.recorder.record(signs)
    rt.recorder.record(
        [InboundSms("twilio", "SMstop", rt.vault.sender(NUMBERS[0]), "4777", "STOP", utcnow())]
    )
    with pytest.raises(BadRequest, match="no outcome yet"):
        outcome_messages.plan(rt.engine, "hassan")
    outcomes.record(rt.engine, "hassan", "released")
    plan = outcome_messages.plan(rt.engine, "hassan")
    assert (plan.outcome, plan.good, plan.recipients) == ("Released", True, 4)
    assert (
        plan.body
        == "Good news: released for Hassan. Thank you for standing with them! Reply STOP to opt out."
    )
    assert outcome_messages.queue(rt.engine, plan, "lead").queued == 4
    assert outcome_messages.queue(rt.engine, outcome_messages.plan(rt.engine, "hassan"), "lead").queued == 0
    assert outcome_messages.plan(rt.engine, "hassan").already == 4
    send_all(messaging, rt)
    assert sorted(m["to"] for m in api.received) == sorted(NUMBERS[1:])
    assert {r.kind for r in outbox_rows(rt) if r.status == "sent"} == {"outcome"}
    assert [e.action for e in audit.recent(rt.engine)][:2] == ["outcome.message", "outcome.message"]


def cli_env(messaging: Settings) -> dict[str, str]:
    return {"CAMPAIGN_SMS_PROVIDER": "console", "CAMPAIGN_SEND_RATE": "0"}


def test_cli_alert_flow_preview_confirm_and_progress(
    rt: Runtime, messaging: Settings, hassan: object
) -> None:
    subscribe(rt, NUMBERS)
    refused = answering(messaging, "n\n", "alert", "send", "hassan", "--country", "NL", "--no-wait")
    assert "Hassan is at risk of torture" in refused.stdout  # the preview
    assert "recipients: 4 subscribed supporters" in refused.stdout
    assert refused.returncode == 1 and "not sent" in refused.stdout
    assert outbox_rows(rt) == []
    unknown = campaign(messaging, "alert", "send", "hassan", "--country", "XX", "--yes")
    assert unknown.returncode == 2 and "unknown country 'XX'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    sent = answering(messaging, "y\n", "alert", "send", "hassan", "--no-wait")
    assert sent.returncode == 0, sent.stderr
    assert "queued 5 texts" in sent.stdout
    send = campaign(messaging, "send", "--until-idle", env=cli_env(messaging))
    assert send.returncode == 0, send.stderr
    assert "5 sent" in send.stdout
    log = (messaging.data_dir / "outbox.log").read_text()
    assert log.count("Hassan is at risk of torture") == 5
    assert "+31 6 ••• ••• 01" in log and "+31612345601" not in log  # only masked numbers
    again = campaign(messaging, "alert", "send", "hassan", "--yes")
    assert "recipients: 0" in again.stdout and "5 already had this alert" in again.stdout


def test_cli_outcome_record_with_notify(rt: Runtime, messaging: Settings, hassan: object) -> None:
    from campaign.inbound.message import InboundSms
    from campaign.storage.models import utcnow

    rt.recorder.record([InboundSms("twilio", "SM1", rt.vault.sender(NUMBERS[0]), "4777", "JA", utcnow())])
    done = campaign(messaging, "outcome", "record", "hassan", "--kind", "released", "--notify", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Good news: released for Hassan" in done.stdout and "queued 1 texts" in done.stdout
    again = campaign(messaging, "outcome", "notify", "hassan", "--yes")
    assert "recipients: 0" in again.stdout and "1 already had it" in again.stdout


def test_cli_alert_follows_the_sending_to_the_end(rt: Runtime, messaging: Settings, hassan: object) -> None:
    subscribe(rt, NUMBERS[:3])
    env = {
        **os.environ,
        "CAMPAIGN_DATA_DIR": str(messaging.data_dir),
        "CAMPAIGN_DATABASE_URL": messaging.resolved_database_url,
        "CAMPAIGN_SECRET_KEY": messaging.secret_key,
        "CAMPAIGN_SEND_RATE": "5",
    }
    sender = subprocess.Popen(
        [sys.executable, "-m", "cli", "send"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=messaging.data_dir.parent,
    )
    try:
        done = campaign(messaging, "alert", "send", "hassan", "--yes")
    finally:
        sender.terminate()
        sender.wait(timeout=15)
    assert done.returncode == 0, done.stderr
    assert "done: 3 sent · 0 failed · 0 opted out" in done.stdout
    assert sender.returncode == 0

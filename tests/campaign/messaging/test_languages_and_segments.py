"""Alerts and outcome messages in each supporter's language, measured in SMS segments as the
network counts them; ``outbox.segments`` for every kind of text; the CLI preview and
``--dry-run``."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from campaign import audit
from campaign.appeals import outcomes
from campaign.errors import BadRequest
from campaign.inbound.message import InboundSms
from campaign.messaging import alerts, outcome_messages
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import Supporter, utcnow
from tests.campaign.messaging.conftest import NUMBERS, make_due, outbox_rows, send_all, subscribe
from tests.cli.test_cli import campaign
from tests.support.sms_api import SmsApi

FR = "Hassan risque la torture. Répondez JA pour exiger sa sécurité."
NL = "Hassan loopt gevaar op marteling. Antwoord JA om zijn veiligheid te eisen."
ARABIC = "حسن معرض لخطر التعذيب. أرسل JA للمطالبة بسلامته."


def speak(rt: Runtime, ids: list[int], languages: list[str | None]) -> None:
    """Supporters' languages, as the inbound side sets them."""
    with rt.engine.begin() as connection:
        for supporter_id, language in zip(ids, languages, strict=True):
            connection.execute(
                update(Supporter).where(Supporter.id == supporter_id).values(language=language)
            )


def test_each_subscriber_gets_the_alert_in_their_language(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    ids = subscribe(rt, NUMBERS)
    speak(rt, ids, ["fr", "fr", "nl", None, "de"])  # no German version: the appeal's own text
    plan = alerts.plan(rt.engine, "hassan", translations={"FR": FR, "nl": NL, "ar": ARABIC})
    by_version = {
        v.language: (v.recipients, v.measure.encoding, v.measure.segments) for v in plan.text.versions
    }
    assert by_version == {
        None: (2, "GSM-7", 1),
        "ar": (0, "UCS-2", 1),
        "fr": (2, "GSM-7", 1),
        "nl": (1, "GSM-7", 1),
    }
    assert (plan.recipients, plan.text.segments) == (5, 5)
    assert plan.text.by_language == {"fr": 2, "nl": 1, None: 1, "de": 1}
    assert alerts.queue(rt.engine, plan, "lead").queued == 5
    rows = {r.supporter_id: r for r in outbox_rows(rt)}
    assert [(rows[i].language, rows[i].body, rows[i].segments) for i in ids] == [
        ("fr", FR, 1),
        ("fr", FR, 1),
        ("nl", NL, 1),
        ("en", plan.body, 1),  # the appeal's own text, in the appeal's language
        ("en", plan.body, 1),
    ]
    again = alerts.plan(rt.engine, "hassan", translations={"fr": FR})
    assert (again.recipients, again.already) == (0, 5)
    assert alerts.queue(rt.engine, again, "lead").queued == 0  # still once per supporter
    send_all(messaging, rt)
    received = {m["to"]: m["body"] for m in api.received}
    assert [received[n] for n in NUMBERS] == [FR, FR, NL, plan.body, plan.body]
    entry = next(e for e in audit.recent(rt.engine) if e.action == "alert.send" and e.detail["recipients"])
    assert entry.detail["translations"] == {"ar": ARABIC, "fr": FR, "nl": NL}


def test_the_segment_limit_and_language_codes_are_checked(rt: Runtime, hassan: object) -> None:
    assert alerts.plan(rt.engine, "hassan", text="€" * 80).text.versions[0].measure.units == 160
    with pytest.raises(BadRequest, match=r"the alert text needs 2 SMS segments \(GSM-7, 81 characters\)"):
        alerts.plan(rt.engine, "hassan", text="€" * 81)  # counts double: 162 septets
    with pytest.raises(BadRequest, match=r"needs 2 SMS segments .*UCS-2 because of 🙂.*at most 1 allowed"):
        alerts.plan(rt.engine, "hassan", text="Free Hassan now " + "a" * 53 + " 🙂")
    assert (
        alerts.plan(rt.engine, "hassan", text="a" * 300, max_segments=2).text.versions[0].measure.segments
        == 2
    )
    with pytest.raises(BadRequest, match="unknown language code 'xx'"):
        alerts.plan(rt.engine, "hassan", translations={"xx": "Hallo"})
    with pytest.raises(BadRequest, match="unknown language code 'french'"):
        alerts.plan(rt.engine, "hassan", translations={"french": "Bonjour"})
    with pytest.raises(BadRequest, match="the 'ar' translation needs 2 SMS segments"):
        alerts.plan(rt.engine, "hassan", translations={"ar": ARABIC * 2})
    with pytest.raises(BadRequest, match="two translations for 'fr'"):
        alerts.plan(rt.engine, "hassan", translations={"fr": FR, "FR": FR})
    with pytest.raises(BadRequest, match="the 'fr' translation is empty"):
        alerts.plan(rt.engine, "hassan", translations={"fr": "  "})


def test_the_outcome_message_goes_in_each_signers_language(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    rt.recorder.record(
        [
            InboundSms("twilio", f"SM{i}", rt.vault.sender(n), "4777", "JA", utcnow())
            for i, n in enumerate(NUMBERS)
        ]
    )
    ids = subscribe(rt, NUMBERS)
    speak(rt, ids, ["nl", "fr", "fr", None, "sw"])
    outcomes.record(rt.engine, "hassan", "released")
    made = outcome_messages.plan(rt.engine, "hassan")  # no text of the lead's: made per language
    assert {v.language: v.recipients for v in made.text.versions} == {None: 4, "nl": 1}
    assert made.text.translations["nl"].startswith("Goed nieuws: released voor Hassan")
    lead = outcome_messages.plan(
        rt.engine, "hassan", "Hassan is free. Thank you!", {"fr": "Hassan est libre. Merci !"}
    )
    assert {v.language: v.recipients for v in lead.text.versions} == {None: 3, "fr": 2}  # the lead's only
    assert outcome_messages.queue(rt.engine, lead, "lead").queued == 5
    rows = {r.supporter_id: r for r in outbox_rows(rt) if r.kind == "outcome"}
    assert [(rows[i].language, rows[i].segments) for i in ids] == [
        ("en", 1),
        ("fr", 1),
        ("fr", 1),
        ("en", 1),
        ("en", 1),
    ]
    assert outcome_messages.plan(rt.engine, "hassan").already == 5


def test_every_queued_text_has_its_segments(
    rt: Runtime, messaging: Settings, api: SmsApi, hassan: object
) -> None:
    def text(sid: str, body: str) -> InboundSms:
        number = rt.vault.sender(NUMBERS[0])
        return InboundSms("vonage", sid, number, "4777", body, utcnow(), replies_inline=False)

    rt.recorder.record([text("SM1", "JA")])
    rt.recorder.record([text("SM2", "HELP"), text("SM3", "what is this?")])
    rows = outbox_rows(rt)
    assert {r.kind for r in rows} >= {"thank_you", "help"}
    assert all(r.segments == 1 for r in rows), [(r.kind, r.segments) for r in rows]
    with rt.engine.begin() as connection:  # the thank-you is rendered again at sending time
        connection.execute(update(Supporter).values(language="ar"))
    make_due(rt)
    send_all(messaging, rt)
    assert all(r.segments is not None and r.segments >= 1 for r in outbox_rows(rt))


def test_cli_preview_dry_run_translations_and_refusals(
    rt: Runtime, messaging: Settings, hassan: object
) -> None:
    ids = subscribe(rt, NUMBERS)
    speak(rt, ids, ["fr", "fr", "fr", None, None])
    text = "Hassan is at risk [urgent]. Reply JA to act."
    dry = campaign(
        messaging, "alert", "send", "hassan", "--text", text, "--translation", f"fr={FR}",
        "--translation", f"ar={ARABIC}", "--dry-run",
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    out = dry.stdout
    assert "[urgent]" in out  # the lead's brackets are text, not console markup
    assert FR in out and "dry run: nothing queued" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["fr"][1:] == ["GSM-7", str(len(FR)), "1/1", "3", "3"]
    assert lines["ar"][1:] == ["UCS-2", str(len(ARABIC)), "1/1", "0", "0"]
    assert lines["total"][1:] == ["5", "5"]
    assert "ar: UCS-2 (70 characters a segment) because of" in out
    assert outbox_rows(rt) == []
    unknown = campaign(messaging, "alert", "send", "hassan", "--translation", "xx=Hallo", "--yes")
    assert unknown.returncode == 2 and "unknown language code 'xx'" in unknown.stderr
    malformed = campaign(messaging, "alert", "send", "hassan", "--translation", "Bonjour", "--yes")
    assert malformed.returncode == 2 and 'write it as --translation LANG="text"' in malformed.stderr
    long = campaign(messaging, "alert", "send", "hassan", "--text", "a" * 150 + " {curly} 🙂", "--yes")
    assert long.returncode == 2 and "needs 3 SMS segments" in long.stderr and "Traceback" not in long.stderr
    allowed = campaign(
        messaging, "alert", "send", "hassan", "--text", "a" * 200, "--yes", "--no-wait",
        env={"CAMPAIGN_ALERT_MAX_SEGMENTS": "2"},
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert "queued 5 texts" in allowed.stdout
    assert {r.segments for r in outbox_rows(rt)} == {2}
    notify_dry = campaign(messaging, "outcome", "notify", "hassan", "--dry-run")
    assert notify_dry.returncode == 2 and "no outcome yet" in notify_dry.stderr

"""The Messages page under AppTest: the outbox as stored, masked numbers, and both sending flows."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update

from campaign.appeals import outcomes
from campaign.inbound.message import InboundSms
from campaign.messaging import alerts
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import OutboxMessage, utcnow
from tests.dashboard.test_pages import html, page

NUMBERS = ["+31612345601", "+31612345602", "+32470123403"]


def signers(runtime: Runtime) -> None:
    """Three supporters who joined and signed Hassan's appeal; the last one then opted out."""
    texts = [
        InboundSms("twilio", f"SM{i}{word}", runtime.vault.sender(n), "4777", word, utcnow())
        for word in ("JOIN", "JA")
        for i, n in enumerate(NUMBERS)
    ]
    runtime.recorder.record(texts)
    runtime.recorder.record(
        [InboundSms("twilio", "SMstop", runtime.vault.sender(NUMBERS[2]), "4777", "STOP", utcnow())]
    )


def test_messages_shows_the_outbox_with_failures_masked(
    dashboard_env: Settings, runtime: Runtime, hassan: object
) -> None:
    signers(runtime)
    alerts.queue(runtime.engine, alerts.plan(runtime.engine, "hassan"), "lead")
    with runtime.engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == connection.scalar(select(func.min(OutboxMessage.id))))
            .values(status="failed", error="twilio 400 21211: not a valid phone number", attempts=1)
        )
    at = page("pages/messages.py", role="lead")
    shown = html(at)
    figures = re.findall(r'sf-k">([^<]*)</div><div class="sf-v">([^<]*)<', shown)
    assert figures == [
        ("Waiting", "1"),
        ("Sent", "0"),
        ("Segments sent", "0"),
        ("Failed", "1"),
        ("Send rate", "0"),
    ]
    lanes = at.dataframe[0].value  # the alert waits in the bulk lane
    assert lanes["due"].tolist() == [0, 1] and lanes["lane"].iloc[0].startswith("Replies")
    failures = at.dataframe[2].value
    assert list(failures["reason"]) == ["twilio 400 21211: not a valid phone number"]
    assert failures["to"].iloc[0].startswith("+3") and "•••" in failures["to"].iloc[0]
    assert not any(n[3:] in str(failures.to_dict()) for n in NUMBERS)
    assert at.dataframe[1].value["texts"].tolist() == [1]
    assert not [b for b in at.button if b.key == "doubt-resend-all"]  # nothing in doubt


def test_messages_sends_an_alert_after_preview_and_confirmation(
    dashboard_env: Settings, runtime: Runtime, hassan: object
) -> None:
    signers(runtime)
    at = page("pages/messages.py", role="lead")
    at.selectbox(key="alert-appeal").select("hassan").run()
    at.multiselect(key="alert-countries").select("NL").run()
    at.button(key="alert-preview").click().run()
    assert not at.exception
    assert "Hassan is at risk of torture" in " ".join(t.value for t in at.text)
    assert any("**2** subscribed supporters will get this text" in m.value for m in at.markdown)
    assert len(_rows(runtime)) == 0  # nothing before the confirmation
    at.button(key="alert-confirm").click().run()
    assert not at.exception
    assert len(_rows(runtime)) == 2
    bar = at.get("progress")[0]
    assert "alert: 0 of 2 sent" in bar.proto.text
    from campaign.audit import recent

    assert [(e.actor, e.action, e.subject) for e in recent(runtime.engine)][:1] == [
        ("test-lead", "alert.send", "hassan")
    ]


def test_messages_sends_the_outcome_message_once(
    dashboard_env: Settings, runtime: Runtime, hassan: object
) -> None:
    signers(runtime)
    outcomes.record(runtime.engine, "hassan", "released")
    at = page("pages/messages.py", role="lead")
    at.selectbox(key="outcome-message-appeal").select("hassan").run()
    at.button(key="outcome-message-preview").click().run()
    assert any("**2** signers will get this text" in m.value for m in at.markdown)
    at.button(key="outcome-message-confirm").click().run()
    assert not at.exception
    assert len([r for r in _rows(runtime) if r[0] == "outcome"]) == 2
    at.button(key="outcome-message-preview").click().run()
    assert any("Nobody to send to" in m.value and "2 already had it" in m.value for m in at.markdown)
    assert not [b for b in at.button if b.key == "outcome-message-confirm"]


def test_messages_says_what_is_wrong(dashboard_env: Settings, runtime: Runtime, hassan: object) -> None:
    at = page("pages/messages.py", role="lead")
    at.button(key="alert-preview").click().run()
    assert [e.value for e in at.error] == ["choose the appeal"]
    at.selectbox(key="alert-appeal").select("hassan").run()
    at.button(key="alert-preview").click().run()
    assert [e.value for e in at.error] == []  # the appeal's own text, within 160 characters
    at.multiselect(key="alert-countries").select("AQ").run()
    at.button(key="alert-preview").click().run()
    assert any("Nobody to send to" in m.value for m in at.markdown)
    assert not [b for b in at.button if b.key == "alert-confirm"]


def test_messages_lists_texts_in_doubt_and_a_lead_resends_them_once(
    dashboard_env: Settings, runtime: Runtime, hassan: object
) -> None:
    signers(runtime)
    alerts.queue(runtime.engine, alerts.plan(runtime.engine, "hassan"), "lead")
    with runtime.engine.begin() as connection:  # a sender took both and died: in doubt
        connection.execute(
            update(OutboxMessage).values(status="unknown", claimed_by="host:1:dead", claimed_at=utcnow())
        )
    # Two leads have the page open; both press "Resend all".
    first, second = page("pages/messages.py", role="lead"), page("pages/messages.py", role="lead")
    doubt = first.dataframe[3].value  # lanes, reasons, failures, in doubt
    assert len(doubt) == 2 and all("•••" in to for to in doubt["to"])
    assert not any(n[3:] in str(doubt.to_dict()) for n in NUMBERS)
    first.button(key="doubt-resend-all").click().run()
    assert not first.exception
    assert [s.value for s in first.success] == ["2 texts queued again."]
    assert sorted(_rows(runtime)) == [("alert", "queued"), ("alert", "queued")]
    second.button(key="doubt-resend-all").click().run()
    assert not second.exception
    assert sorted(_rows(runtime)) == [("alert", "queued"), ("alert", "queued")]  # not twice
    assert not [b for b in second.button if b.key == "doubt-resend-all"]  # nothing left in doubt
    from campaign.audit import recent

    resends = [e for e in recent(runtime.engine) if e.action == "outbox.resend"]
    assert [(e.actor, len(e.detail["texts"])) for e in resends] == [("test-lead", 2)]


def test_messages_resends_only_the_texts_a_lead_chose(
    dashboard_env: Settings, runtime: Runtime, hassan: object
) -> None:
    signers(runtime)
    alerts.queue(runtime.engine, alerts.plan(runtime.engine, "hassan"), "lead")
    with runtime.engine.begin() as connection:
        connection.execute(update(OutboxMessage).values(status="unknown", claimed_at=utcnow()))
        first = connection.scalar(select(func.min(OutboxMessage.id)))
    at = page("pages/messages.py", role="lead")
    assert at.button(key="doubt-resend").disabled  # nothing chosen yet
    at.multiselect(key="doubt-chosen").select(first).run()
    at.button(key="doubt-resend").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["1 text queued again."]
    with runtime.engine.connect() as connection:
        statuses = dict(connection.execute(select(OutboxMessage.id, OutboxMessage.status)).all())
    assert statuses[first] == "queued" and sorted(statuses.values()) == ["queued", "unknown"]


def _rows(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(OutboxMessage.kind, OutboxMessage.status)).all()]  # type: ignore[misc]


def test_messages_previews_languages_and_segments_and_counts_segments_sent(
    dashboard_env: Settings, runtime: Runtime, hassan: object
) -> None:
    from campaign.storage.models import Supporter

    signers(runtime)
    with runtime.engine.begin() as connection:
        connection.execute(update(Supporter).where(Supporter.opted_out.is_(False)).values(language="fr"))
    at = page("pages/messages.py", role="lead")
    at.selectbox(key="alert-appeal").select("hassan").run()
    at.text_area(key="alert-text").input("Free Hassan now ✊ Reply JA").run()
    assert "UCS-2, 26 characters, 1 segment; UCS-2 because of ✊" in [c.value for c in at.caption]
    at.text_area(key="alert-translations").input("xx: Hallo").run()
    at.button(key="alert-preview").click().run()
    assert [e.value for e in at.error] == [
        "unknown language code 'xx': use a two-letter ISO 639-1 code, e.g. fr"
    ]
    at.text_area(key="alert-translations").input(
        "FR: Libérez Hassan maintenant, répondez JA\nar: " + "ب" * 71
    ).run()
    at.button(key="alert-preview").click().run()
    assert [e.value for e in at.error] == [
        "the 'ar' translation needs 2 SMS segments (UCS-2, 71 characters; UCS-2 because of ب); "
        "at most 1 allowed (70 characters in UCS-2; CAMPAIGN_ALERT_MAX_SEGMENTS)"
    ]
    at.text_area(key="alert-translations").input("fr: Libérez Hassan maintenant, répondez JA").run()
    at.button(key="alert-preview").click().run()
    assert not at.exception and not at.error
    assert any(
        "appeal's own text: UCS-2, 70 characters a segment, because of ✊" in w.value for w in at.warning
    )
    table = at.dataframe[-1].value  # the preview's table, after the failures'
    assert table.values.tolist() == [
        ["appeal's own text", "UCS-2", 26, 1, 0, 0],
        ["fr", "GSM-7", 38, 1, 2, 2],
    ]
    assert any(
        "**2** subscribed supporters will get this text: **2** SMS segments" in m.value for m in at.markdown
    )
    at.button(key="alert-confirm").click().run()
    assert not at.exception
    with runtime.engine.begin() as connection:
        connection.execute(update(OutboxMessage).values(status="sent", sent_at=utcnow()))
        languages = connection.execute(select(OutboxMessage.language, OutboxMessage.segments)).all()
    assert sorted(languages) == [("fr", 1), ("fr", 1)]
    from dashboard import data

    data.forget_outbox()
    shown = html(page("pages/messages.py", role="lead"))
    figures = dict(re.findall(r'sf-k">([^<]*)</div><div class="sf-v">([^<]*)<', shown))
    assert (figures["Sent"], figures["Segments sent"]) == ("2", "2")

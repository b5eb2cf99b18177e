"""The Appeals page under AppTest: its forms (create, edit, feature, close, reopen, each
mistake shown under its form), targets, petition figures, downloads and the deliver flow.

Deliveries go to a local aiosmtpd server; what the page shows is checked against the
signatures the test imported and the messages the server received.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from campaign import audit
from campaign.appeals import deliveries
from campaign.appeals import registry as appeals
from campaign.live.keys import appeal_key
from campaign.runtime import Runtime
from campaign.settings import Settings, get_settings
from tests.campaign.appeals.test_petition import import_history
from tests.conftest import free_port
from tests.dashboard.test_pages import html, page
from tests.support.smtp import SmtpServer, running_smtp

EMAIL = "minister@justice.example.org"
FAX = "0031701234567@fax.example.org"


@pytest.fixture
def ready(runtime: Runtime, hassan: object, kenya: object, tmp_path: Path) -> None:
    import_history(runtime, tmp_path)
    appeals.edit_appeal(
        runtime.engine, "hassan", target_name="Minister of Justice", target_email=EMAIL, target_fax=FAX
    )


def use_mail(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture
def smtp(dashboard_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with running_smtp() as server:
        use_mail(monkeypatch, server.env())
        yield server


# The page's tables in the order it draws them (AppTest gives a dataframe no key).
TABLES = ("appeals", "countries", "days", "deliveries")


def table(at: AppTest, name: str) -> pd.DataFrame:
    return at.dataframe[TABLES.index(name)].value


@pytest.mark.usefixtures("ready")
def test_the_page_lists_appeals_with_target_and_count(smtp: SmtpServer) -> None:
    at = page("pages/appeals.py", role="lead")
    overview = table(at, "appeals").set_index("appeal")
    assert overview.loc["hassan", "signatures"] == 6 and overview.loc["kenya", "signatures"] == 0
    # Nothing delivered yet: empty cells, not a None the table would print.
    assert overview.isna().sum().sum() == 0
    assert (overview.loc["kenya", "delivered"], overview.loc["kenya", "last_delivery"]) == ("", "")
    assert overview.loc["hassan", "target"] == "Minister of Justice"
    assert (overview.loc["hassan", "email"], overview.loc["hassan", "fax"]) == (EMAIL, FAX)
    assert overview.loc["hassan", "deliveries"] == 0
    assert not at.get("download_button"), "no petition until an appeal is picked"


@pytest.mark.usefixtures("ready")
def test_preview_downloads_and_delivery(smtp: SmtpServer, runtime: Runtime) -> None:
    at = page("pages/appeals.py", role="lead", appeal="hassan")
    shown = html(at)
    assert 'Signatures</div><div class="sf-v">6<' in shown and "29 November 2026 to 30 November 2026" in shown
    countries = table(at, "countries")
    assert dict(zip(countries["code"], countries["signatures"], strict=True)) == {
        "NL": 3,
        "BE": 1,
        "DE": 1,
        "KE": 1,
    }
    days = table(at, "days")
    assert list(days["signatures"]) == [1, 5] and list(days["running"]) == [1, 6]
    downloads = at.get("download_button")
    assert len(downloads) == 2
    assert table(at, "deliveries").empty

    at.button(key="deliver-start").click().run()
    assert not at.exception
    assert smtp.received == [], "nothing is sent before the confirmation"
    confirmation = " ".join(m.value for m in at.markdown)
    assert "**6 signatures**" in confirmation and f"`{EMAIL}`" in confirmation and f"`{FAX}`" in confirmation
    at.button(key="deliver-confirm").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [r.rcpt_tos for r in smtp.received] == [[EMAIL], [FAX]]
    assert [s.value for s in at.success] == [f"Delivered 6 signatures to {EMAIL}, {FAX}"]
    (record,) = deliveries.history(runtime.engine)
    assert record.actor == "test-lead" and record.status == "sent"
    shown = table(at, "deliveries")
    assert list(shown["status"]) == ["sent"] and list(shown["sha256"]) == [record.document_sha256]
    assert table(at, "appeals").set_index("appeal").loc["hassan", "delivered"] == "6"


@pytest.mark.usefixtures("ready")
def test_cancel_sends_nothing(smtp: SmtpServer) -> None:
    at = page("pages/appeals.py", role="lead", appeal="hassan")
    at.button(key="deliver-start").click().run()
    at.button(key="deliver-cancel").click().run()
    assert not at.exception and smtp.received == []
    assert at.button(key="deliver-start").disabled is False


@pytest.mark.usefixtures("ready")
def test_a_failed_delivery_is_one_line_and_listed(
    dashboard_env: Settings, monkeypatch: pytest.MonkeyPatch, runtime: Runtime
) -> None:
    closed = free_port()
    use_mail(
        monkeypatch,
        {
            "CAMPAIGN_SMTP_HOST": "127.0.0.1",
            "CAMPAIGN_SMTP_PORT": str(closed),
            "CAMPAIGN_SMTP_STARTTLS": "false",
            "CAMPAIGN_MAIL_FROM": "urgent@amnesty.example.org",
        },
    )
    at = page("pages/appeals.py", role="lead", appeal="hassan")
    at.button(key="deliver-start").click().run()
    at.button(key="deliver-confirm").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"delivery of 'hassan' failed: cannot reach the SMTP server 127.0.0.1:{closed} (Connection refused)"
    ]
    assert list(table(at, "deliveries")["status"]) == ["failed"]


@pytest.mark.usefixtures("ready")
def test_without_mail_settings_delivery_is_off(dashboard_env: Settings) -> None:
    at = page("pages/appeals.py", role="lead", appeal="hassan")
    assert [i.value for i in at.info] == ["CAMPAIGN_SMTP_HOST is not set: petitions are delivered through it"]
    assert at.button(key="deliver-start").disabled
    assert len(at.get("download_button")) == 2, "the documents can still be downloaded"


# -- the forms: create, edit, feature, close, reopen -------------------------------------------------


def lead_page(**query: str) -> AppTest:
    return page("pages/appeals.py", role="lead", **query)


def create(at: AppTest, **values: object) -> AppTest:
    """Fill in "New appeal" as a lead would and press "Create appeal"."""
    fields = {"slug": "ahmed", "title": "Free Ahmed", "person": "Ahmed", "keywords": "AHMED FREEAHMED"}
    fields.update({k: v for k, v in values.items() if k not in {"campaign", "goal", "sms"}})
    for name, value in fields.items():
        at.text_input(key=f"new-{name}").input(str(value))
    at.selectbox(key="new-campaign").select(str(values.get("campaign", "torture")))
    at.number_input(key="new-goal").set_value(values.get("goal", 5000))
    at.text_area(key="new-sms").input(str(values.get("sms", "Ahmed is held without charge. Reply AHMED.")))
    return at.button(key="new-save").click().run()


def errors(at: AppTest) -> list[str]:
    assert not at.exception, at.exception
    return [e.value for e in at.error]


def meta(runtime: Runtime, slug: str) -> dict[str, str]:
    """What the screens read of an appeal (the live view's appeal meta)."""
    return runtime.live.redis.hgetall(appeal_key(slug, "meta"))  # type: ignore[no-any-return]


def actions(runtime: Runtime) -> list[tuple[str, str, str]]:
    return [
        (e.actor, e.action, e.subject)
        for e in reversed(audit.recent(runtime.engine))
        if e.action.startswith("appeal.")
    ]


def test_create_an_appeal(dashboard_env: Settings, runtime: Runtime, hassan: object) -> None:
    at = create(lead_page())
    assert errors(at) == []
    assert [s.value for s in at.success] == ["Created appeal ahmed: Free Ahmed"]
    assert at.selectbox(key="appeals-appeal").value == "ahmed", "the new appeal is opened"
    made = appeals.get_appeal(runtime.engine, "ahmed")
    assert (made.campaign, made.person, made.keywords, made.goal) == (
        "torture",
        "Ahmed",
        ["AHMED", "FREEAHMED"],
        5000,
    )
    assert made.sms_text == "Ahmed is held without charge. Reply AHMED."
    assert ("test-lead", "appeal.add", "ahmed") in actions(runtime)
    shown = meta(runtime, "ahmed")
    assert (shown["title"], shown["goal"], shown["status"]) == ("Free Ahmed", "5000", "open"), (
        "on the screens"
    )
    assert "ahmed" in set(table(at, "appeals")["appeal"])


ARABIC = "أوقفوا تعذيب أحمد الآن. أرسل كلمة أحمد لتطالب بسلامته وحريته فورا. شكرا لكم على دعمكم"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"slug": "hassan"}, "appeal 'hassan' exists already"),
        ({"keywords": "AHMED hassan"}, "keyword 'HASSAN' is used by the open appeal 'hassan'"),
        (
            {"sms": "x" * 161},
            "sms text needs 2 SMS segments (GSM-7, 161 characters); at most 1 allowed "
            "(160 characters in GSM-7; CAMPAIGN_ALERT_MAX_SEGMENTS)",
        ),
        ({"slug": "Ahmed Ali"}, "slug 'Ahmed Ali': use lower-case letters, digits and dashes"),
        ({"title": " "}, "title: must not be empty"),
    ],
)
def test_each_mistake_is_shown_under_the_form(
    dashboard_env: Settings, runtime: Runtime, hassan: object, values: dict[str, object], message: str
) -> None:
    at = create(lead_page(), **values)
    assert errors(at) == [message]
    assert at.text_input(key="new-title").value == values.get("title", "Free Ahmed"), "what was typed is kept"
    assert [a.slug for a in appeals.list_appeals(runtime.engine)] == ["hassan"], "nothing saved"
    assert [a for a in actions(runtime) if a[0] == "test-lead"] == []


def test_an_sms_text_over_its_budget_names_the_characters(
    dashboard_env: Settings, runtime: Runtime, hassan: object
) -> None:
    assert 70 < len(ARABIC) < 160, "one GSM-7 segment's worth of characters, two in UCS-2"
    (error,) = errors(create(lead_page(), sms=ARABIC))
    assert error.startswith("sms text needs 2 SMS segments (UCS-2, ") and "at most 1 allowed" in error


def test_edit_an_appeal(dashboard_env: Settings, runtime: Runtime, hassan: object) -> None:
    at = lead_page(appeal="hassan")
    k = "edit-hassan"
    assert at.text_input(key=f"{k}-slug").disabled and at.text_input(key=f"{k}-campaign").disabled
    assert at.text_input(key=f"{k}-keywords").value == "HASSAN"
    at.text_input(key=f"{k}-title").input("Free Hassan now")
    at.number_input(key=f"{k}-goal").set_value(20000)
    at.text_input(key=f"{k}-keywords").input("HASSAN, FREEHASSAN")
    at.text_input(key=f"{k}-target").input("Minister of Justice")
    at.text_input(key=f"{k}-email").input(EMAIL)
    at.text_area(key=f"{k}-translations").input("fr=Merci ! Vous et {others} autres soutenez {person}.")
    at.text_input(key=f"{k}-milestones").input("10 000, 15000")
    at.button(key=f"{k}-save").click().run()
    assert errors(at) == []
    (saved,) = [s.value for s in at.success]
    assert saved.startswith("Saved hassan: title, ") and "thank-you translations" in saved
    now = appeals.get_appeal(runtime.engine, "hassan")
    assert (now.title, now.goal, now.keywords, now.milestones) == (
        "Free Hassan now",
        20000,
        ["HASSAN", "FREEHASSAN"],
        (10000, 15000),
    )
    assert now.translations == (("fr", "Merci ! Vous et {others} autres soutenez {person}."),)
    assert appeals.get_target(runtime.engine, "hassan") == appeals.Target("Minister of Justice", EMAIL, "")
    assert ("test-lead", "appeal.edit", "hassan") in actions(runtime)
    assert (meta(runtime, "hassan")["title"], meta(runtime, "hassan")["milestones"]) == (
        "Free Hassan now",
        "10000,15000",
    )
    assert table(at, "appeals").set_index("appeal").loc["hassan", "email"] == EMAIL

    at.button(key=f"{k}-save").click().run()
    assert errors(at) == [] and "Nothing to save: hassan is as it was" in [i.value for i in at.info]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "email",
            "minister@justice",
            "target email 'minister@justice' is not an email address (e.g. minister@justice.example.org)",
        ),
        ("keywords", "KENYA", "keyword 'KENYA' is used by the open appeal 'kenya'"),
        ("translations", "xx=Merci", "unknown language code 'xx': use a two-letter ISO 639-1 code, e.g. fr"),
        (
            "translations",
            f"ar={ARABIC} {ARABIC} {{others}}",
            "thank-you in 'ar' needs 3 SMS segments with a count of 9,999,999",
        ),
        (
            "milestones",
            "ten thousand",
            "milestone 'ten thousand': not a whole number of signatures, e.g. 10000",
        ),
    ],
)
def test_each_edit_mistake_is_shown_under_the_form(
    dashboard_env: Settings,
    runtime: Runtime,
    hassan: object,
    kenya: object,
    field: str,
    value: str,
    message: str,
) -> None:
    before = appeals.get_appeal(runtime.engine, "hassan")
    at = lead_page(appeal="hassan")
    widget = (
        at.text_area(key=f"edit-hassan-{field}")
        if field == "translations"
        else at.text_input(key=f"edit-hassan-{field}")
    )
    widget.input(value)
    at.button(key="edit-hassan-save").click().run()
    (shown,) = errors(at)
    assert shown.startswith(message), shown
    assert appeals.get_appeal(runtime.engine, "hassan") == before
    assert [a for a in actions(runtime) if a[0] == "test-lead"] == [], "nothing saved"


@pytest.mark.usefixtures("ready")
def test_a_goal_under_a_passed_milestone_is_refused(dashboard_env: Settings, runtime: Runtime) -> None:
    at = lead_page(appeal="hassan")
    at.text_input(key="edit-hassan-milestones").input("5")  # the total is 6: passed when set
    at.number_input(key="edit-hassan-goal").set_value(3)
    at.button(key="edit-hassan-save").click().run()
    assert errors(at) == ["goal 3: under milestone 5, which the total has passed already"]
    assert appeals.get_appeal(runtime.engine, "hassan").goal == 10000, "nothing saved"


def test_feature_close_and_reopen(
    dashboard_env: Settings, runtime: Runtime, hassan: object, kenya: object
) -> None:
    at = lead_page(appeal="kenya")
    at.text_input(key="feature-code-kenya").input("4778")
    at.button(key="feature-kenya").click().run()
    assert errors(at) == [] and [s.value for s in at.success] == ["A bare yes-word to 4778 now signs kenya"]
    assert appeals.get_appeal(runtime.engine, "kenya").featured_on == ["4778"]

    at.button(key="close-kenya").click().run()
    assert errors(at) == [] and [s.value for s in at.success] == ["Closed kenya at 0 signatures"]
    closed = appeals.get_appeal(runtime.engine, "kenya")
    assert (closed.status, closed.featured_on) == ("closed", [])
    assert meta(runtime, "kenya")["status"] == "closed", "the screens show it closed"
    assert "feature-kenya" not in [b.key for b in at.button], "a closed appeal is reopened, not featured"
    at.button(key="reopen-kenya").click().run()
    assert errors(at) == [] and [s.value for s in at.success] == [
        "Reopened kenya: new signatures count again"
    ]
    assert appeals.get_appeal(runtime.engine, "kenya").status == "open"
    assert meta(runtime, "kenya")["status"] == "open"
    assert [a for a in actions(runtime) if a[0] == "test-lead"] == [
        ("test-lead", "appeal.feature", "kenya"),
        ("test-lead", "appeal.close", "kenya"),
        ("test-lead", "appeal.reopen", "kenya"),
    ]


def test_a_blank_short_code_is_refused(dashboard_env: Settings, runtime: Runtime, hassan: object) -> None:
    at = lead_page(appeal="hassan")
    at.text_input(key="feature-code-hassan").input(" ")
    at.button(key="feature-hassan").click().run()
    assert errors(at) == ["short code: give the number supporters text, e.g. 4777"]

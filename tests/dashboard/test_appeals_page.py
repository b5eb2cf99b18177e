"""The Appeals page under AppTest: targets, petition figures, downloads and the deliver flow.

Deliveries go to a local aiosmtpd server; what the page shows is checked against the
signatures the test imported and the messages the server received.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from campaign.appeals import deliveries
from campaign.appeals import registry as appeals
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


def test_the_target_form(dashboard_env: Settings, runtime: Runtime, hassan: object) -> None:
    at = page("pages/appeals.py", role="lead", appeal="hassan")
    assert at.button(key="deliver-start").disabled
    at.text_input(key="target-name-hassan").input("Minister of Justice")
    at.text_input(key="target-email-hassan").input("minister@justice")
    at.button(key="target-save-hassan").click().run()
    assert [e.value for e in at.error] == [
        "target email 'minister@justice' is not an email address (e.g. minister@justice.example.org)"
    ]
    at.text_input(key="target-email-hassan").input(EMAIL)
    at.button(key="target-save-hassan").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Saved the target of hassan"]
    assert appeals.get_target(runtime.engine, "hassan").email == EMAIL
    assert table(at, "appeals").set_index("appeal").loc["hassan", "email"] == EMAIL

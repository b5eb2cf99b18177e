"""Running an appeal from the Appeals page in Chromium (issue 17, items 3 and 6): a lead
creates an appeal with the form (a mistake first, shown under it), a supporter texts its
keyword through the ingest's signed SMS webhook, and the Live screen, opened in a second
tab of the same login, counts it.  Nothing is requested outside this machine, from either
tab."""

from __future__ import annotations

import httpx
import pytest

from campaign import audit
from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.test_staff_pages_browser import (
    choose,
    dashboard,  # noqa: F401 - the fixture: `campaign dashboard`
)
from tests.conftest import Server, post_twilio, twilio_form

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan")]
HERO = "document.querySelector('.cr-card.hero .cr-v')?.textContent"


def test_create_an_appeal_text_its_keyword_and_live_counts_it(
    ingest_server: Server,
    dashboard: str,  # noqa: F811
    visit: object,
    runtime: Runtime,
    lead: str,
) -> None:
    shown = visit(dashboard + "/appeals", 1440, 1400)  # type: ignore[operator]
    page = shown.page
    page.get_by_label("User name").wait_for(timeout=45000)
    log_in(page, lead)
    page.get_by_text("New appeal").click(timeout=45000)
    page.get_by_label("Slug", exact=True).fill("ahmed")
    page.get_by_label("Title", exact=True).fill("Free Ahmed")
    choose(page, "Campaign", "Torture")
    page.get_by_label("Person", exact=True).fill("Ahmed")
    page.get_by_label("Keywords", exact=True).fill("AHMED HASSAN")
    page.get_by_label("SMS text", exact=True).fill(
        "Ahmed is held without charge. Reply AHMED to demand his release."
    )
    page.get_by_label("Goal", exact=True).fill("500")
    page.get_by_role("button", name="Create appeal").click()
    page.get_by_text("keyword 'HASSAN' is used by the open appeal 'hassan'").wait_for(timeout=30000)
    assert page.get_by_label("Title", exact=True).input_value() == "Free Ahmed", "what was typed is kept"
    page.get_by_label("Keywords", exact=True).fill("AHMED")
    page.get_by_role("button", name="Create appeal").click()
    page.get_by_text("Created appeal ahmed: Free Ahmed").wait_for(timeout=30000)
    shown.screenshot("appeals-created")
    made = appeals.get_appeal(runtime.engine, "ahmed")
    assert (made.campaign, made.keywords, made.goal) == ("torture", ["AHMED"], 500)
    assert [(e.actor, e.action) for e in audit.recent(runtime.engine) if e.subject == "ahmed"] == [
        (lead, "appeal.add")
    ]

    live = page.context.new_page()  # a second tab of the same login
    live.goto(dashboard + "/live?appeal=ahmed")
    live.wait_for_function(f"{HERO} === '0'", timeout=45000)
    assert "Free Ahmed" in live.inner_text("body")
    with httpx.Client(base_url=ingest_server.url) as http:
        assert post_twilio(http, twilio_form("SMf1", "+31612345678", "AHMED")).status_code == 200
        assert post_twilio(http, twilio_form("SMf2", "+32470123456", "ahmed")).status_code == 200
    live.wait_for_function(f"{HERO} === '2'", timeout=15000)
    ARTIFACTS.mkdir(exist_ok=True)
    live.screenshot(path=str(ARTIFACTS / "appeals-created-live.png"))
    assert appeals.get_appeal(runtime.engine, "ahmed").signatures == 2
    assert shown.outside() == [], f"a tab reached outside: {shown.outside()}"

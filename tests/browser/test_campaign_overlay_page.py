"""Campaign overlays and the public widget in Chromium: live sums, never backwards, nothing from outside."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from tests.browser.conftest import FOLLOW_MS
from tests.conftest import Server, post_twilio, start_ingest, twilio_form

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan", "kenya")]


@pytest.fixture
def ahmed(runtime: Runtime) -> None:
    """A second appeal of the torture campaign (before the ingest process starts)."""
    summary = appeals.add_appeal(
        runtime.engine, slug="ahmed", title="Free Ahmed", campaign="torture", keywords=["AHMED"]
    )
    runtime.live.publish_appeal(summary.public())


def value(page: object) -> str:
    return str(page.evaluate("document.getElementById('total').dataset.value"))  # type: ignore[attr-defined]


def test_campaign_overlay_follows_its_appeals_and_never_goes_back(
    ahmed: None,
    ingest_server: Server,
    runtime: Runtime,
    visit: object,
    backend: object,
    screen_token: Callable[..., str],
) -> None:
    if getattr(backend, "name", "") != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    token = screen_token(campaign="torture")
    shown = visit(ingest_server.url + f"/overlay/campaigns/torture?theme=green&token={token}")  # type: ignore[operator]
    page = shown.page
    page.wait_for_function("document.getElementById('total').dataset.value === '0'")
    assert page.inner_text("#label") == "Torture"
    with httpx.Client(base_url=ingest_server.url) as http:
        post_twilio(http, twilio_form("SMw1", "+31612345678", "JA"))  # hassan
        post_twilio(http, twilio_form("SMw2", "+31612345679", "KENYA"))  # another campaign
        post_twilio(http, twilio_form("SMw3", "+31612345670", "AHMED"))
        page.wait_for_function("document.getElementById('total').dataset.value === '2'", timeout=FOLLOW_MS)
        assert http.get("/api/v1/campaigns/torture/total.txt", params={"token": token}).text == "2"
    page.evaluate("window.campaignOverlay.show(1)")  # a lower figure arriving late
    page.wait_for_timeout(300)
    assert value(page) == "2"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(0, 177, 64)", "keyed on chroma green"
    shown.screenshot("overlay-campaign-green")
    assert shown.outside() == []


def test_network_overlay_is_transparent_for_keying(
    ingest_server: Server, visit: object, backend: object, screen_token: Callable[..., str]
) -> None:
    if getattr(backend, "name", "") != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    token = screen_token(campaign="all")
    shown = visit(ingest_server.url + f"/overlay/campaigns/all?token={token}")  # type: ignore[operator]
    page = shown.page
    page.wait_for_function("document.getElementById('total').dataset.value === '0'")
    with httpx.Client(base_url=ingest_server.url) as http:
        post_twilio(http, twilio_form("SMx1", "+31612345678", "JA"))
        post_twilio(http, twilio_form("SMx2", "+31612345679", "KENYA"))
    page.wait_for_function("document.getElementById('total').dataset.value === '2'", timeout=FOLLOW_MS)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgba(0, 0, 0, 0)"
    assert shown.outside() == []


def test_the_public_widget_polls_and_never_counts_down(
    ingest_server: Server, visit: object, backend: object
) -> None:
    if getattr(backend, "name", "") != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    from playwright.sync_api import expect  # as the browser fixture: only once Chromium is there

    widget = ingest_server.url + "/embed/appeals/hassan?theme=dark&lang=de"
    shown = visit(widget, width=360, height=150)  # type: ignore[operator]
    page = shown.page
    # The widget's policy forbids eval, which wait_for_function needs: expect() reads the DOM instead.
    total = page.locator("#total")
    expect(total).to_have_attribute("data-value", "0")
    assert page.inner_text("#unit") == "Unterschriften"
    assert page.inner_text("#title") == "Stop the torture of Hassan"
    with httpx.Client(base_url=ingest_server.url) as http:
        for i in range(3):
            post_twilio(http, twilio_form(f"SMy{i}", f"+3161234567{i}", "JA"))
    expect(total).to_have_attribute("data-value", "3", timeout=FOLLOW_MS)
    assert "Ziel" in page.inner_text("#goal") and "in der letzten Minute" in page.inner_text("#rate")
    page.evaluate("window.campaignCounter.show({title: 'x', total: 1, goal: null, last_minute: 0})")
    assert total.get_attribute("data-value") == "3"
    shown.screenshot("embed-dark-de")
    assert shown.outside() == []
    # As a partner's site embeds it: the copy-paste snippet in a page of another origin
    # (localhost, not 127.0.0.1; a page from off this machine could not reach a local server).
    other_origin = ingest_server.url.replace("127.0.0.1", "localhost") + "/healthz"
    framed = visit(other_origin, width=400, height=200)  # type: ignore[operator]
    framed.page.set_content(
        f'<iframe src="{ingest_server.url}/embed/appeals/hassan?lang=nl" width="360" height="150"></iframe>'
    )
    inner = framed.page.frame_locator("iframe").locator("#total")
    expect(inner).to_have_attribute("data-value", "3", timeout=FOLLOW_MS)


def test_overlay_celebrates_a_milestone_once_unless_told_not_to(
    runtime: Runtime, visit: object, backend: object, screen_token: Callable[..., str], tmp_path: object
) -> None:
    if getattr(backend, "name", "") != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    appeals.edit_appeal(runtime.engine, "hassan", milestones=[2])
    runtime.live.publish_appeal(appeals.get_appeal(runtime.engine, "hassan").public())
    server = start_ingest(runtime.settings, tmp_path / "ingest.log")  # type: ignore[operator]
    try:
        token = screen_token(appeal="hassan")
        loud = visit(server.url + f"/overlay/hassan?theme=green&token={token}")  # type: ignore[operator]
        quiet = visit(server.url + f"/overlay/hassan?theme=green&celebrate=0&token={token}")  # type: ignore[operator]
        for shown in (loud, quiet):
            shown.page.wait_for_function("document.getElementById('total').dataset.value === '0'")
        with httpx.Client(base_url=server.url) as http:
            post_twilio(http, twilio_form("SMz1", "+31612345678", "JA"))
            post_twilio(http, twilio_form("SMz2", "+31612345679", "JA"))
        for shown in (loud, quiet):
            shown.page.wait_for_function("window.campaignOverlay.milestones.length === 1", timeout=FOLLOW_MS)
        assert loud.page.inner_text("#celebration") == "2!"
        assert "on" in str(loud.page.get_attribute("#celebration", "class"))
        assert quiet.page.inner_text("#celebration") == "", "?celebrate=0: the event, no flourish"
        loud.screenshot("overlay-milestone-green")
        assert loud.outside() == []
    finally:
        server.stop()


def test_the_goal_bar_follows_a_stretch_goal_on_air(
    runtime: Runtime, visit: object, backend: object, screen_token: Callable[..., str], tmp_path: object
) -> None:
    if getattr(backend, "name", "") != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    from playwright.sync_api import expect  # as the browser fixture: only once Chromium is there

    appeals.edit_appeal(runtime.engine, "hassan", goal=2, stretch_step=3)
    runtime.live.publish_appeal(appeals.get_appeal(runtime.engine, "hassan").public())
    server = start_ingest(runtime.settings, tmp_path / "ingest.log")  # type: ignore[operator]
    try:
        token = screen_token(appeal="hassan")
        shown = visit(server.url + f"/overlay/hassan?theme=green&token={token}")  # type: ignore[operator]
        expect(shown.page.locator("#goal .text")).to_have_text("2 goal · 0%")
        with httpx.Client(base_url=server.url) as http:
            post_twilio(http, twilio_form("SMs1", "+31612345678", "JA"))
            post_twilio(http, twilio_form("SMs2", "+31612345679", "JA"))
        shown.page.wait_for_function("window.campaignOverlay.milestones.includes(2)", timeout=FOLLOW_MS)
        # Reached, then moved on by its step without a reload: 2 of 5.
        expect(shown.page.locator("#goal .text")).to_have_text("5 goal · 40%", timeout=10000)
        assert shown.outside() == []
    finally:
        server.stop()

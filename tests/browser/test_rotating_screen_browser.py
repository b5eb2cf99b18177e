"""A rotating wall screen in Chromium: it changes page by itself, each page in its scope,
by a screen link's playlist or by the address of a logged-in user; nothing from outside."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from campaign.access import rotation, screens
from campaign.runtime import Runtime
from tests.browser.conftest import log_in
from tests.browser.test_screens_browser import dashboard_url  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan", "kenya")]

OPEN = "document.querySelectorAll('#rotation iframe').length"
TURN_MS = 60000  # a page turns every 5 s; a loaded CI machine gets slack (no timing is asserted)


def showing(page: object, slot: int) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        f"document.getElementById('rotation')?.dataset.showing === '{slot}'", timeout=TURN_MS
    )


def shown_frame(page: object, slot: int) -> object:
    return page.frame_locator(f"#rotation iframe[data-slot='{slot}']")  # type: ignore[attr-defined]


def test_a_rotating_screen_link_changes_page_by_itself(
    dashboard_url: str,  # noqa: F811 - the fixture imported above
    runtime: Runtime,
    visit: Callable[..., object],
) -> None:
    from playwright.sync_api import expect  # as the browser fixture: only once Chromium is there

    playlist = rotation.parse("live:hassan,on-air:campaign:kenya,live:all", 6)
    token = screens.create(runtime.engine, "Lobby", rotate=playlist, actor="test")
    shown = visit(dashboard_url + f"/live?token={token}")
    page = shown.page  # type: ignore[attr-defined]
    showing(page, 0)
    page.evaluate("window.notReloaded = true")
    wall = shown_frame(page, 0)
    expect(wall.locator(".cr-card.hero .cr-v")).to_have_text("0", timeout=TURN_MS)  # type: ignore[attr-defined]
    expect(wall.get_by_text("Stop the torture of Hassan").first).to_be_visible()  # type: ignore[attr-defined]
    shown.screenshot("rotating-live")  # type: ignore[attr-defined]

    showing(page, 1)  # by itself: nothing was clicked
    gallery = shown_frame(page, 1)
    expect(gallery.locator(".onair .n")).to_have_text("0", timeout=TURN_MS)  # type: ignore[attr-defined]
    assert page.evaluate(OPEN) <= 2, "the current page and the next, no more"
    showing(page, 2)
    expect(shown_frame(page, 2).get_by_text("All appeals").first).to_be_visible(timeout=TURN_MS)  # type: ignore[attr-defined]
    assert page.evaluate(OPEN) <= 2
    showing(page, 0)  # and round again
    assert page.evaluate("window.notReloaded === true"), "the pages change in their frames: no reload"
    assert shown.outside() == []  # type: ignore[attr-defined]


def test_a_logged_in_rotation_by_its_address_alone(
    dashboard_url: str,  # noqa: F811 - the fixture imported above
    staff: str,
    visit: Callable[..., object],
) -> None:
    from playwright.sync_api import expect

    shown = visit(dashboard_url + "/live?rotate=map:campaign:kenya,live:campaign:torture&every=5")
    page = shown.page  # type: ignore[attr-defined]
    log_in(page, staff)
    showing(page, 0)
    expect(shown_frame(page, 0).get_by_text("Campaign").first).to_be_visible(timeout=TURN_MS)  # type: ignore[attr-defined]
    showing(page, 1)
    expect(shown_frame(page, 1).get_by_text("Stop the torture of Hassan").first).to_be_visible(
        timeout=TURN_MS
    )  # type: ignore[attr-defined]
    assert shown.outside() == []  # type: ignore[attr-defined]

    page.goto(dashboard_url + "/live?rotate=live:hassan,live:nobody&every=5")  # logged in still
    refused = "This rotating screen cannot start: rotate: 'live:nobody': no appeal 'nobody'"
    expect(page.get_by_text(refused)).to_be_visible(timeout=TURN_MS)
    assert page.locator("#rotation").count() == 0

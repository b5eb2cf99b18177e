"""Logins that last, in Chromium (issue 17, items 1 and 2): log in at /history, reload, open
a second tab and a shared History link, still logged in; a password reset ends it at the
next reload; logging in at "/" shows the navigation."""

from __future__ import annotations

import pytest

from campaign.settings import Settings
from tests.browser.conftest import log_in, wait_for_count
from tests.browser.test_staff_pages_browser import dashboard  # noqa: F401 - the fixture: `campaign dashboard`
from tests.cli.test_cli_access import campaign

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan")]
HISTORY = "Signatures by country"  # a panel heading of the History page


def test_a_login_lasts_across_reloads_tabs_and_shared_links_until_the_password_changes(
    dashboard: str,  # noqa: F811
    visit: object,
    settings: Settings,
    staff: str,
) -> None:
    shown = visit(dashboard + "/history")  # type: ignore[operator]
    page = shown.page
    page.get_by_label("User name").wait_for(timeout=45000)
    log_in(page, staff)
    page.get_by_text(HISTORY).wait_for(timeout=45000)
    cookie = _session_cookie(page)  # the page collects it right after the login
    assert "campaign_session" not in page.evaluate("document.cookie"), "HttpOnly: no script sees it"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]

    page.reload()
    page.get_by_text(HISTORY).wait_for(timeout=45000)
    assert page.get_by_label("User name").count() == 0, "a reload keeps the login"

    second = page.context.new_page()
    second.goto(dashboard + "/history?campaign=torture&from=2008-01-01&to=2008-12-31")
    second.get_by_text(HISTORY).wait_for(timeout=45000)
    assert second.get_by_label("User name").count() == 0, "a shared link in a new tab is logged in"
    assert "campaign=torture" in second.url

    changed = campaign(settings, "user", "passwd", staff, "--password-stdin", input="another long one\n")
    assert changed.returncode == 0, changed.stderr
    page.reload()
    page.get_by_label("User name").wait_for(timeout=45000)
    assert page.get_by_text(HISTORY).count() == 0, "a password reset ends the login everywhere"
    shown.screenshot("session-ended-by-password-reset")
    assert shown.outside() == []


def _session_cookie(page: object) -> dict[str, object]:
    deadline = 50
    for _ in range(deadline):
        found = [c for c in page.context.cookies() if c["name"] == "campaign_session"]  # type: ignore[attr-defined]
        if found:
            return dict(found[0])
        page.wait_for_timeout(200)  # type: ignore[attr-defined]
    raise AssertionError("no session cookie was set after logging in")


def test_logging_in_at_the_root_shows_the_navigation(
    dashboard: str,  # noqa: F811
    visit: object,
    lead: str,
) -> None:
    shown = visit(dashboard + "/")  # type: ignore[operator]
    page = shown.page
    page.get_by_label("User name").wait_for(timeout=45000)
    log_in(page, lead)
    page.locator("h1.sf-home").wait_for(timeout=45000)
    navigation = page.locator(".st-key-staff-nav")  # the row of links at the top of the page
    for label in ("Map", "History", "Messages", "Appeals", "Live"):
        navigation.get_by_role("link", name=label).wait_for(timeout=15000)  # visible
    assert navigation.get_by_role("link", name="Admin").count() == 0, "a lead's pages only"
    wait_for_count(page.get_by_text("Appeals needing attention"), 1)  # type: ignore[attr-defined]
    shown.screenshot("home-for-a-lead")
    navigation.get_by_role("link", name="History").click()
    page.get_by_text(HISTORY).wait_for(timeout=45000)
    assert page.url.endswith("/history")

    other_tab = page.context.new_page()
    other_tab.goto(dashboard + "/appeals")
    other_tab.locator(".st-key-staff-nav").get_by_role("link", name="Log out lucia").click()
    other_tab.get_by_label("User name").wait_for(timeout=45000)
    page.reload()
    page.get_by_label("User name").wait_for(timeout=45000)
    assert page.get_by_text(HISTORY).count() == 0, "logging out in one tab ends the login in all"
    assert shown.outside() == []

"""Logging in through the real form in Chromium, and a screen link showing On air without one.

The dashboard is freshly started for each test, and the first address asked for is a
protected page: Streamlit's old pages/ folder rule would run it without the login check
right after a start (dashboard/serve.py switches that rule off).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from campaign.access import screens, users
from campaign.runtime import Runtime
from tests.browser.conftest import STAFF_PASSWORD, log_in, wait_for_count
from tests.browser.test_staff_pages_browser import dashboard  # noqa: F401 - the fixture: `campaign dashboard`

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan")]


def test_admin_logs_in_through_the_form(dashboard: str, visit: object, runtime: Runtime) -> None:  # noqa: F811
    users.add(runtime.engine, "amina", "admin", STAFF_PASSWORD, actor="test")
    shown = visit(dashboard + "/admin")  # type: ignore[operator]
    page = shown.page
    page.get_by_label("User name").wait_for(timeout=45000)
    assert page.get_by_text("Audit log").count() == 0, "nothing of the admin page before logging in"

    log_in(page, "amina", "not the password")
    page.get_by_text("Wrong user name or password.").wait_for(timeout=15000)
    log_in(page, "amina")
    page.get_by_role("tab", name="Audit log").wait_for(timeout=30000)
    assert page.url.endswith("/admin"), "the page asked for, at its own address"
    page.get_by_role("tab", name="Audit log").click()
    failed = page.locator("[role=gridcell]", has_text="login.failed")  # the table's accessible copy
    failed.first.wait_for(state="attached", timeout=15000)
    shown.screenshot("admin-audit-log")
    assert shown.outside() == []


def test_a_screen_link_shows_on_air_without_login_until_revoked(
    dashboard: str,  # noqa: F811
    visit: object,
    runtime: Runtime,
    screen_token: Callable[..., str],
) -> None:
    token = screen_token(appeal="hassan")
    shown = visit(dashboard + f"/on-air?theme=dark&token={token}")  # type: ignore[operator]
    page = shown.page
    page.locator(".onair .n").filter(has_text="0").wait_for(timeout=45000)
    assert page.get_by_label("User name").count() == 0
    shown.screenshot("on-air-screen-link")

    (screen,) = screens.listing(runtime.engine)
    screens.revoke(runtime.engine, screen.name, actor="test")
    page.get_by_label("User name").wait_for(timeout=20000)  # the screen re-checks its link every few s
    wait_for_count(page.get_by_text("unknown or was revoked"), 1)  # type: ignore[attr-defined]
    assert page.locator(".onair .n").count() == 0, "the number is gone"

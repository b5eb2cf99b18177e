"""The History page in Chromium: every chart draws, the map from the dashboard's own shapes,
a shared address shows the same view, and nothing is fetched from outside."""

from __future__ import annotations

import pytest

from campaign.runtime import Runtime
from tests.browser.conftest import log_in
from tests.browser.test_staff_pages_browser import COUNTRY_SHAPES, dashboard  # noqa: F401 - the fixture
from tests.campaign.history.test_history import seeded  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser
CHARTS = "document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length"


def test_history_draws_offline_from_its_address(
    seeded: Runtime,  # noqa: F811
    dashboard: str,  # noqa: F811
    visit: object,
    staff: str,
) -> None:
    shown = visit(dashboard + "/history?campaign=torture&channel=sms")  # type: ignore[operator]
    log_in(shown.page, staff)  # the form answers at the page's own address, which then opens
    shown.page.wait_for_selector(".sf-fig.hero .sf-v", timeout=45000)
    shown.page.wait_for_function(f"{COUNTRY_SHAPES} > 100", timeout=45000)
    shown.page.wait_for_function(f"{CHARTS} >= 5", timeout=30000)
    assert shown.page.locator(".sf-fig.hero .sf-v").inner_text() == "6", "torture's signatures by text"
    assert "27 Feb 21:00" in shown.page.inner_text("body"), "the TV moment is marked"
    downloads = "document.querySelectorAll(\"[data-testid='stDownloadButton']\").length"
    shown.page.wait_for_function(f"{downloads} >= 4", timeout=30000)  # drawn after the charts
    assert shown.page.locator("[data-testid='stDownloadButton']").count() == 4
    shown.page.wait_for_timeout(1000)
    shown.screenshot("history-torture-sms")
    assert shown.outside() == [], f"the page reached outside: {shown.outside()}"

"""A real headless Chromium (Debian's package) driven by Playwright; no browser download.

Every request the page (and any tab opened from its context) makes is recorded; anything
not on this machine is refused and reported, so a page that reaches for a CDN fails its
test here as it would at a venue.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}

pytestmark = pytest.mark.browser

# How long a page may take to follow what happened (a signature, a milestone, a lost feed).
# The tests show that pages follow without a reload; how fast is the bench's figure
# (freshness p99), not a deadline here: the whole suite on two loaded cores once took over 4 s.
FOLLOW_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped: Playwright's sync API holds an event loop in this thread while it runs,
    which would stop later tests from using ``asyncio.run``."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


class Visit:
    """A page with every request it made, and a way to keep a screenshot."""

    def __init__(self, page: object, requests: list[str]):
        self.page = page
        self.requests = requests

    def outside(self) -> list[str]:
        return [
            url
            for url in self.requests
            if (urlparse(url).hostname or "") not in LOCAL
            and not url.startswith(("data:", "blob:", "about:"))
        ]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))  # type: ignore[attr-defined]
        return path


@pytest.fixture
def visit(browser: object) -> Iterator[object]:
    contexts = []

    def open_page(url: str, width: int = 1920, height: int = 1080) -> Visit:
        context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        contexts.append(context)
        requests: list[str] = []

        def guard(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            host = urlparse(url).hostname or ""
            if host in LOCAL or url.startswith(("data:", "blob:")):
                route.continue_()  # type: ignore[attr-defined]
            else:
                route.abort()  # type: ignore[attr-defined]

        # On the context, not the page: a second tab (context.new_page()) is watched too.
        context.on("request", lambda request: requests.append(request.url))  # type: ignore[attr-defined]
        context.route("**/*", guard)
        page = context.new_page()
        page.goto(url)
        return Visit(page, requests)

    yield open_page
    for context in contexts:
        context.close()


STAFF_PASSWORD = "correct horse battery"


@pytest.fixture
def staff(runtime: object) -> str:
    """A staff user to log in as through the form; returns the name (password STAFF_PASSWORD)."""
    from campaign.access import users

    users.add(runtime.engine, "amina", "staff", STAFF_PASSWORD, actor="test")  # type: ignore[attr-defined]
    return "amina"


@pytest.fixture
def lead(runtime: object) -> str:
    """A campaign lead to log in as through the form (password STAFF_PASSWORD)."""
    from campaign.access import users

    users.add(runtime.engine, "lucia", "lead", STAFF_PASSWORD, actor="test")  # type: ignore[attr-defined]
    return "lucia"


def wait_for_count(locator: object, count: int) -> None:
    """Wait until the page shows ``count`` of these: Streamlit draws a page's parts one by one."""
    from playwright.sync_api import expect  # as the browser fixture: only once Chromium is there

    expect(locator).to_have_count(count, timeout=FOLLOW_MS)  # type: ignore[arg-type]


def log_in(page: object, name: str, password: str = STAFF_PASSWORD) -> None:
    """Fill in the dashboard's login form and send it, as a person would."""
    page.get_by_label("User name").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in", exact=True).click()  # type: ignore[attr-defined]

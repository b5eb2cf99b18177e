"""The staff pages in Chromium, served by ``campaign dashboard``: the world map draws its
country shapes from the dashboard's own files (nothing from a CDN, nothing from outside),
and the command stops, Streamlit and all, when its PID is sent SIGTERM."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from campaign.activity import demonstrations, social
from campaign.activity.demonstrations import DemonstrationInput
from campaign.activity.social import SocialInput
from campaign.appeals import outcomes
from campaign.appeals.registry import AppealSummary
from campaign.demo import seed as demo
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.browser.conftest import log_in, wait_for_count
from tests.conftest import Backend, backend_env, free_port

pytestmark = pytest.mark.browser


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@pytest.fixture
def dashboard(settings: Settings, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """``campaign dashboard`` on a free port, stopped by SIGTERM to its own PID only."""
    if backend.name != "embedded":
        pytest.skip("the pages are the same on every backend; the embedded run covers them")
    port = free_port()
    env = {
        **os.environ,
        **backend_env(settings),
        "CAMPAIGN_TIMEZONE": "Europe/Amsterdam",
    }
    log = tmp_path / "dashboard.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dashboard", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                break
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(log.read_text()[-2000:])
    try:
        yield url
    finally:
        process.terminate()  # SIGTERM to the command's PID: it has become Streamlit
        process.wait(timeout=15)
    deadline = time.monotonic() + 5
    while answers(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not answers(port), "Streamlit kept serving after the command was stopped"


@pytest.fixture
def campaign_data(runtime: Runtime, kenya: AppealSummary) -> None:
    """The Kenya campaign's 11 demonstrations of the demo, some social activity and outcomes."""
    now = datetime.now(UTC)
    days = [now - timedelta(days=d) for d in (5, 4, 3, 2, 1, 0, 0, 0, 1, 2, 3)]
    demonstrations.save(
        runtime.engine,
        [
            DemonstrationInput(
                "kenya", f"Reach Out for Kenya: {city}", city, country,
                day.replace(hour=12, minute=0, second=0, microsecond=0),
                attendance=attendance, organiser="Amnesty International section",
            )
            for (city, country, attendance), day in zip(demo.KENYA_DEMONSTRATIONS, days, strict=True)
        ],
    )  # fmt: skip
    moment = now - timedelta(hours=1)
    social.record_live(
        runtime.engine,
        runtime.live,
        [SocialInput("facebook", "join", f"j{i}", moment, "kenya") for i in range(42)]
        + [
            SocialInput("web", "visit", f"v{i}", moment, "kenya", attributes={"referrer": r})
            for i, r in enumerate(["facebook", "direct", "direct", "search", "direct", "email"])
        ],
    )
    outcomes.record(runtime.engine, "kenya", "charges-dropped", source="Urgent Action update")
    runtime.live.refresh(runtime.engine, runtime.vault)


COUNTRY_SHAPES = "document.querySelectorAll('.geo path.choroplethlocation').length"


def test_the_map_draws_offline(campaign_data: None, dashboard: str, visit: object, staff: str) -> None:
    shown = visit(dashboard + "/map?campaign=kenya")  # type: ignore[operator]
    log_in(shown.page, staff)  # the form answers at the page's own address, which then opens
    shown.page.wait_for_function(f"{COUNTRY_SHAPES} > 100", timeout=45000)
    shown.page.wait_for_timeout(1500)  # let the markers settle for the picture
    assert shown.page.evaluate(COUNTRY_SHAPES) > 150
    wait_for_count(shown.page.locator(".geo .scattergeo path.point"), 11)  # type: ignore[attr-defined]
    shown.screenshot("map-kenya")
    assert any(u.endswith("/app/static/topojson/world_110m.json") for u in shown.requests)
    assert shown.outside() == [], f"the map reached outside: {shown.outside()}"


def test_outcomes_and_live_strip_in_the_browser(
    campaign_data: None, dashboard: str, visit: object, staff: str
) -> None:
    outcomes_page = visit(dashboard + "/outcomes")  # type: ignore[operator]
    log_in(outcomes_page.page, staff)
    outcomes_page.page.wait_for_selector(".sf-fig.hero .sf-v", timeout=45000)
    outcomes_page.page.wait_for_function(
        "document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length >= 5", timeout=30000
    )
    assert outcomes_page.page.locator(".sf-fig.hero .sf-v").inner_text() == "100%"
    outcomes_page.screenshot("outcomes")
    live = visit(dashboard + "/live?campaign=kenya")  # type: ignore[operator]
    log_in(live.page, staff)  # a new browser, a new session
    live.page.wait_for_selector(".cr-strip .cr-mv", timeout=45000)
    assert live.page.locator(".cr-strip .cr-mv").first.inner_text() == "42"
    live.page.wait_for_timeout(1500)
    live.screenshot("live-kenya-strip")
    for name, page in (("outcomes", outcomes_page), ("live", live)):
        assert page.outside() == [], f"{name} reached outside: {page.outside()}"


def test_messages_in_the_browser(
    settings: Settings, runtime: Runtime, dashboard: str, visit: object, lead: str
) -> None:
    """A lead previews an alert and sends it; the progress shows; nothing comes from outside."""
    from campaign.appeals import registry as appeals
    from campaign.inbound.message import InboundSms
    from campaign.storage.models import utcnow

    appeals.add_appeal(
        runtime.engine,
        slug="hassan",
        title="Stop the torture of Hassan",
        campaign="torture",
        person="Hassan",
        sms_text="Hassan is at risk of torture in detention. Reply JA to demand his safety.",
    )
    runtime.recorder.record(
        [
            InboundSms(
                "twilio", f"SMj{i}", runtime.vault.sender(f"+3161234{i:04d}"), "4777", "JOIN", utcnow()
            )
            for i in range(3)
        ]
    )
    shown = visit(dashboard + "/messages")  # type: ignore[operator]
    page = shown.page
    log_in(page, lead)
    page.wait_for_selector(".sf-fig.hero .sf-v", timeout=45000)
    page.get_by_text("Send an alert").click()
    choose(page, "Appeal", "Stop the torture of Hassan (hassan)")
    page.get_by_role("button", name="Preview alert").click()
    page.get_by_text("3 subscribed supporters will get this text").wait_for(timeout=30000)
    page.get_by_role("button", name="Send to 3 supporters").click()
    page.get_by_text("alert: 0 of 3 sent").wait_for(timeout=30000)
    shown.screenshot("messages-alert")
    # A sender took them and died: in doubt, listed with a resend for the lead.
    from sqlalchemy import update

    from campaign.storage.models import OutboxMessage

    with runtime.engine.begin() as connection:
        connection.execute(update(OutboxMessage).values(status="unknown", claimed_at=utcnow()))
    page.wait_for_timeout(6000)  # the page's figures are cached for 5 s
    page.reload()  # a new Streamlit session, the same login (issue 17: sessions that last)
    page.get_by_text("In doubt: 3 texts").wait_for(timeout=45000)
    page.get_by_role("button", name="Resend all 3").wait_for(timeout=30000)
    page.get_by_role("button", name="Resend all 3").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shown.screenshot("messages-in-doubt")
    assert shown.outside() == [], f"messages reached outside: {shown.outside()}"


def choose(page: object, box: str, option: str) -> None:
    """Pick an option as a person would: a menu that closes under a rerun is opened again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(4):
        page.get_by_role("combobox", name=box).first.click()  # type: ignore[attr-defined]
        try:
            page.get_by_role("option", name=option).click(timeout=5000)  # type: ignore[attr-defined]
            return
        except PlaywrightTimeout:
            if attempt == 3:
                raise


SUBDIVISION_SHAPES = "document.querySelectorAll('.geo path.choroplethlocation').length"
POINTS = "document.querySelectorAll('.geo .scattergeo path.point').length"


def test_regions_and_subdivisions_draw_offline(
    campaign_data: None, runtime: Runtime, dashboard: str, visit: object, staff: str
) -> None:
    """Each region at its own scale, then Kenya's provinces with a Flickr photo: every shape
    from the dashboard's own files, and no image fetched from Flickr."""
    taken = datetime.now(UTC) - timedelta(hours=2)
    social.record(
        runtime.engine,
        [
            SocialInput(
                "flickr", "photo", "53114", taken, "kenya",
                attributes={"title": "Kisumu candles", "latitude": -0.09, "longitude": 34.77,
                            "thumbnail": "https://live.staticflickr.com/65535/kisumu_q.jpg",
                            "url": "https://flic.kr/p/hDn"},
            )
        ],
    )  # fmt: skip
    shown = visit(dashboard + "/map?campaign=kenya&region=europe")  # type: ignore[operator]
    log_in(shown.page, staff)
    shown.page.wait_for_function(f"{SUBDIVISION_SHAPES} > 100", timeout=45000)
    shown.page.wait_for_function(f"{POINTS} == 6", timeout=15000)  # London to Oslo; not Nairobi
    shown.page.wait_for_timeout(1000)
    shown.screenshot("map-europe")
    for region in ("africa", "americas", "asia", "middle-east", "world"):
        shown.page.goto(f"{dashboard}/map?campaign=kenya&region={region}")
        shown.page.wait_for_function(f"{SUBDIVISION_SHAPES} > 100", timeout=45000)
        assert shown.page.get_by_text("Unknown region").count() == 0

    shown.page.goto(dashboard + "/map?campaign=kenya&country=KE")
    shown.page.wait_for_function(f"{SUBDIVISION_SHAPES} == 8", timeout=45000)  # Kenya's provinces
    shown.page.wait_for_function(f"{POINTS} == 2", timeout=15000)  # Nairobi's march, Kisumu's photo
    shown.page.get_by_text("Kisumu candles").first.wait_for()
    shown.page.wait_for_timeout(1000)
    shown.screenshot("map-kenya-provinces")
    # The replay's first day: the provinces stay drawn (a frame changes their values only).
    rail = shown.page.locator(".slider-rail-touch-rect").first.bounding_box()
    assert rail is not None
    shown.page.mouse.click(rail["x"] + 2, rail["y"] + rail["height"] / 2)
    shown.page.wait_for_function(f"{POINTS} == 1", timeout=15000)  # Nairobi's march alone
    assert shown.page.evaluate(SUBDIVISION_SHAPES) == 8
    assert all(not u.startswith(dashboard + "/app/static/topojson/world_50m") for u in shown.requests)
    assert shown.outside() == [], f"the map reached outside: {shown.outside()}"

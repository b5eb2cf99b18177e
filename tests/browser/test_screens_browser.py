"""The whole system in Chromium: signed webhooks in, the Live page, the On-air page and the
overlay all moving as signatures come in, agreeing with total.txt, nothing fetched from outside."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from campaign.settings import Settings
from tests.browser.conftest import FOLLOW_MS
from tests.conftest import Backend, Server, backend_env, free_port, post_twilio, twilio_form

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan")]


@pytest.fixture
def dashboard_url(settings: Settings, tmp_path: Path, backend: Backend) -> Iterator[str]:
    if backend.name != "embedded":
        pytest.skip("the pages are the same on every backend; the embedded run covers them")
    port = free_port()
    env = {
        **os.environ,
        **backend_env(settings),
    }
    log = open(tmp_path / "dashboard.log", "wb")  # noqa: SIM115 - the process owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "dashboard", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the Streamlit it starts is stopped with it
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                break
        time.sleep(0.2)
    else:
        raise RuntimeError((tmp_path / "dashboard.log").read_text()[-2000:])
    yield url
    os.killpg(process.pid, 15)
    process.wait(timeout=15)


def signatures_card(page: object) -> str:
    return str(page.evaluate("document.querySelector('.cr-card.hero .cr-v')?.textContent || ''"))  # type: ignore[attr-defined]


def test_every_screen_follows_the_signatures(
    ingest_server: Server, dashboard_url: str, visit: object, screen_token: Callable[..., str]
) -> None:
    wall, gallery = screen_token("live", appeal="hassan"), screen_token("on-air", appeal="hassan")
    live = visit(dashboard_url + f"/live?token={wall}")  # type: ignore[operator]
    on_air = visit(dashboard_url + f"/on-air?theme=dark&token={gallery}")  # type: ignore[operator]
    overlay = visit(ingest_server.url + f"/overlay/hassan?theme=dark&token={gallery}")  # type: ignore[operator]
    live.page.wait_for_function(
        "document.querySelector('.cr-card.hero .cr-v')?.textContent === '0'", timeout=30000
    )
    overlay.page.wait_for_function("document.getElementById('total').dataset.value === '0'")

    with httpx.Client(base_url=ingest_server.url) as http:
        for i, sender in enumerate(["+31612345678", "+32470123456", "+4915112345678"]):
            assert post_twilio(http, twilio_form(f"SMe{i}", sender, "JA")).status_code == 200
        live.page.wait_for_function(
            "document.querySelector('.cr-card.hero .cr-v')?.textContent === '3'", timeout=FOLLOW_MS
        )
        overlay.page.wait_for_function(
            "document.getElementById('total').dataset.value === '3'", timeout=FOLLOW_MS
        )
        assert http.get("/api/v1/appeals/hassan/total.txt", params={"token": gallery}).text == "3"

    frame = on_air.page.frame_locator("iframe").first if on_air.page.locator("iframe").count() else None
    number = on_air.page.locator(".onair .n") if frame is None else frame.locator(".onair .n")
    number.filter(has_text="3").wait_for(timeout=FOLLOW_MS)

    for name, shown in [("live", live), ("on-air", on_air), ("overlay", overlay)]:
        assert shown.page.locator("[role=dialog]:visible").count() == 0, f"{name} shows a dialog"
        shown.screenshot(f"screen-{name}")
        assert shown.outside() == [], f"{name} reached outside: {shown.outside()}"

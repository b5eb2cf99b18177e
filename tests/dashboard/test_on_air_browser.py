"""The on-air page in a real Chromium, on a freshly started dashboard: a clean chroma key.

A keyer takes out exactly #00B140.  Right after the server starts, Streamlit may open a
"Page not found" dialog on the first page opened by its path; hiding the dialog alone left
its translucent backdrop over the whole picture, which turned the key green into grey
green.  This test reads the pixels: the edges must be the key colour, the number white.
UI only: the page is the same on every backend, so it runs on the embedded one.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from campaign.settings import Settings
from tests.conftest import Backend, backend_env, free_port, post_twilio, twilio_form

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
KEY = (0, 177, 64)  # #00B140

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan")]


@pytest.fixture
def dashboard(settings: Settings, backend: Backend, tmp_path: Path) -> Iterator[str]:
    if backend.name != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    port = free_port()
    env = {
        **os.environ,
        **backend_env(settings),
    }
    log = tmp_path / "dashboard.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dashboard", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(log.read_text()[-2000:])
        yield url
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=15)


def test_on_air_green_is_a_clean_key(
    dashboard: str, client: TestClient, screen_token: Callable[..., str]
) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    for i, sender in enumerate(["+31612345678", "+32470123456"]):
        assert post_twilio(client, twilio_form(f"SMg{i}", sender, "JA")).status_code == 200

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            token = screen_token(appeal="hassan")
            page.goto(dashboard + f"/on-air?theme=green&token={token}")  # the first page since start
            page.locator(".onair .n").filter(has_text="2").wait_for(timeout=15000)
            time.sleep(1.5)  # let the count-up and any late dialog settle
            picture = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        finally:
            browser.close()

    width, height = picture.size
    edges = [(5, 5), (width - 40, 5), (5, height - 5), (width // 2, 8), (8, height // 2)]
    assert [picture.getpixel(xy) for xy in edges] == [KEY] * len(edges)
    number_row = [picture.getpixel((x, height * 4 // 10)) for x in range(width // 4, width * 3 // 4)]
    assert (255, 255, 255) in number_row, "the number is drawn in white over the key"

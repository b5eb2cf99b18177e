"""The broadcast overlay in Chromium: live through SSE, never backwards, nothing from outside."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.browser.conftest import FOLLOW_MS
from tests.conftest import Server, post_twilio, twilio_form

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("hassan")]


def test_overlay_follows_signatures_and_never_goes_back(
    ingest_server: Server, visit: object, backend: object, screen_token: Callable[..., str]
) -> None:
    if getattr(backend, "name", "") != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    token = screen_token(appeal="hassan")
    shown = visit(ingest_server.url + f"/overlay/hassan?theme=dark&token={token}")  # type: ignore[operator]
    page = shown.page
    page.wait_for_function("document.getElementById('total').dataset.value === '0'")
    with httpx.Client(base_url=ingest_server.url) as http:
        post_twilio(http, twilio_form("SMb1", "+31612345678", "JA"))
        post_twilio(http, twilio_form("SMb2", "+32470123456", "JA"))
        page.wait_for_function("document.getElementById('total').dataset.value === '2'", timeout=FOLLOW_MS)
        assert http.get("/api/v1/appeals/hassan/total.txt", params={"token": token}).text == "2"
    assert page.inner_text("#label") == "Hassan"
    page.evaluate("window.campaignOverlay.show(1)")  # a lower figure arriving late
    page.wait_for_timeout(300)
    assert page.evaluate("document.getElementById('total').dataset.value") == "2"
    shown.screenshot("overlay-dark")
    assert shown.outside() == []


def test_overlay_marks_a_lost_feed_discreetly(
    ingest_server: Server, visit: object, backend: object, screen_token: Callable[..., str]
) -> None:
    if getattr(backend, "name", "") != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    token = screen_token(appeal="hassan")
    shown = visit(ingest_server.url + f"/overlay/hassan?theme=green&token={token}")  # type: ignore[operator]
    page = shown.page
    page.wait_for_function("document.getElementById('total').dataset.value === '0'")
    ingest_server.stop()
    page.wait_for_function("document.body.classList.contains('offline')", timeout=FOLLOW_MS)
    assert page.evaluate("document.getElementById('total').dataset.value") == "0"  # the number stays
    shown.screenshot("overlay-green-offline")

"""The broadcast feed through a real ingest process: SSE stream, bare number, overlay page."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from campaign.access import screens
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.conftest import Server, post_twilio, start_ingest, twilio_form, twilio_signature

pytestmark = pytest.mark.usefixtures("hassan")


@pytest.fixture
def token(runtime: Runtime) -> str:
    """A screen token for every appeal: the feed needs one (see tests/campaign/access/test_screens.py)."""
    return screens.create(runtime.engine, "gallery", actor="test")


async def first_events(
    url: str, count: int, timeout: float = 10.0, first: asyncio.Event | None = None
) -> list[dict[str, object]]:
    """The stream's first ``count`` events; ``first`` is set when the opening one arrived."""
    events: list[dict[str, object]] = []
    async with httpx.AsyncClient(timeout=timeout) as http, http.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if first is not None:
                    first.set()
                if len(events) == count:
                    break
    return events


def test_stream_starts_with_the_current_total_and_follows_signatures(
    ingest_server: Server, token: str
) -> None:
    with httpx.Client(base_url=ingest_server.url) as http:
        post_twilio(http, twilio_form("SMo1", "+31612345678", "JA"))

        async def scenario() -> list[dict[str, object]]:
            opened = asyncio.Event()
            stream = ingest_server.url + f"/api/v1/appeals/hassan/stream?token={token}"
            watcher = asyncio.create_task(first_events(stream, 3, first=opened))
            await asyncio.wait_for(opened.wait(), 10)  # the current total first, then the texts
            for sid, sender in [("SMo2", "+31612345679"), ("SMo2", "+31612345679"), ("SMo3", "+31612345670")]:
                await asyncio.to_thread(post_twilio, http, twilio_form(sid, sender, "JA"))
                await asyncio.sleep(0.2)
            return await watcher

        events = asyncio.run(scenario())
        assert [e["total"] for e in events] == [1, 2, 3]  # the retry moved nothing
        assert http.get("/api/v1/appeals/hassan/total.txt", params={"token": token}).text == "3"


@pytest.fixture
def crowd_server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    """An ingest that lets one address (this test) hold 200 streams: the per-client caps off."""
    crowd = settings.model_copy(update={"streams_per_client": 0, "rate_limit_feeds": 0.0})
    server = start_ingest(crowd, tmp_path / "ingest.log")
    yield server
    server.stop()


def test_many_viewers_all_get_the_update(crowd_server: Server, token: str) -> None:
    viewers = 200
    ingest_server = crowd_server

    async def scenario() -> list[list[int]]:
        connected = asyncio.Semaphore(0)
        limits = httpx.Limits(max_connections=viewers + 10)
        async with httpx.AsyncClient(base_url=ingest_server.url, timeout=20, limits=limits) as http:

            async def watch() -> list[int]:
                totals: list[int] = []
                async with http.stream("GET", f"/api/v1/appeals/hassan/stream?token={token}") as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data: "):
                            totals.append(json.loads(line[6:])["total"])
                            if len(totals) == 1:
                                connected.release()
                            else:
                                return totals
                return totals

            watchers = [asyncio.create_task(watch()) for _ in range(viewers)]
            for _ in range(viewers):
                await asyncio.wait_for(connected.acquire(), timeout=20)
            form = twilio_form("SMfan", "+31612345678", "JA")
            await http.post(
                "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(form)}
            )
            return await asyncio.gather(*watchers)

    results = asyncio.run(scenario())
    assert results == [[0, 1]] * viewers


def test_unknown_appeal_is_a_404_in_the_error_shape(ingest_server: Server, token: str) -> None:
    for path in ["/api/v1/appeals/nope/stream", "/api/v1/appeals/nope/total.txt", "/overlay/nope"]:
        response = httpx.get(ingest_server.url + path, params={"token": token})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_overlay_page_is_self_contained(ingest_server: Server, token: str) -> None:
    response = httpx.get(
        ingest_server.url + "/overlay/hassan",
        params={"theme": "green", "label": "<script>alert(1)</script>", "token": token},
    )
    assert response.status_code == 200
    page = response.text
    assert not re.search(r"(src|href)=\"?(https?:)?//", page), "no asset may come from elsewhere"
    assert "@import" not in page and "url(" not in page
    config = json.loads(
        re.search(r'<script id="config" type="application/json">(.*?)</script>', page).group(1)
    )  # type: ignore[union-attr]
    assert config["stream"] == f"/api/v1/appeals/hassan/stream?token={token}", "the page passes its token on"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert config["theme"] == "green" and config["goal"] == 10000
    assert config["label"] == "<script>alert(1)</script>"  # kept as text, escaped in the page
    assert "<script>alert(1)" not in page

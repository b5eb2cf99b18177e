"""Screen tokens: made once, stored as a hash, read-only for their one screen, revoked at once.

The overlay, its stream and total.txt go through the real ASGI app (and a real ingest
process for the stream), with and without tokens.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campaign import audit
from campaign.access import screens
from campaign.errors import BadRequest, NotFound
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import ScreenToken
from ingest import screen_gate
from ingest.app import create_app
from tests.conftest import PUBLIC_URL, Server, post_twilio, twilio_form

pytestmark = pytest.mark.usefixtures("hassan", "kenya")

FEED = ["/overlay/hassan", "/api/v1/appeals/hassan/total.txt"]


def test_a_token_is_kept_only_as_its_hash(runtime: Runtime) -> None:
    token = screens.create(runtime.engine, "RTL studio 2", appeal="hassan", actor="cli:ops")
    assert token.startswith("scr_") and len(token) > 40
    with runtime.engine.connect() as connection:
        stored = connection.execute(select(ScreenToken.token_hash, ScreenToken.page)).one()
    assert stored == (screens.digest(token), "on-air") and token not in stored.token_hash
    screen = screens.verify(runtime.engine, token)
    assert screen is not None and (screen.name, screen.scope) == ("RTL studio 2", "appeal hassan")
    assert screens.verify(runtime.engine, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert screens.verify(runtime.engine, "cmp_" + token[4:]) is None, "an API token is not a screen token"
    (entry,) = audit.search(runtime.engine, actions=["screen.add"])
    assert (entry.actor, entry.subject, entry.detail["appeal"]) == ("cli:ops", "RTL studio 2", "hassan")
    assert token not in str(entry.detail)


def test_bad_screens_are_refused_with_a_reason(runtime: Runtime) -> None:
    with pytest.raises(NotFound, match="no appeal 'nobody'"):
        screens.create(runtime.engine, "x", appeal="nobody", actor="test")
    with pytest.raises(BadRequest, match="not one of on-air, live"):
        screens.create(runtime.engine, "x", page="map", actor="test")
    with pytest.raises(BadRequest, match="not both"):
        screens.create(runtime.engine, "x", appeal="hassan", campaign="torture", actor="test")
    screens.create(runtime.engine, "x", actor="test")
    with pytest.raises(BadRequest, match="exists already"):
        screens.create(runtime.engine, "x", actor="test")
    with pytest.raises(NotFound):
        screens.revoke(runtime.engine, "y", actor="test")


def test_the_printed_links(runtime: Runtime) -> None:
    token = screens.create(runtime.engine, "gallery", appeal="hassan", actor="test")
    screen = screens.verify(runtime.engine, token)
    assert screen is not None
    assert screens.urls(screen, token, "http://dash:8501", "http://ingest:8000") == {
        "dashboard": f"http://dash:8501/on-air?token={token}",
        "overlay": f"http://ingest:8000/overlay/hassan?token={token}",
        "total.txt": f"http://ingest:8000/api/v1/appeals/hassan/total.txt?token={token}",
    }
    wall = screens.create(runtime.engine, "wall", appeal="hassan", page="live", actor="test")
    wall_screen = screens.verify(runtime.engine, wall)
    assert wall_screen is not None
    assert screens.urls(wall_screen, wall, "http://dash:8501", "http://ingest:8000") == {
        "dashboard": f"http://dash:8501/live?token={wall}"
    }


def test_the_feed_needs_a_token(client: TestClient, runtime: Runtime) -> None:
    for path in FEED:
        response = client.get(path)
        assert response.status_code == 401
        assert "needs a screen token" in response.json()["error"]["message"]
        response = client.get(path, params={"token": "scr_made-up"})
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "screen token unknown or revoked"


def test_a_token_reads_its_appeal_only_until_revoked(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(screen_gate, "TTL", 0)  # the gate re-checks every 3 s; here at every request
    assert post_twilio(client, twilio_form("SMt1", "+31612345678", "JA")).status_code == 200
    token = screens.create(runtime.engine, "gallery", appeal="hassan", actor="test")
    assert client.get("/api/v1/appeals/hassan/total.txt", params={"token": token}).text == "1"
    assert (
        client.get("/api/v1/appeals/hassan/total.txt", headers={"Authorization": f"Bearer {token}"}).text
        == "1"
    )
    page = client.get("/overlay/hassan", params={"token": token, "theme": "green"})
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    config = json.loads(
        re.search(r'<script id="config" type="application/json">(.*?)</script>', page.text).group(1)
    )  # type: ignore[union-attr]
    assert config["stream"] == f"/api/v1/appeals/hassan/stream?token={token}"
    other = client.get("/api/v1/appeals/kenya/total.txt", params={"token": token})
    assert other.status_code == 403 and "shows appeal hassan" in other.json()["error"]["message"]

    screens.revoke(runtime.engine, "gallery", actor="test")
    for path in FEED:
        refused = client.get(path, params={"token": token})
        assert refused.status_code == 401, "revoked: refused at the next check"


def test_a_campaign_token_covers_its_appeals(client: TestClient, runtime: Runtime) -> None:
    token = screens.create(runtime.engine, "torture gallery", campaign="torture", actor="test")
    assert client.get("/api/v1/appeals/hassan/total.txt", params={"token": token}).status_code == 200
    assert client.get("/api/v1/appeals/kenya/total.txt", params={"token": token}).status_code == 403


def test_a_wall_screen_token_opens_no_broadcast_feed(client: TestClient, runtime: Runtime) -> None:
    """The attack that found it: a `--page live` link also opened the overlay, its stream and total.txt."""
    token = screens.create(runtime.engine, "torture wall", campaign="torture", page="live", actor="test")
    for path in FEED:
        refused = client.get(path, params={"token": token})
        assert refused.status_code == 403, path
        assert "wall screen" in refused.json()["error"]["message"]


def test_the_feed_can_be_made_public(settings: Settings, runtime: Runtime) -> None:
    open_settings = settings.model_copy(update={"overlay_tokens": False})
    with TestClient(create_app(open_settings, runtime), base_url=PUBLIC_URL) as http:
        assert http.get("/api/v1/appeals/hassan/total.txt").text == "0"
        assert http.get("/overlay/hassan").status_code == 200


async def read_stream(url: str, revoke: object) -> tuple[list[int], bool]:
    """The totals a stream sends; revokes its token after the first; True if the server ended it."""
    totals: list[int] = []
    async with httpx.AsyncClient(timeout=20) as http, http.stream("GET", url) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                totals.append(json.loads(line[6:])["total"])
                if len(totals) == 1:
                    await asyncio.to_thread(revoke)  # type: ignore[arg-type]
    return totals, True


def test_a_revoked_token_ends_an_open_stream(ingest_server: Server, runtime: Runtime) -> None:
    token = screens.create(runtime.engine, "gallery", appeal="hassan", actor="test")
    url = f"{ingest_server.url}/api/v1/appeals/hassan/stream?token={token}"
    totals, ended = asyncio.run(
        asyncio.wait_for(read_stream(url, lambda: screens.revoke(runtime.engine, "gallery", actor="t")), 20)
    )
    # (Pub/sub on a shared Redis server is not per database: a later figure may slip in.)
    assert (totals[0], ended) == (0, True), "the server closed the stream itself"
    again = httpx.get(url)
    assert again.status_code == 401, "the browser's reconnect is refused"
    assert (
        httpx.get(f"{ingest_server.url}/api/v1/appeals/hassan/total.txt", params={"token": token}).status_code
        == 401
    )

"""Flickr polling against a local server that answers exactly as Flickr's REST API does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from campaign.activity.flickr import FlickrClient, FlickrError, placed_photos, poll, short_url
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import SocialEvent
from tests.cli.test_cli import campaign as run_campaign
from tests.conftest import backend_env, free_port

pytestmark = pytest.mark.usefixtures("kenya")

API_KEY = "0123456789abcdef0123456789abcdef"
TAG = "reachoutforkenya"


def photo(photo_id: str, owner: str, title: str, taken: str, uploaded: int, **extra: Any) -> dict[str, Any]:
    """A photo as flickr.photos.search lists it with extras=geo,date_taken,date_upload,url_q."""
    return {
        "id": photo_id,
        "owner": owner,
        "secret": "5a583dd624",
        "server": "2143",
        "farm": 3,
        "title": title,
        "ispublic": 1,
        "isfriend": 0,
        "isfamily": 0,
        "dateupload": str(uploaded),
        "datetaken": taken,
        "datetakengranularity": 0,
        "datetakenunknown": "0",
        "latitude": 0,
        "longitude": 0,
        "accuracy": 0,
        "context": 0,
        "url_q": f"https://live.staticflickr.com/2143/{photo_id}_5a583dd624_q.jpg",
        "height_q": 150,
        "width_q": 150,
        **extra,
    }


NAIROBI = {
    "latitude": -1.283333,
    "longitude": 36.816667,
    "accuracy": "11",
    "place_id": "0bIHEb5TUb4q8hcD",
    "woeid": "1528488",
    "geo_is_family": 0,
    "geo_is_friend": 0,
    "geo_is_contact": 0,
    "geo_is_public": 1,
}
LONDON = {
    "latitude": "51.507222",
    "longitude": "-0.1275",
    "accuracy": "16",
    "place_id": "hP_s5s9VVr5Qcg",
    "woeid": "44418",
}
PHOTOS = [
    photo("2290000001", "12345678@N00", "Candles for Kenya", "2008-02-29 18:30:05", 1204400000, **NAIROBI),
    photo("2290000002", "23456789@N01", "Reach out", "2008-03-01 11:02:00", 1204400600),
    photo("2290000003", "12345678@N00", "Old scan", "0000-00-00 00:00:00", 1204401200, datetakenunknown="1"),
    photo(
        "2290000004", "34567890@N02", "Trafalgar Square vigil", "2008-03-01 14:15:00", 1204401800, **LONDON
    ),
    photo("2290000005", "34567890@N02", "Vigil, later", "2008-03-01 15:00:00", 1204402400, **LONDON),
]
PLACES = {
    "0bIHEb5TUb4q8hcD": {
        "place_id": "0bIHEb5TUb4q8hcD",
        "woeid": "1528488",
        "latitude": "-1.283",
        "longitude": "36.816",
        "place_url": "/Kenya/Nairobi+Area/Nairobi",
        "place_type": "locality",
        "place_type_id": "7",
        "timezone": "Africa/Nairobi",
        "name": "Nairobi, Nairobi Area, Kenya",
        "woe_name": "Nairobi",
        "has_shapedata": 1,
        "country": {
            "_content": "Kenya",
            "place_id": "qr8l.tVTUb4o5gz4",
            "woeid": "23424863",
            "latitude": "0.529",
            "longitude": "37.858",
            "place_url": "/Kenya",
        },
    },
    "hP_s5s9VVr5Qcg": {
        "place_id": "hP_s5s9VVr5Qcg",
        "woeid": "44418",
        "place_type": "locality",
        "name": "London, England, United Kingdom",
        "woe_name": "London",
        "country": {"_content": "United Kingdom", "place_id": "cnffEpp", "woeid": "23424975"},
    },
}


@dataclass
class FakeFlickr:
    """The state of the local Flickr: its photos and every request it was sent."""

    url: str
    photos: list[dict[str, Any]] = field(default_factory=lambda: list(PHOTOS))
    requests: list[dict[str, str]] = field(default_factory=list)

    def searches(self, page: int | None = None) -> list[dict[str, str]]:
        found = [r for r in self.requests if r.get("method") == "flickr.photos.search"]
        return [r for r in found if page is None or r.get("page") == str(page)]


def answer(flickr: FakeFlickr, query: dict[str, str]) -> tuple[int, str, str]:
    """Status, content type and body, as Flickr gives them."""
    if query.get("api_key") != API_KEY:
        return (
            200,
            "application/json",
            json.dumps({"stat": "fail", "code": 100, "message": "Invalid API Key (Key has invalid format)"}),
        )
    if query.get("method") == "flickr.places.getInfo":
        place = PLACES.get(query.get("place_id", ""))
        if place is None:
            return (
                200,
                "application/json",
                json.dumps({"stat": "fail", "code": 1, "message": "Place not found"}),
            )
        return 200, "application/json", json.dumps({"place": place, "stat": "ok"})
    if query.get("method") != "flickr.photos.search":
        return (
            200,
            "application/json",
            json.dumps({"stat": "fail", "code": 112, "message": "Method not found"}),
        )
    if query.get("tags") == "servererror":
        return 500, "text/html", "<html><body>Flickr is having a massage</body></html>"
    if query.get("tags") == "notjson":
        return 200, "text/javascript", 'jsonFlickrApi({"stat": "ok"})'
    per_page, page = int(query.get("per_page", "100")), int(query.get("page", "1"))
    matching = flickr.photos if query.get("tags") == TAG else []
    pages = max(1, -(-len(matching) // per_page))
    listed = matching[(page - 1) * per_page : page * per_page]
    body = {
        "photos": {"page": page, "pages": pages, "perpage": per_page, "total": len(matching), "photo": listed}
    }
    return 200, "application/json", json.dumps({**body, "stat": "ok"})


@pytest.fixture
def flickr_server() -> Iterator[FakeFlickr]:
    port = free_port()
    flickr = FakeFlickr(url=f"http://127.0.0.1:{port}/services/rest/")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            flickr.requests.append(query)
            status, content_type, body = answer(flickr, query)
            if parts.path != "/services/rest/":
                status, body = 404, "not found"
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield flickr
    server.shutdown()
    server.server_close()


@pytest.fixture
def flickr_client(flickr_server: FakeFlickr) -> Iterator[FlickrClient]:
    client = FlickrClient(API_KEY, flickr_server.url, timeout=5)
    yield client
    client.close()


def test_every_page_is_read_and_each_photo_stored_once(
    runtime: Runtime, flickr_server: FakeFlickr, flickr_client: FlickrClient
) -> None:
    first = poll(runtime.engine, runtime.live, runtime.vault, flickr_client, "kenya", TAG, per_page=2)
    assert (first.pages, first.photos, first.stored, first.duplicates) == (3, 5, 5, 0)
    searches = flickr_server.searches()
    assert [r["page"] for r in searches] == ["1", "2", "3"]
    for request in searches:
        assert request["tags"] == TAG and request["per_page"] == "2"
        assert request["format"] == "json" and request["nojsoncallback"] == "1"
        assert set(request["extras"].split(",")) >= {"geo", "date_taken", "date_upload", "url_q"}
    places = [r["place_id"] for r in flickr_server.requests if r["method"] == "flickr.places.getInfo"]
    assert sorted(places) == sorted(PLACES)  # once per place, not once per photo

    again = poll(runtime.engine, runtime.live, runtime.vault, flickr_client, "kenya", TAG, per_page=2)
    assert (again.stored, again.duplicates) == (0, 5)
    flickr_server.photos.append(
        photo("2290000006", "45678901@N03", "Nakuru", "2008-03-02 10:00:00", 1204452000)
    )
    third = poll(runtime.engine, runtime.live, runtime.vault, flickr_client, "kenya", TAG, per_page=2)
    assert (third.pages, third.stored, third.duplicates) == (3, 1, 5)
    assert runtime.live.campaign_figures("kenya").social == {"flickr": {"photo": 6}}


def test_what_is_kept_of_a_photo(runtime: Runtime, flickr_client: FlickrClient) -> None:
    poll(runtime.engine, runtime.live, runtime.vault, flickr_client, "kenya", TAG)
    with runtime.engine.connect() as connection:
        rows = {row.external_id: row for row in connection.execute(select(SocialEvent)).all()}
    candles = rows["2290000001"]
    assert (candles.platform, candles.kind, candles.country) == ("flickr", "photo", "KE")
    assert candles.occurred_at == datetime(2008, 2, 29, 18, 30, 5, tzinfo=UTC)
    assert candles.attributes == {
        "title": "Candles for Kenya",
        "taken_at": "2008-02-29T18:30:05+00:00",
        "latitude": -1.283333,
        "longitude": 36.816667,
        "thumbnail": "https://live.staticflickr.com/2143/2290000001_5a583dd624_q.jpg",
        "place": "Nairobi, Nairobi Area, Kenya",
        "url": short_url("2290000001"),
    }
    assert rows["2290000002"].country is None and rows["2290000002"].attributes["latitude"] is None
    assert rows["2290000003"].occurred_at == datetime.fromtimestamp(1204401200, UTC)  # taken date unknown
    assert rows["2290000004"].country == "GB"
    assert rows["2290000001"].actor_hash == rows["2290000003"].actor_hash  # the same owner
    dump = json.dumps([dict(row._mapping) for row in rows.values()], default=str)
    assert "@N0" not in dump  # no owner id in clear, not even in a URL


def test_the_map_reads_the_photos_that_have_a_place(runtime: Runtime, flickr_client: FlickrClient) -> None:
    poll(runtime.engine, runtime.live, runtime.vault, flickr_client, "kenya", TAG)
    placed = placed_photos(runtime.engine, "kenya")
    with runtime.engine.connect() as connection:
        stored = len(connection.execute(select(SocialEvent.id)).all())
    assert 0 < len(placed) < stored, "a photo without a position is left out"
    assert [p["occurred_at"] for p in placed] == sorted(p["occurred_at"] for p in placed), "oldest first"
    candles = next(p for p in placed if p["title"] == "Candles for Kenya")
    assert (candles["latitude"], candles["longitude"], candles["url"]) == (
        -1.283333, 36.816667, short_url("2290000001"),
    )  # fmt: skip
    assert placed_photos(runtime.engine, "kenya", limit=1) == placed[-1:], "the newest first when limited"
    assert placed_photos(runtime.engine, "torture") == []


def test_short_urls_are_flickrs() -> None:
    assert short_url("1") == "https://flic.kr/p/2"
    assert short_url("58") == "https://flic.kr/p/21"
    assert short_url("2290000001") == "https://flic.kr/p/4umRdD"


@pytest.mark.parametrize(
    ("key", "tag", "message", "fatal"),
    [
        ("wrong-key", TAG, "Flickr: Invalid API Key (Key has invalid format) (code 100)", True),
        (API_KEY, "servererror", "Flickr answered HTTP 500 to flickr.photos.search", False),
        (API_KEY, "notjson", "Flickr's answer to flickr.photos.search is not JSON", False),
    ],
)
def test_flickr_failures_are_one_clear_error(
    runtime: Runtime, flickr_server: FakeFlickr, key: str, tag: str, message: str, fatal: bool
) -> None:
    client = FlickrClient(key, flickr_server.url, timeout=5)
    with pytest.raises(FlickrError) as caught:
        poll(runtime.engine, runtime.live, runtime.vault, client, "kenya", tag)
    assert caught.value.message == message
    assert caught.value.fatal is fatal
    client.close()


def test_flickr_unreachable(runtime: Runtime) -> None:
    client = FlickrClient(API_KEY, f"http://127.0.0.1:{free_port()}/services/rest/", timeout=2)
    with pytest.raises(FlickrError, match="could not reach Flickr"):
        poll(runtime.engine, runtime.live, runtime.vault, client, "kenya", TAG)


# -- the command ------------------------------------------------------------------------------
def flickr_env(flickr_server: FakeFlickr, key: str = API_KEY) -> dict[str, str]:
    return {"CAMPAIGN_FLICKR_API_KEY": key, "CAMPAIGN_FLICKR_API_URL": flickr_server.url}


def test_poll_flickr_command(settings: Settings, runtime: Runtime, flickr_server: FakeFlickr) -> None:
    args = ["poll", "flickr", "--campaign", "kenya", "--tag", TAG, "--per-page", "2"]
    result = run_campaign(settings, *args, env=flickr_env(flickr_server))
    assert result.returncode == 0, result.stderr
    assert "5 photo(s) on 3 page(s): 5 new, 0 already counted" in result.stdout
    again = run_campaign(settings, *args, env=flickr_env(flickr_server))
    assert "0 new, 5 already counted" in again.stdout
    assert runtime.live.campaign_figures("kenya").social == {"flickr": {"photo": 5}}


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"CAMPAIGN_FLICKR_API_KEY": "wrong"}, [], "error: Flickr: Invalid API Key (Key has invalid format)"),
        ({"CAMPAIGN_FLICKR_API_KEY": "wrong"}, ["--every", "1"], "Invalid API Key"),
        ({"CAMPAIGN_FLICKR_API_KEY": ""}, [], "error: CAMPAIGN_FLICKR_API_KEY is not set"),
        ({}, ["--campaign", "atlantis"], "error: no campaign 'atlantis'"),
        ({}, ["--tag", " "], "error: tag: 1 to 100 characters"),
        ({"CAMPAIGN_FLICKR_API_URL": "ftp://flickr"}, [], "CAMPAIGN_FLICKR_API_URL"),
    ],
)
def test_poll_flickr_mistakes_are_one_line(
    settings: Settings, flickr_server: FakeFlickr, env: dict[str, str], args: list[str], message: str
) -> None:
    command = ["poll", "flickr", "--campaign", "kenya", "--tag", TAG, *args]
    result = run_campaign(settings, *command, env={**flickr_env(flickr_server), **env})
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_poll_flickr_every_until_ctrl_c(settings: Settings, flickr_server: FakeFlickr) -> None:
    env = {
        **backend_env(settings),
        **flickr_env(flickr_server),
    }
    command = [sys.executable, "-m", "cli", "poll", "flickr", "--campaign", "kenya", "--tag", TAG]
    process = subprocess.Popen(
        [*command, "--every", "1"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=settings.data_dir.parent,
    )
    try:
        deadline = time.monotonic() + 60
        while len(flickr_server.searches(page=1)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(flickr_server.searches(page=1)) >= 2  # it polled again by itself
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "5 new" in out and "0 new, 5 already counted" in out
    assert out.rstrip().endswith("stopped")
    assert "Traceback" not in err

"""The ingest app's shared behaviour: body limit, error shape, the read API and health."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campaign.access import rotation, screens
from campaign.live.view import LiveView, connect
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import InboundMessage, Signature
from ingest.app import MAX_BODY, create_app
from tests.conftest import PUBLIC_URL, post_twilio, twilio_form

pytestmark = pytest.mark.usefixtures("hassan")

WEBHOOKS = ["/webhooks/twilio", "/webhooks/vonage"]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    error = body["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return body


def stored(runtime: Runtime, model: type[object]) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


# -- the body limit -------------------------------------------------------------------------------
def chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b"a" * piece
        sent += piece


@pytest.mark.parametrize("path", WEBHOOKS)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_64_kib_is_refused_with_413(
    client: TestClient, runtime: Runtime, path: str, framing: str
) -> None:
    size = MAX_BODY + 1
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"}
    if framing == "content-length":
        response = client.post(path, content=b"a" * size, headers=headers)
    else:
        response = client.post(path, content=chunks(size), headers=headers)
        assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")
    assert stored(runtime, InboundMessage) == 0


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_body_of_exactly_64_kib_is_read(client: TestClient, path: str) -> None:
    # Read, then refused for what it says (no valid signature), not for its size.
    body = b"x=" + b"a" * (MAX_BODY - 2)
    response = client.post(
        path,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert_error(response, 403, "forbidden")


def test_a_body_streamed_in_many_chunks_is_cut_off_at_64_kib(settings: Settings, runtime: Runtime) -> None:
    """Drive the ASGI app directly, so the body really arrives in several messages."""
    app = create_app(settings, runtime)
    pieces = [b"a" * 16 * 1024] * 8  # 128 KiB, no Content-Length
    requested = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal requested
        requested += 1
        if requested <= len(pieces):
            return {"type": "http.request", "body": pieces[requested - 1], "more_body": True}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/webhooks/vonage",
        "raw_path": b"/webhooks/vonage",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"campaign.example.org"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("campaign.example.org", 443),
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert requested <= 5, "the app read on after the limit"
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b'"payload_too_large"' in body


# -- the error shape of routing --------------------------------------------------------------------
# method, path, status, error code
ROUTING_ERRORS = [
    ("GET", "/nope", 404, "not_found"),
    ("POST", "/webhooks/nobody", 404, "not_found"),
    ("GET", "/api/v1/appeals/nope", 404, "not_found"),
    ("GET", "/api/v1/appeals/hassan/extra", 404, "not_found"),
    ("PUT", "/webhooks/twilio", 405, "method_not_allowed"),
    ("GET", "/webhooks/twilio", 405, "method_not_allowed"),
    ("DELETE", "/webhooks/vonage", 405, "method_not_allowed"),
    ("POST", "/api/v1/appeals", 405, "method_not_allowed"),
    ("POST", "/healthz", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), ROUTING_ERRORS)
def test_routing_errors_answer_in_the_json_error_shape(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    assert_error(client.request(method, path), status, code)


def test_method_not_allowed_names_the_allowed_methods(client: TestClient) -> None:
    response = client.put("/webhooks/vonage")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


# -- unreadable forms --------------------------------------------------------------------------------
# path, content type, body
UNREADABLE = [
    ("/webhooks/twilio", "application/x-www-form-urlencoded", b"Body=J\xe4&From=%2B31612345678"),
    ("/webhooks/vonage", "application/x-www-form-urlencoded", b"text=J\xe4&msisdn=31612345678"),
    ("/webhooks/vonage", "application/json", b'{"text": "J\xe4", "msisdn": "31612345678"}'),
    ("/webhooks/twilio", "application/x-www-form-urlencoded", b"&".join(b"f%d=1" % i for i in range(1000))),
    ("/webhooks/vonage", "application/x-www-form-urlencoded", b"&".join(b"f%d=1" % i for i in range(1000))),
]


@pytest.mark.parametrize(("path", "content_type", "body"), UNREADABLE, ids=lambda v: str(v)[:40])
def test_an_unreadable_form_is_a_bad_request_not_a_crash(
    client: TestClient, runtime: Runtime, path: str, content_type: str, body: bytes
) -> None:
    headers = {"Content-Type": content_type, "X-Twilio-Signature": "anything"}
    assert_error(client.post(path, content=body, headers=headers), 400, "bad_request")
    assert stored(runtime, InboundMessage) == 0


def test_a_query_string_of_1000_fields_is_refused_without_a_crash(client: TestClient) -> None:
    params = {f"f{i}": "1" for i in range(1000)}
    assert_error(client.get("/webhooks/vonage", params=params), 403, "forbidden")


# -- the read API ------------------------------------------------------------------------------------
def test_the_appeals_list_shows_each_appeal_with_its_figures(
    client: TestClient, runtime: Runtime, kenya: object
) -> None:
    for sid, sender, text in [
        ("SMa", "+31612345678", "JA"),
        ("SMb", "+4915112345678", "YES"),
        ("SMc", "+31687654321", "KENYA"),
    ]:
        assert post_twilio(client, twilio_form(sid, sender, text)).status_code == 200
    runtime.live.refresh(runtime.engine, runtime.vault)  # the Redis copy, without waiting for it

    listing = client.get("/api/v1/appeals")
    assert listing.status_code == 200
    appeals = {appeal["slug"]: appeal for appeal in listing.json()["appeals"]}
    assert set(appeals) == {"hassan", "kenya"}
    hassan = appeals["hassan"]
    assert hassan["title"] == "Stop the torture of Hassan"
    assert hassan["person"] == "Hassan"
    assert hassan["goal"] == 10000
    assert hassan["status"] == "open"
    assert hassan["signatures"] == 2
    assert hassan["channels"] == {"sms": 2}
    assert {c["country"] for c in hassan["top_countries"]} == {"NL", "DE"}
    assert "recent" not in hassan  # the list is the summary; details are per appeal
    assert appeals["kenya"]["signatures"] == 1

    detail = client.get("/api/v1/appeals/hassan").json()
    assert detail["signatures"] == 2
    assert len(detail["per_minute"]) == 60
    assert sum(minute["signatures"] for minute in detail["per_minute"]) == 2
    assert {c["country"] for c in detail["top_countries"]} == {"NL", "DE"}


# The attack of issue 14, finding 4: anyone could read the last signers of an appeal (masked
# number, country, channel, time to the second), enough to check whether a known number signed.
@pytest.fixture
def signed_hassan(client: TestClient, runtime: Runtime, hassan: object, kenya: object) -> None:
    for sid, sender in [("SMa", "+31612345678"), ("SMb", "+4915112345678")]:
        assert post_twilio(client, twilio_form(sid, sender, "JA")).status_code == 200
    runtime.live.refresh(runtime.engine, runtime.vault)


@pytest.mark.usefixtures("signed_hassan")
def test_the_public_appeal_answer_has_figures_and_no_signer(client: TestClient) -> None:
    response = client.get("/api/v1/appeals/hassan")
    assert response.status_code == 200
    public = response.json()
    assert public["signatures"] == 2 and public["channels"] == {"sms": 2}
    assert {c["country"] for c in public["top_countries"]} == {"NL", "DE"}
    assert sum(minute["signatures"] for minute in public["per_minute"]) == 2
    assert "recent" not in public
    assert "•••" not in response.text, "no masked number, nor anything else about one signer"


@pytest.mark.usefixtures("signed_hassan")
def test_a_wall_screen_token_for_the_appeal_reads_its_signers_to_the_minute(
    client: TestClient, screen_token: Callable[..., str]
) -> None:
    for token in [screen_token("live", appeal="hassan"), screen_token("live", campaign="torture")]:
        response = client.get("/api/v1/appeals/hassan", params={"token": token})
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "private, no-store"
        recent = response.json()["recent"]
        assert len(recent) == 2 and all("•••" in entry["number"] for entry in recent)
        assert {entry["country"] for entry in recent} == {"NL", "DE"}
        for entry in recent:  # "2026-12-03T06:20+00:00": no seconds
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d\+00:00", entry["at"]), entry["at"]
    header = {"Authorization": f"Bearer {screen_token('live', appeal='hassan')}"}
    assert "recent" in client.get("/api/v1/appeals/hassan", headers=header).json()


@pytest.mark.usefixtures("signed_hassan")
def test_other_tokens_get_a_4xx_not_the_signers(
    client: TestClient, runtime: Runtime, screen_token: Callable[..., str]
) -> None:
    cases = [
        (screen_token("live", appeal="kenya"), 403),  # another appeal
        (screen_token("live", campaign="kenya"), 403),  # another campaign
        (screen_token("on-air", appeal="hassan"), 403),  # the broadcast feed's token: one number
        ("scr_guessed", 401),
    ]
    revoked = screens.create(runtime.engine, "old wall", page="live", appeal="hassan", actor="test")
    screens.revoke(runtime.engine, "old wall", actor="test")
    cases.append((revoked, 401))
    for token, status in cases:
        response = client.get("/api/v1/appeals/hassan", params={"token": token})
        body = assert_error(response, status, "unauthorized" if status == 401 else "forbidden")
        assert "recent" not in body and "•••" not in response.text


# -- health --------------------------------------------------------------------------------------------
# Issue 14, finding 9: /healthz told anyone which backend was down. A load balancer still
# reads the status without a token; the checks are for the operators (see test_operator_gate).
LOOPBACK = ("127.0.0.1", 50123)


def test_healthz_says_only_ok_to_anyone_and_each_check_to_this_machine(
    settings: Settings, runtime: Runtime
) -> None:
    with TestClient(create_app(settings, runtime), base_url=PUBLIC_URL, client=("203.0.113.9", 5000)) as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    with TestClient(create_app(settings, runtime), base_url=PUBLIC_URL, client=LOOPBACK) as http:
        response = http.get("/healthz")
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
        "unsigned_providers": [],
    }


@pytest.fixture
def redis_down(settings: Settings, runtime: Runtime) -> Iterator[Callable[..., TestClient]]:
    """The app with a Redis client that points at a closed port; the database is fine."""
    unreachable = connect("redis://127.0.0.1:1", socket_timeout=0.5, socket_connect_timeout=0.5)
    broken = dataclasses.replace(runtime, redis=unreachable, live=LiveView(unreachable))
    with contextlib.ExitStack() as stack:

        def client_from(peer: tuple[str, int] = LOOPBACK) -> TestClient:
            app = create_app(settings, broken)
            return stack.enter_context(TestClient(app, base_url=PUBLIC_URL, client=peer))

        yield client_from
    unreachable.close()


def test_healthz_answers_503_naming_redis_when_it_is_down(redis_down: Callable[..., TestClient]) -> None:
    body = assert_error(redis_down().get("/healthz"), 503, "unavailable")
    assert "redis" in body["error"]["message"]
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("down")
    public = assert_error(redis_down(("203.0.113.9", 5000)).get("/healthz"), 503, "unavailable")
    assert public == {
        "error": {"status": 503, "code": "unavailable", "message": "not ready"},
        "status": "degraded",
    }


def test_a_signed_text_is_stored_while_redis_is_down(
    redis_down: Callable[..., TestClient], runtime: Runtime
) -> None:
    response = post_twilio(redis_down(), twilio_form("SMnoredis", "+31612345678", "JA"))
    assert response.status_code == 200
    assert "Jij bent de eerste" in response.text
    assert stored(runtime, Signature) == 1
    assert stored(runtime, InboundMessage) == 1


@pytest.mark.parametrize("path", ["/api/v1/appeals", "/api/v1/appeals/hassan"])
def test_the_api_answers_503_not_500_while_redis_is_down(
    redis_down: Callable[..., TestClient], path: str
) -> None:
    assert_error(redis_down().get(path), 503, "unavailable")


@pytest.mark.usefixtures("signed_hassan", "kenya")
def test_a_rotating_wall_screen_token_reads_the_signers_of_its_live_pages_only(
    client: TestClient, runtime: Runtime
) -> None:
    playlist = rotation.parse("live:campaign:torture,on-air:kenya", 20)
    token = screens.create(runtime.engine, "Lobby", rotate=playlist, actor="test")
    response = client.get("/api/v1/appeals/hassan", params={"token": token})
    assert response.status_code == 200 and len(response.json()["recent"]) == 2
    assert_error(client.get("/api/v1/appeals/kenya", params={"token": token}), 403, "forbidden")
    feed = client.get("/api/v1/appeals/hassan/total.txt", params={"token": token})
    assert "on-air screen tokens" in assert_error(feed, 403, "forbidden")["error"]["message"]

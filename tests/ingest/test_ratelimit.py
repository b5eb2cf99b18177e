"""Rate limits per client for the public endpoints: 429 with Retry-After, per group, per address."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.app import create_app
from ingest.ratelimit import Buckets, Limit, RateLimit, group_of
from tests.conftest import PUBLIC_URL, post_twilio, twilio_form
from tests.ingest.test_metrics import METRICS_TOKEN


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    clock = Clock()
    buckets = Buckets({"feeds": Limit(rate=2.0, burst=4.0)}, clock)
    assert [buckets.take("feeds", "198.51.100.1") for _ in range(4)] == [0.0] * 4
    assert buckets.take("feeds", "198.51.100.1") == pytest.approx(0.5)  # one token comes in 0.5 s
    assert buckets.take("feeds", "198.51.100.2") == 0.0  # another client has its own bucket
    assert buckets.take("webhooks", "198.51.100.1") == 0.0  # a group without a limit
    clock.now += 0.5
    assert buckets.take("feeds", "198.51.100.1") == 0.0
    assert buckets.take("feeds", "198.51.100.1") > 0


def test_groups() -> None:
    assert group_of("/webhooks/twilio") == "webhooks"
    assert group_of("/r/kenya") == "beacon"
    assert group_of("/api/v1/events") == group_of("/api/v1/demonstrations") == "api"
    assert group_of("/api/v1/appeals/hassan/stream") == group_of("/overlay/hassan") == "feeds"
    assert group_of("/healthz") is group_of("/metrics") is None


@pytest.fixture
def limited(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    # A public feed (CAMPAIGN_OVERLAY_TOKENS=false): these tests are about limits, not links.
    tight = settings.model_copy(
        update={
            "rate_limit_feeds": 1.0,
            "rate_limit_burst": 2.0,
            "overlay_tokens": False,
            "metrics_token": SecretStr(METRICS_TOKEN),
        }
    )
    with TestClient(create_app(tight, runtime), base_url=PUBLIC_URL, client=("203.0.113.9", 5000)) as client:
        yield client


def test_over_the_limit_is_a_429_with_retry_after(limited: TestClient, hassan: object) -> None:
    answers = [limited.get("/api/v1/appeals/hassan/total.txt") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == {
        "status": 429,
        "code": "rate_limited",
        "message": "too many requests to the feeds endpoints; retry in 1 s",
    }
    assert limited.get("/overlay/hassan").status_code == 429  # the same group
    assert limited.get("/healthz").status_code == 200  # never limited
    assert post_twilio(limited, twilio_form("SM" + "c" * 32, "+31612345678", "JA")).status_code == 200
    metrics = limited.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'campaign_http_rejects_total{reason="rate_limited",route="/overlay/{slug}"} 1.0' in metrics


def test_clients_behind_a_trusted_proxy_have_their_own_limit(
    settings: Settings, runtime: Runtime, hassan: object
) -> None:
    tight = settings.model_copy(
        update={
            "rate_limit_feeds": 1.0,
            "rate_limit_burst": 1.0,
            "trusted_proxies": ("10.0.0.0/8",),
            "overlay_tokens": False,
        }
    )
    app = create_app(tight, runtime)
    with TestClient(app, base_url=PUBLIC_URL, client=("10.1.2.3", 5000)) as proxy:

        def get(client_address: str) -> int:
            headers = {"x-forwarded-for": client_address}
            return proxy.get("/api/v1/appeals/hassan/total.txt", headers=headers).status_code

        assert [get("198.51.100.1"), get("198.51.100.1"), get("198.51.100.2")] == [200, 429, 200]


def test_settings_refuse_a_proxy_that_is_not_an_address() -> None:
    from campaign.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="CAMPAIGN_TRUSTED_PROXIES"):
        Settings.load(trusted_proxies="10.0.0.0/8, proxy.example.org", _env_file=None)


# -- the client's address: spoofing, rotating, none ---------------------------------------------
def feed_limited(settings: Settings, runtime: Runtime, **update: object) -> Starlette:
    tight = settings.model_copy(
        update={"rate_limit_feeds": 1.0, "rate_limit_burst": 2.0, "overlay_tokens": False, **update}
    )
    return create_app(tight, runtime)


def test_a_direct_client_cannot_choose_its_address(
    settings: Settings, runtime: Runtime, hassan: object
) -> None:
    """Rotating X-Forwarded-For from a direct client changes nothing: one bucket, its own."""
    app = feed_limited(settings, runtime)
    with TestClient(app, base_url=PUBLIC_URL, client=("203.0.113.9", 5000)) as direct:
        answers = [
            direct.get("/api/v1/appeals/hassan/total.txt", headers={"x-forwarded-for": f"198.51.100.{n}"})
            for n in range(4)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]


def test_loopback_is_a_client_like_any_other(settings: Settings, runtime: Runtime, hassan: object) -> None:
    """The machine itself used to be never limited, so a proxy on it made everybody unlimited."""
    app = feed_limited(settings, runtime)
    with TestClient(app, base_url=PUBLIC_URL, client=("127.0.0.1", 5000)) as local:
        codes = [local.get("/api/v1/appeals/hassan/total.txt").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_trusted_proxy_that_names_no_client_is_refused(
    settings: Settings, runtime: Runtime, hassan: object
) -> None:
    app = feed_limited(settings, runtime, trusted_proxies=("127.0.0.1",))
    with TestClient(app, base_url=PUBLIC_URL, client=("127.0.0.1", 5000)) as proxy:
        refused = proxy.get("/api/v1/appeals/hassan/total.txt")
        garbled = proxy.get("/api/v1/appeals/hassan/total.txt", headers={"x-forwarded-for": "unknown"})
        named = proxy.get("/api/v1/appeals/hassan/total.txt", headers={"x-forwarded-for": "198.51.100.7"})
    for answer in (refused, garbled):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "unknown_client"
    assert "X-Forwarded-For" in refused.json()["error"]["message"]
    assert named.status_code == 200


# -- the middleware itself, driven as ASGI -----------------------------------------------------
def _asgi_request(middleware: object, path: str, client: tuple[str, int] | None) -> list[dict[str, Any]]:
    """Send one GET through ``middleware``; the messages it answered with itself (none: the app ran)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "client": client}
    asyncio.run(middleware(scope, receive, send))  # type: ignore[operator]
    return sent


def test_the_middleware_refuses_in_the_error_shape_and_passes_unlimited_groups(settings: Settings) -> None:
    ran: list[str] = []

    async def app(scope: dict[str, Any], receive: object, send: object) -> None:
        ran.append(scope["path"])

    tight = settings.model_copy(
        update={"rate_limit_feeds": 1.0, "rate_limit_burst": 1.0, "rate_limit_webhooks": 0}
    )
    limit = RateLimit(app, tight)  # type: ignore[arg-type]
    # A limited group: its client must be known (a Unix socket has no address), then one a second.
    no_address = _asgi_request(limit, "/overlay/hassan", None)
    assert no_address[0]["status"] == 400
    assert json.loads(no_address[1]["body"])["error"]["code"] == "unknown_client"
    assert _asgi_request(limit, "/overlay/hassan", ("203.0.113.9", 5000)) == []
    over = _asgi_request(limit, "/overlay/hassan", ("203.0.113.9", 5000))
    assert over[0]["status"] == 429
    assert (b"retry-after", b"1") in over[0]["headers"]
    assert json.loads(over[1]["body"])["error"]["code"] == "rate_limited"
    # A group without a limit (webhooks here) and a path in no group: straight to the app.
    assert _asgi_request(limit, "/webhooks/twilio", None) == []
    assert _asgi_request(limit, "/healthz", None) == []
    assert ran == ["/overlay/hassan", "/webhooks/twilio", "/healthz"]

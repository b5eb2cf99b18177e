"""Rate limits per client for the public endpoints: 429 with Retry-After, per group, per address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.app import create_app
from ingest.ratelimit import Buckets, Limit, client_of, group_of, parse_networks
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


def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"type": "http", "client": (peer, 5000), "headers": headers}


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy of ours: its header is ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client may forge the left part
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", "not-an-address, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, not-an-address", "10.0.0.2"),  # garbled by a hop of ours: the proxy
        ("10.0.0.2", None, "10.0.0.2"),
        ("127.0.0.1", None, None),  # the machine itself is never limited
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),  # a local proxy names the client
        ("::ffff:203.0.113.9", None, "203.0.113.9"),
        ("testclient", None, "testclient"),
    ],
)
def test_the_client_behind_trusted_proxies(peer: str, forwarded: str | None, client: str | None) -> None:
    trusted = parse_networks(["10.0.0.0/8", "127.0.0.1", "::1"])
    assert client_of(scope(peer, forwarded), trusted) == client


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

"""Rate limits per source for the public endpoints: a token bucket per client and group.

Each group of endpoints has its rate (requests a second a client may keep up) and a burst
of ``CAMPAIGN_RATE_LIMIT_BURST`` seconds of that rate; a client over it gets a 429 with
``Retry-After`` in the one JSON error shape.  Groups: provider webhooks (a few provider
addresses at high rates, so generous), the token API, the broadcast feeds and figures,
and the referral link.  ``/healthz`` and ``/metrics`` are never limited.

The client is told by the one rule of ``campaign.access.clients``: the connecting address,
or, when that is a trusted proxy (``CAMPAIGN_TRUSTED_PROXIES``), the last address in its
``X-Forwarded-For`` that is not one.  A request whose client cannot be told is a 400, never
a bucket everybody shares; this machine (loopback) is a client like any other.

The buckets live in the memory of each process: with N ingest processes behind one
port a client may get up to N times the rate, which is what these limits are for (a
runaway script or a flood, not exact quotas).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from campaign.access.clients import TrustedProxies, UnknownClient
from campaign.errors import error_body
from campaign.settings import Settings

MAX_CLIENTS = 100_000  # buckets kept per process before idle ones are dropped


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens a second
    burst: float  # bucket size


def group_of(path: str) -> str | None:
    """Which limit a path falls under; None for paths never limited."""
    if path.startswith("/webhooks/"):
        return "webhooks"
    if path.startswith("/r/"):
        return "beacon"
    if path.startswith(("/api/v1/events", "/api/v1/demonstrations")):
        return "api"
    if path.startswith(("/api/v1/appeals", "/api/v1/campaigns", "/overlay/")):
        return "feeds"
    if path.startswith(("/public/", "/embed/")):
        return "public"
    return None


def limits_from(settings: Settings) -> dict[str, Limit]:
    rates = {
        "webhooks": settings.rate_limit_webhooks,
        "api": settings.rate_limit_api,
        "feeds": settings.rate_limit_feeds,
        "beacon": settings.rate_limit_beacon,
        "public": settings.rate_limit_public,
    }
    burst = settings.rate_limit_burst
    return {group: Limit(rate, max(1.0, rate * burst)) for group, rate in rates.items() if rate}


class Buckets:
    """Token buckets keyed by (group, client); ``take`` answers the seconds to wait, or 0."""

    def __init__(self, limits: dict[str, Limit], clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._buckets: dict[tuple[str, str], list[float]] = {}

    def take(self, group: str, client: str) -> float:
        limit = self.limits.get(group)
        if limit is None:
            return 0.0
        now = self.clock()
        key = (group, client)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_CLIENTS:
                self._forget_idle(now)
            bucket = self._buckets[key] = [limit.burst, now]
        tokens = min(limit.burst, bucket[0] + (now - bucket[1]) * limit.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / limit.rate

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing for their client."""
        for key, (tokens, stamp) in list(self._buckets.items()):
            limit = self.limits[key[0]]
            if tokens + (now - stamp) * limit.rate >= limit.burst:
                del self._buckets[key]
        if len(self._buckets) >= MAX_CLIENTS:  # a flood of distinct clients: start afresh
            self._buckets.clear()


def client_of(scope: Scope, proxies: TrustedProxies) -> str:
    """The request's client by the one rule of ``campaign.access.clients``; ``UnknownClient`` if none."""
    peer = scope.get("client")
    if not proxies:  # X-Forwarded-For is read behind a trusted proxy only: skip the headers
        return proxies.client(peer[0] if peer else None)
    forwarded = [
        value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
    ]
    return proxies.client(peer[0] if peer else None, forwarded)


class RateLimit:
    """ASGI middleware: 429 with ``Retry-After`` when a client's bucket for its group is empty,
    400 when the client of a limited request cannot be told."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.buckets = Buckets(limits_from(settings))
        self.proxies = TrustedProxies(settings.trusted_proxies)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: it hands back the app's (or the refusal's) for the server to
        # await, so a request passes no extra frame on each of its awaits.
        if scope["type"] == "http" and self.buckets.limits:
            group = group_of(scope["path"])
            if group in self.buckets.limits:  # None, or a group without a limit: nothing to take
                try:
                    client = client_of(scope, self.proxies)
                except UnknownClient as unknown:
                    return _refuse(send, 400, unknown.as_json())
                wait = self.buckets.take(group, client)
                if wait > 0:
                    seconds = max(1, math.ceil(wait))
                    message = f"too many requests to the {group} endpoints; retry in {seconds} s"
                    return _refuse(send, 429, error_body(429, "rate_limited", message), retry_after=seconds)
        return self.app(scope, receive, send)


async def _refuse(
    send: Send, status: int, content: dict[str, object], retry_after: int | None = None
) -> None:
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

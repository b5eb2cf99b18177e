"""Rate limits per source for the public endpoints: a token bucket per client and group.

Each group of endpoints has its rate (requests a second a client may keep up) and a burst
of ``CAMPAIGN_RATE_LIMIT_BURST`` seconds of that rate; a client over it gets a 429 with
``Retry-After`` in the one JSON error shape.  Groups: provider webhooks (a few provider
addresses at high rates, so generous), the token API, the broadcast feeds and figures,
and the referral link.  ``/healthz`` and ``/metrics`` are never limited.

The client is the connecting address, or, when that address is a trusted proxy
(``CAMPAIGN_TRUSTED_PROXIES``), the last address in ``X-Forwarded-For`` that is not one.
A request from loopback that no proxy vouches for is the machine itself (the simulator,
the dashboard, a health check) and is not limited.

The buckets live in the memory of each process: with N ingest processes behind one
port a client may get up to N times the rate, which is what these limits are for (a
runaway script or a flood, not exact quotas).
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from campaign.errors import error_body
from campaign.settings import Settings

MAX_CLIENTS = 100_000  # buckets kept per process before idle ones are dropped

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


class Clients:
    """Who a request is from (see the module's notes), with addresses parsed once each.

    Parsing an address costs more than the rest of the limiter: providers call from a few
    addresses, so each text seen is remembered (up to ``MAX_CLIENTS`` of them).
    """

    def __init__(self, trusted: tuple[IPNetwork, ...]):
        self.trusted = trusted
        self._known: dict[str, tuple[str | None, bool, bool]] = {}

    def _read(self, text: str) -> tuple[str | None, bool, bool]:
        """(the address as text or None when it is not one, is a trusted proxy, is loopback)."""
        known = self._known.get(text)
        if known is None:
            address = _address(text)
            if address is None:
                known = (None, False, False)
            else:
                trusted = any(address in network for network in self.trusted)
                known = (str(address), trusted, address.is_loopback)
            if len(self._known) >= MAX_CLIENTS:
                self._known.clear()
            self._known[text] = known
        return known

    def __call__(self, scope: Scope) -> str | None:
        """The client's address as a string; None for the machine itself (loopback, no proxy)."""
        peer = (scope.get("client") or ("", 0))[0]
        address, trusted, loopback = self._read(peer)
        if address is None:
            return peer or "unknown"
        if trusted:
            forwarded = _forwarded_for(scope)
            for hop in reversed(forwarded):
                hop_address, hop_trusted, _ = self._read(hop)
                if hop_address is None:
                    break  # a garbled hop: trust nothing further left of it
                if not hop_trusted:
                    return hop_address
            else:
                if forwarded:  # every hop is a proxy of ours: the leftmost is the client
                    return forwarded[0][:64]
        return None if loopback else address


def client_of(scope: Scope, trusted: tuple[IPNetwork, ...]) -> str | None:
    return Clients(trusted)(scope)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _forwarded_for(scope: Scope) -> list[str]:
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops += [hop.strip() for hop in value.decode("latin-1").split(",") if hop.strip()]
    return hops[-32:]


class RateLimit:
    """ASGI middleware: 429 with ``Retry-After`` when a client's bucket for its group is empty."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.buckets = Buckets(limits_from(settings))
        self.clients = Clients(parse_networks(settings.trusted_proxies))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.buckets.limits:
            group = group_of(scope["path"])
            if group is not None:
                client = self.clients(scope)
                wait = self.buckets.take(group, client) if client is not None else 0.0
                if wait > 0:
                    await _too_many(send, group, wait)
                    return
        await self.app(scope, receive, send)


async def _too_many(send: Send, group: str, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    body = json.dumps(
        error_body(429, "rate_limited", f"too many requests to the {group} endpoints; retry in {seconds} s")
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""What the ingest process is doing, for Prometheus: ``GET /metrics``.

Each app has a registry of its own (so several apps in one test process never collide)
and each process answers for itself: scrape every ingest process, as Prometheus does
with one target per process.  To serve the sum of several processes from any one of
them, start them all with ``PROMETHEUS_MULTIPROC_DIR`` set to one empty directory
(prometheus_client's multiprocess mode); the gauges read on scrape (queue depth, spool,
viewers, outbox lag) then describe the process that answered.

Who may scrape is ``ingest.operator_gate``'s to say (a bearer token, or this machine itself).

Labels are bounded: a route is its template (``/r/{campaign}``, never ``/r/kenya``), a
method one of a few, a reason one of the error codes.  Nothing personal is a label.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campaign.activity.social import SocialResult
from campaign.inbound.keywords import Intent
from campaign.inbound.message import TextResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # every path no route knows counts under one label
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BACKEND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
# Why a request was refused, from its status; a 403 on a webhook is a wrong signature.
REASONS = {
    400: "bad_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
access_log = logging.getLogger("campaign.access")
log = logging.getLogger("campaign.ingest")
T = TypeVar("T")


class Probes(Collector):
    """Gauges read when scraped (queue depth, spool backlog, ...); a failing probe is left out."""

    def __init__(self) -> None:
        self._probes: dict[str, tuple[str, Callable[[], float | None]]] = {}
        self._labelled: dict[str, tuple[str, str, Callable[[], dict[str, float]]]] = {}

    def add(self, name: str, documentation: str, probe: Callable[[], float | None]) -> None:
        self._probes[name] = (documentation, probe)

    def add_labelled(
        self, name: str, documentation: str, label: str, probe: Callable[[], dict[str, float]]
    ) -> None:
        """A gauge with one label, its values read when scraped (label value -> value)."""
        self._labelled[name] = (documentation, label, probe)

    def collect(self) -> Iterable[Metric]:
        for name, (documentation, probe) in list(self._probes.items()):
            try:
                value = probe()
            except Exception as error:  # a probe must never break the scrape
                log.debug("probe %s failed: %s", name, error)
                continue
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=float(value))
        for name, (documentation, label, labelled) in list(self._labelled.items()):
            try:
                values = labelled()
            except Exception as error:
                log.debug("probe %s failed: %s", name, error)
                continue
            family = GaugeMetricFamily(name, documentation, labels=[label])
            for key, value in values.items():
                family.add_metric([key], float(value))
            yield family

    def describe(self) -> Iterable[Metric]:
        return []


class Recent(Generic[T]):
    """A value fetched at most once a second, however many probes read it."""

    def __init__(self, fetch: Callable[[], T]):
        self.fetch = fetch
        self._at = -1.0
        self._value: T | None = None

    def __call__(self) -> T:
        now = time.monotonic()
        if self._value is None or now - self._at > 1.0:
            self._value, self._at = self.fetch(), now
        return self._value


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "campaign_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "campaign_http_request_duration_seconds",
            "Time from a request's arrival to its response's start, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rejects = Counter(
            "campaign_http_rejects",
            "Requests refused, by route template and reason (bad_signature, bad_input, "
            "unauthorized, too_large, rate_limited, unavailable, ...).",
            ["route", "reason"],
            registry=registry,
        )
        self.texts = Counter(
            "campaign_texts",
            "Inbound texts by provider and what came of them (accepted: a new signature counted; "
            "duplicate: a provider's retry; already_signed; unknown_keyword; stop; ...).",
            ["provider", "result"],
            registry=registry,
        )
        self.social = Counter(
            "campaign_social_events",
            "Social events and web visits by source and result (stored or duplicate).",
            ["source", "result"],
            registry=registry,
        )
        self.backend = Histogram(
            "campaign_backend_seconds",
            "Time of the write path's calls: database commit of a batch, Redis live update, Redis ping.",
            ["backend", "operation"],
            buckets=BACKEND_BUCKETS,
            registry=registry,
        )
        self.batch = Histogram(
            "campaign_commit_batch_texts",
            "Texts committed together in one group-commit transaction.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=registry,
        )
        self.probes = Probes()
        registry.register(self.probes)
        ProcessCollector(registry=registry)
        self._children: dict[tuple[str, ...], Any] = {}

    # -- recording ------------------------------------------------------------------------------
    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._child(self.requests, route, method, str(status)).inc()
        self._child(self.latency, route).observe(seconds)
        if status >= 400:
            reason = REASONS.get(status, str(status))
            if status == 403 and route.startswith("/webhooks/"):
                reason = "bad_signature"
            self._child(self.rejects, route, reason).inc()

    def outcomes(self, provider: str, outcomes: Iterable[TextResult]) -> None:
        for outcome in outcomes:
            self._child(self.texts, provider, result_of(outcome)).inc()

    def stored(self, source: str, result: SocialResult) -> None:
        if result.stored:
            self._child(self.social, source, "stored").inc(result.stored)
        if result.duplicates:
            self._child(self.social, source, "duplicate").inc(result.duplicates)

    def timed(self, backend: str, operation: str, seconds: float) -> None:
        self._child(self.backend, backend, operation).observe(seconds)

    # -- answering ------------------------------------------------------------------------------
    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            registry.register(self.probes)
            return generate_latest(registry)
        return generate_latest(self.registry)

    async def endpoint(self, request: Request) -> Response:
        # In a thread: some probes ask the database, and the event loop must not wait for it.
        body = await asyncio.to_thread(self.exposition)
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def result_of(outcome: TextResult) -> str:
    """One bounded word for what a text did."""
    if outcome.spooled:
        return "spooled"
    if outcome.intent is None:
        return "part"  # a piece of a longer text, waiting for the rest
    if outcome.retry:
        return "duplicate"
    if outcome.intent is Intent.SIGN:
        if outcome.counted:
            return "accepted"
        return "already_signed" if outcome.appeal_slug else "no_appeal"
    if outcome.intent is Intent.UNKNOWN:
        return "unknown_keyword"
    return str(outcome.intent.value)


def count_stored(request: Request, source: str, result: SocialResult) -> None:
    """Count stored social events on the metrics of the app serving this request, if any."""
    metrics = getattr(request.app.state, "metrics", None)
    if isinstance(metrics, Metrics):
        metrics.stored(source, result)


class Instrument:
    """Counts every HTTP request by route template and status, times it, and logs one line.

    The line names the route template, never the raw path or query string, which may
    carry a supporter's number (Vonage sends it in the query string of a GET).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute], access_log: bool = False):
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the server answers when the app raises before responding
        elapsed: float | None = None

        async def watched(message: Message) -> None:
            nonlocal status, elapsed
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = time.perf_counter() - start  # first byte: a stream's length is not latency
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            seconds = elapsed if elapsed is not None else time.perf_counter() - start
            route = self.route_of(scope)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.metrics.request(route, method, status, seconds)
            if self.access_log and access_log.isEnabledFor(logging.INFO):
                fields = {"method": method, "route": route, "status": status, "ms": round(seconds * 1e3, 1)}
                access_log.info("", extra=fields)

    def route_of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:  # refused before routing (size, rate): find the template ourselves
            for candidate in self.routes:
                match, _ = candidate.matches(scope)
                if match is not Match.NONE:
                    route = candidate
                    break
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else UNMATCHED

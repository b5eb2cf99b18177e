"""The ingest service: providers' webhooks in, live figures out.

``create_app(settings)`` builds the ASGI app; ``campaign ingest`` serves it with uvicorn.
The lifespan opens the stores and hands them to every request as Starlette's lifespan
state (``request.state.runtime``, ``.committer``, ``.settings``, the overlay's ``.hub``
and ``.gate``, the trusted ``.proxies`` that tell a request's client, ``.unsigned``, the
providers taken without a signature, and the public counter's ``.counter``); the endpoints
are plain functions that read it.  Every error answers in the one JSON shape of
``campaign.errors`` (see ``ingest.errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from campaign.access.clients import TrustedProxies
from campaign.errors import NotFound, error_body
from campaign.inbound.message import InboundSms
from campaign.inbound.spool import Spool
from campaign.messaging import lead_notices, outbox
from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest import operator_gate, overlay, public
from ingest.committer import GroupCommitter
from ingest.errors import EXCEPTION_HANDLERS, MAX_BODY, BodyLimit
from ingest.metrics import Instrument, Metrics, Recent
from ingest.overlay import TotalsHub
from ingest.providers import REGISTRY, Provider
from ingest.ratelimit import RateLimit
from ingest.screen_gate import ScreenGate
from ingest.social import beacon, events, meta

log = logging.getLogger("campaign.ingest")


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The app; it opens its own runtime at startup unless given one (tests share theirs)."""
    metrics = Metrics()
    hub = TotalsHub(settings.streams_per_client)
    providers = [cls(settings) for cls in REGISTRY.values()]
    routes = [route for provider in providers for route in provider_routes(provider)] + [
        Route("/api/v1/appeals", appeals),
        Route("/api/v1/appeals/{slug}", appeal),
        Route("/healthz", healthz),
        Route("/metrics", functools.partial(metrics_endpoint, metrics=metrics)),
        *overlay.ROUTES,
        *public.ROUTES,
        *meta.ROUTES,
        *events.ROUTES,
        *beacon.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        lifespan=functools.partial(
            lifespan, settings=settings, runtime=runtime, metrics=metrics, hub=hub, providers=providers
        ),
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(RateLimit, settings=settings)
    # Outermost: it sees the 413s and 429s of the two inside it.
    app.add_middleware(Instrument, metrics=metrics, routes=routes, access_log=settings.access_log)
    metrics.probes.add("campaign_overlay_viewers", "Open overlay event streams.", lambda: hub.viewers)
    app.state.metrics = metrics
    return app


@contextlib.asynccontextmanager
async def lifespan(
    app: Starlette,
    *,
    settings: Settings,
    runtime: Runtime | None,
    metrics: Metrics,
    hub: TotalsHub,
    providers: list[Provider],
) -> AsyncIterator[dict[str, Any]]:
    """Open the stores (unless given a runtime) and start the writer; every request sees them."""
    unsigned = tuple(provider.name for provider in providers if provider.accepts_unsigned)
    for name in unsigned:
        log.warning(
            "%s webhooks accept UNSIGNED requests (CAMPAIGN_%s_ALLOW_UNSIGNED=true): anyone who finds"
            " the URL can send texts and receipts that count; set the signature secret instead",
            name,
            name.upper(),
        )
    rt = runtime if runtime is not None else await asyncio.to_thread(Runtime.open, settings, migrate=False)
    backlog = Recent(lambda: outbox.backlog(rt.engine))  # one read per scrape
    metrics.probes.add_labelled(
        "campaign_outbox_due",
        "Texts to supporters due and still queued, by lane (reply: answers to a supporter's text; bulk).",
        "lane",
        lambda: {lane: b.due for lane, b in backlog().items()},
    )
    metrics.probes.add_labelled(
        "campaign_outbox_lag_seconds",
        "How long the oldest queued text of each lane is past its time (0: the senders keep up).",
        "lane",
        lambda: {lane: b.lag_seconds for lane, b in backlog().items()},
    )
    metrics.probes.add(
        "campaign_outbox_unknown",
        "Texts in doubt: held by a sender that stopped, not resent unless a lead resends them.",
        Recent(lambda: outbox.in_doubt(rt.engine)),
    )
    committer = GroupCommitter(rt, Spool(settings.spool_dir, rt.vault), metrics=metrics)
    hub.attach(rt.redis_url, rt.live, rt.engine, lead_notices.notifier(rt.vault, settings.milestone_notify))
    await committer.start()
    await hub.start()
    try:
        yield {
            "settings": settings,
            "runtime": rt,
            "committer": committer,
            "hub": hub,
            "gate": ScreenGate(settings.overlay_tokens, rt.engine),
            "unsigned": unsigned,
            "proxies": TrustedProxies(settings.trusted_proxies),
            "counter": public.PublicCounter(rt.live, hub.watch.goal),
        }
    finally:
        await hub.stop()
        await committer.stop()
        if runtime is None:
            rt.close()


# -- the providers' webhooks ------------------------------------------------------------------
def provider_routes(provider: Provider) -> list[BaseRoute]:
    """A provider's inbound webhook and its delivery-report address."""
    return [
        Route(provider.path, InboundWebhook(provider), methods=list(provider.methods), name=provider.name),
        Route(
            provider.receipt_path,
            functools.partial(delivery_report, provider=provider),
            methods=list(provider.receipt_methods),
            name=f"{provider.name}-receipt",
        ),
    ]


class InboundWebhook:
    """A provider's inbound webhook as a plain ASGI endpoint, the busiest route.

    Starlette wraps a function endpoint once more in exception handling (a closure around
    ``send`` and two more coroutine frames per request); the handlers are the same ones that
    ``ExceptionMiddleware`` applies around the router, so an error still answers in the one
    JSON shape without that second layer.
    """

    def __init__(self, provider: Provider):
        self.provider = provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await webhook(Request(scope, receive, send), self.provider)
        await response(scope, receive, send)


async def webhook(request: Request, provider: Provider) -> Response:
    body = await request.body()
    received = await provider.receive(request, body)
    rt: Runtime = request.state.runtime
    now = datetime.now(UTC)
    messages = [
        InboundSms(
            provider=provider.name,
            message_id=item.message_id,
            sender=rt.vault.sender(item.sender, item.region),
            short_code=item.short_code,
            text=item.text,
            received_at=now,
            part=item.part,
            replies_inline=provider.replies_inline,
        )
        for item in received
    ]
    outcomes = await request.state.committer.submit(messages) if messages else []
    request.app.state.metrics.outcomes(provider.name, outcomes)
    return provider.answer(outcomes)


async def delivery_report(request: Request, provider: Provider) -> Response:
    """A report on a text we sent; unknown texts are answered 200 too, so the provider stops."""
    receipt = await provider.receipt(request, await request.body())
    if receipt is None:
        return JSONResponse({"known": False})
    known = await asyncio.to_thread(
        outbox.record_receipt,
        request.state.runtime.engine,
        provider.name,
        receipt.message_id,
        receipt.status,
        receipt.error,
        receipt.opted_out,
    )
    return JSONResponse({"known": known})


# -- live figures and health ------------------------------------------------------------------
async def appeals(request: Request) -> Response:
    live = request.state.runtime.live
    figures = await asyncio.to_thread(lambda: live.many_figures(live.slugs()))
    # A private appeal is kept off every open answer (publicity may endanger someone).
    return JSONResponse({"appeals": [f.as_json(detail=False) for f in figures if not f.private]})


async def appeal(request: Request) -> Response:
    """One appeal's figures; its latest signers only with a wall-screen token for it."""
    slug = request.path_params["slug"]
    signers = await request.state.gate.signers(request, slug)
    figures = await asyncio.to_thread(request.state.runtime.live.figures, slug)
    if figures is None or (figures.private and not signers):  # private: a wall screen's token only
        raise NotFound(f"no appeal {slug!r}")
    headers = {"Cache-Control": "private, no-store"} if signers else {}
    return JSONResponse(figures.as_json(signers=signers), headers=headers)


async def healthz(request: Request) -> Response:
    """200 ``ok`` or 503 ``degraded`` for anyone (a load balancer); what is down only for operators."""
    checks = await asyncio.to_thread(_health, request.state.runtime)
    # Providers taken without a signature (an explicit setting): visible wherever health is watched.
    unsigned = list(request.state.unsigned)
    down = [name for name, status in checks.items() if status != "ok"]
    detail = operator_gate.operator(request, _metrics_token(request))
    headers = {"Cache-Control": "no-store"}
    if down:
        message = f"{' and '.join(down)} down" if detail else "not ready"
        body = {**error_body(503, "unavailable", message), "status": "degraded"}
        if detail:
            body |= {"checks": checks, "unsigned_providers": unsigned}
        return JSONResponse(body, status_code=503, headers=headers)
    details = {"checks": checks, "unsigned_providers": unsigned} if detail else {}
    return JSONResponse({"status": "ok", **details}, headers=headers)


async def metrics_endpoint(request: Request, metrics: Metrics) -> Response:
    operator_gate.require(request, _metrics_token(request))
    return await metrics.endpoint(request)


def _metrics_token(request: Request) -> str:
    settings: Settings = request.state.settings
    return settings.metrics_token.get_secret_value()


def _health(rt: Runtime) -> dict[str, str]:
    checks = {}
    try:
        with rt.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"down: {type(error).__name__}"
    try:
        rt.redis.ping()
        checks["redis"] = "ok"
    except (redis.RedisError, OSError) as error:
        checks["redis"] = f"down: {type(error).__name__}"
    return checks

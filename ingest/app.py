"""The ingest service: providers' webhooks in, live figures out.

``create_app(settings)`` builds the ASGI app; ``campaign ingest`` serves it with uvicorn.
Every error answers in the one JSON shape of ``campaign.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from campaign.errors import CampaignError, NotFound, PayloadTooLarge, error_body
from campaign.inbound.message import InboundSms
from campaign.inbound.spool import Spool
from campaign.messaging import outbox
from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.committer import GroupCommitter
from ingest.metrics import Instrument, Metrics, Recent
from ingest.overlay import TotalsHub
from ingest.overlay import routes as overlay_routes
from ingest.providers import REGISTRY, Provider
from ingest.ratelimit import RateLimit
from ingest.screen_gate import ScreenGate
from ingest.social import beacon, events, meta

log = logging.getLogger("campaign.ingest")

MAX_BODY = 64 * 1024


class BodyLimit:
    """Refuse bodies over ``MAX_BODY`` with a 413 before reading them into memory."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await _send_json(send, PayloadTooLarge(f"body over {self.limit} bytes").as_json(), 413)
                return
        received = 0

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLarge(f"body over {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


async def _send_json(send: Send, body: dict[str, Any], status: int) -> None:
    response = JSONResponse(body, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    providers = {name: cls(settings) for name, cls in REGISTRY.items()}
    hub = TotalsHub()
    metrics = Metrics()
    state: dict[str, Any] = {}
    gate = ScreenGate(settings.overlay_tokens, lambda: state["runtime"].engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = runtime is None
        rt = (
            runtime if runtime is not None else await asyncio.to_thread(Runtime.open, settings, migrate=False)
        )
        committer = GroupCommitter(rt, Spool(settings.spool_dir, rt.vault), metrics=metrics)
        hub.attach(rt.redis_url, rt.live)
        await committer.start()
        await hub.start()
        state.update(runtime=rt, committer=committer)
        try:
            yield
        finally:
            await hub.stop()
            await committer.stop()
            if own:
                rt.close()

    async def webhook(request: Request, provider: Provider) -> Response:
        body = await request.body()
        received = await provider.receive(request, body)
        rt: Runtime = state["runtime"]
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
        outcomes = await state["committer"].submit(messages) if messages else []
        metrics.outcomes(provider.name, outcomes)
        return provider.answer(outcomes)

    async def delivery_report(request: Request, provider: Provider) -> Response:
        receipt = await provider.receipt(request, await request.body())
        if receipt is None:
            return JSONResponse({"known": False})
        known = await asyncio.to_thread(
            outbox.record_receipt,
            state["runtime"].engine,
            provider.name,
            receipt.message_id,
            receipt.status,
            receipt.error,
            receipt.opted_out,
        )
        return JSONResponse({"known": known})

    def provider_routes(provider: Provider) -> list[Route]:
        async def endpoint(request: Request) -> Response:
            return await webhook(request, provider)

        async def receipt_endpoint(request: Request) -> Response:
            return await delivery_report(request, provider)

        return [
            Route(provider.path, endpoint, methods=list(provider.methods), name=provider.name),
            Route(provider.receipt_path, receipt_endpoint, methods=list(provider.receipt_methods)),
        ]

    async def appeals(request: Request) -> Response:
        live = state["runtime"].live
        figures = await asyncio.to_thread(lambda: live.many_figures(live.slugs()))
        return JSONResponse({"appeals": [f.as_json(detail=False) for f in figures]})

    async def appeal(request: Request) -> Response:
        slug = request.path_params["slug"]
        live = state["runtime"].live
        figures = await asyncio.to_thread(live.figures, slug)
        if figures is None:
            raise NotFound(f"no appeal {slug!r}")
        return JSONResponse(figures.as_json())

    async def healthz(request: Request) -> Response:
        rt: Runtime = state["runtime"]
        checks = await asyncio.to_thread(_health, rt)
        down = [name for name, status in checks.items() if status != "ok"]
        if down:
            body = error_body(503, "unavailable", f"{' and '.join(down)} down")
            body["checks"] = checks
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "checks": checks})

    routes = [route for p in providers.values() for route in provider_routes(p)] + [
        Route("/api/v1/appeals", appeals),
        Route("/api/v1/appeals/{slug}", appeal),
        Route("/healthz", healthz),
        Route("/metrics", metrics.endpoint),
        *overlay_routes(hub, gate),
        *meta.routes(settings, lambda: state["runtime"]),
        *events.routes(lambda: state["runtime"]),
        *beacon.routes(settings, lambda: state["runtime"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            CampaignError: _campaign_error,
            HTTPException: _http_error,
            redis.RedisError: _redis_error,
            Exception: _unexpected_error,
        },
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(RateLimit, settings=settings)
    # Outermost: it sees the 413s and 429s of the two inside it.
    app.add_middleware(Instrument, metrics=metrics, routes=routes, access_log=settings.access_log)
    metrics.probes.add("campaign_overlay_viewers", "Open overlay event streams.", lambda: hub.viewers)
    backlog = Recent(lambda: outbox.backlog(state["runtime"].engine))  # one query per scrape
    metrics.probes.add(
        "campaign_outbox_due", "Texts to supporters due and still queued.", lambda: backlog().due
    )
    metrics.probes.add(
        "campaign_outbox_lag_seconds",
        "How long the oldest queued text is past its time (0: the senders keep up).",
        lambda: backlog().lag_seconds,
    )
    app.state.campaign = state
    app.state.metrics = metrics
    return app


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


async def _campaign_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, CampaignError)
    if error.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, error.message)
    return JSONResponse(error.as_json(), status_code=error.status)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return JSONResponse(
        error_body(error.status_code, code, str(error.detail)),
        status_code=error.status_code,
        headers=error.headers,  # e.g. Allow on a 405
    )


async def _redis_error(request: Request, error: Exception) -> Response:
    log.warning("%s %s: Redis unavailable (%s)", request.method, request.url.path, error)
    return JSONResponse(
        error_body(503, "unavailable", "live figures unavailable: redis down"), status_code=503
    )


async def _unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body(500, "internal_error", "internal error"), status_code=500)

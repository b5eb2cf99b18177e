"""The broadcast feed: a self-contained overlay page, a server-sent event stream, a bare number.

Each feed is there for an appeal (``/overlay/hassan``), a campaign (``/overlay/campaigns/torture``)
and every appeal at once (``/overlay/campaigns/all``).  One Redis subscription per process feeds
every viewer: ``TotalsHub`` keeps the latest total of each scope and hands it, encoded once, to
each viewer's one-slot mailbox, so a slow viewer skips to the newest figure instead of queueing
old ones.  In a burst the hub passes on at most 20 figures a second per scope; a lone signature
goes out at once.  A viewer that connects (or reconnects) gets the current figure at once;
figures sent to a viewer never go down.

A campaign's total is the sum of its appeals' latest totals, each of which only grows, so the
sum is exact and only grows too; which appeal belongs to which campaign is read from Redis
when a campaign viewer connects, every ``POLL_SECONDS`` and when an unknown appeal moves.

When a total (an appeal's, a campaign's or everything's) passes one of its milestones, one
process claims it (``ingest.milestone_watch``) and announces it on the channel; every process
sends ``event: milestone`` to that scope's viewers.  A milestone waiting in a viewer's mailbox
is never dropped for a newer total.  A campaign's own goal (``campaign campaign edit``) is the
one its feeds show; without one, the sum of its appeals' goals.

The endpoints read the hub and the screen gate from the app's lifespan state
(``request.state.hub`` and ``request.state.gate``, see ``ingest.app``).  One client (its
address by ``campaign.access.clients``) holds at most ``CAMPAIGN_STREAMS_PER_CLIENT`` streams
per process; the next is a 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from campaign.access.clients import TrustedProxies
from campaign.appeals.milestones import OnClaim
from campaign.errors import CampaignError, NotFound
from campaign.live.figures import Milestone, updates
from campaign.live.view import LiveView
from campaign.storage.models import EVERY_CAMPAIGN
from ingest.milestone_watch import MilestoneWatch
from ingest.ratelimit import client_of
from ingest.screen_gate import TTL, ScreenGate

log = logging.getLogger("campaign.overlay")

OVERLAY_PAGE = Path(__file__).parent / "static" / "overlay.html"
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 5.0  # safety net: catches any announcement missed while Redis was away
MIN_INTERVAL = 0.05  # at most 20 figures a second per appeal reach a viewer; the last one always does

# A total, its encoded event (shared by every viewer), and milestone events to send before it.
Delivery = tuple[int, str, str]
KEEP_ALIVE: Delivery = (-1, ": keep-alive\n\n", "")
MILESTONE_ONLY = -2  # a delivery with milestone events and no total
CAMPAIGN = "campaign:"  # the hub's key of a campaign's sum; an appeal's key is its slug (no colon)


def campaign_scope(slug: str) -> str:
    return CAMPAIGN + slug


class TooManyStreams(CampaignError):
    status = 429
    code = "too_many_streams"


class TotalsHub:
    redis_url: str
    view: LiveView

    def __init__(self, streams_per_client: int = 0) -> None:
        self.streams_per_client = streams_per_client  # 0: no cap
        self.streams: dict[str, int] = {}  # open event streams per client address
        self.latest: dict[str, int] = {}
        self._mailboxes: dict[str, set[asyncio.Queue[Delivery]]] = defaultdict(set)
        self._delivered_at: dict[str, float] = {}
        self._scheduled: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.campaign_of: dict[str, str] = {}  # appeal slug -> campaign slug
        self._reloading: asyncio.Task[None] | None = None
        self.engine: Engine | None = None
        self.watch = MilestoneWatch(self)

    def attach(
        self, redis_url: str, view: LiveView, engine: Engine | None = None, on_claim: OnClaim | None = None
    ) -> None:
        """Connect the hub to the live view (and, to claim milestones, the database)."""
        self.redis_url = redis_url
        self.view = view
        self.engine = engine
        self.watch.on_claim = on_claim

    @property
    def viewers(self) -> int:
        return sum(len(boxes) for boxes in self._mailboxes.values())

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="totals-listen"),
            asyncio.create_task(self._poll(), name="totals-poll"),
            asyncio.create_task(self._heartbeat(), name="totals-heartbeat"),
        ]
        if self.engine is not None:
            self._tasks.append(asyncio.create_task(self.watch.poll(), name="milestones-poll"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # redis-py's asyncio pub/sub can swallow a cancel; never let it hold up shutdown.
        await asyncio.wait(self._tasks, timeout=2)

    def announce(self, appeal: str, total: int) -> None:
        """An appeal's new total; its campaign's and everything's sums move with it."""
        self.publish(appeal, total)
        if self.engine is not None:
            self.watch.moved(appeal, total)
        if not any(key.startswith(CAMPAIGN) for key in self._mailboxes):
            return
        campaign = self.campaign_of.get(appeal)
        if campaign is None:  # a new appeal: learn its campaign, then add it in
            self._reload_soon()
            return
        self._publish_sums([campaign, EVERY_CAMPAIGN])

    def _publish_sums(self, campaigns: list[str]) -> None:
        for campaign in campaigns:
            members = [slug for slug, c in self.campaign_of.items() if campaign in (c, EVERY_CAMPAIGN)]
            self.publish(campaign_scope(campaign), sum(self.latest.get(slug, 0) for slug in members))

    def celebrate(self, passed: Milestone) -> None:
        """A milestone claimed by some process: to this process's viewers of its scope, never dropped."""
        kind, _, slug = passed.scope.partition(":")
        key = slug if kind == "appeal" else campaign_scope(slug or passed.scope)  # "all" has no colon
        text = f"event: milestone\ndata: {json.dumps(passed.as_json())}\n\n"
        for mailbox in self._mailboxes.get(key, ()):
            try:
                total, shown, extra = mailbox.get_nowait()
            except asyncio.QueueEmpty:
                total, shown, extra = MILESTONE_ONLY, "", ""
            mailbox.put_nowait((total, shown, extra + text))

    def _reload_soon(self) -> None:
        if self._reloading is not None and not self._reloading.done():
            return

        async def reload() -> None:
            for key in [k for k in self._mailboxes if k.startswith(CAMPAIGN)]:
                with contextlib.suppress(Exception):
                    await self.current(key)

        self._reloading = asyncio.get_running_loop().create_task(reload())

    def publish(self, slug: str, total: int) -> None:
        """Take a new total; viewers get it at once, or at most every ``MIN_INTERVAL`` in a burst."""
        if total <= self.latest.get(slug, -1):
            return
        self.latest[slug] = total
        if slug in self._scheduled or slug not in self._mailboxes:
            return
        wait = self._delivered_at.get(slug, 0.0) + MIN_INTERVAL - time.monotonic()
        if wait <= 0:
            self._deliver(slug)
        else:
            self._scheduled.add(slug)
            asyncio.get_running_loop().call_later(wait, self._deliver, slug)

    def _deliver(self, slug: str) -> None:
        self._scheduled.discard(slug)
        self._delivered_at[slug] = time.monotonic()
        total = self.latest[slug]
        delivery = (total, event(slug, total), "")  # encoded once for every viewer
        for mailbox in self._mailboxes.get(slug, ()):
            try:
                older = mailbox.get_nowait()  # drop the older figure still waiting
            except asyncio.QueueEmpty:
                mailbox.put_nowait(delivery)
                continue
            mailbox.put_nowait((total, delivery[1], older[2]) if older[2] else delivery)

    async def current(self, slug: str) -> int | None:
        """A scope's total now (read from Redis); None for an unknown appeal or campaign."""
        if slug.startswith(CAMPAIGN):
            return await self._current_sum(slug[len(CAMPAIGN) :])
        total = await asyncio.to_thread(self.view.total, slug)
        if total is not None:
            self.publish(slug, total)
        return self.latest.get(slug, total)

    async def _current_sum(self, campaign: str) -> int | None:
        totals = await asyncio.to_thread(self.view.appeal_totals)
        self.campaign_of = {t.slug: t.campaign for t in totals}
        for t in totals:
            self.publish(t.slug, t.total)
        if campaign != EVERY_CAMPAIGN and campaign not in self.campaign_of.values():
            return None
        self._publish_sums([campaign])
        return self.latest.get(campaign_scope(campaign))

    def subscribe(self, slug: str) -> asyncio.Queue[Delivery]:
        mailbox: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=1)
        self._mailboxes[slug].add(mailbox)
        return mailbox

    def open_stream(self, client: str) -> None:
        """Count one more open stream for ``client``, or refuse it (429) once it holds its cap."""
        held = self.streams.get(client, 0)
        if self.streams_per_client and held >= self.streams_per_client:
            raise TooManyStreams(
                f"{held} event streams already open from this address, the most one client may hold"
                " (CAMPAIGN_STREAMS_PER_CLIENT); close one first"
            )
        self.streams[client] = held + 1

    def close_stream(self, client: str) -> None:
        held = self.streams.get(client, 0) - 1
        if held > 0:
            self.streams[client] = held
        else:
            self.streams.pop(client, None)

    def unsubscribe(self, slug: str, mailbox: asyncio.Queue[Delivery]) -> None:
        boxes = self._mailboxes.get(slug)
        if boxes is not None:
            boxes.discard(mailbox)
            if not boxes:
                del self._mailboxes[slug]

    async def _heartbeat(self) -> None:
        """Keep idle streams open through proxies: a comment line when nothing else is waiting."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for boxes in list(self._mailboxes.values()):
                for mailbox in boxes:
                    if mailbox.empty():
                        mailbox.put_nowait(KEEP_ALIVE)

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                async for news in updates(self.redis_url):
                    if isinstance(news, Milestone):
                        self.celebrate(news)
                    else:
                        self.announce(*news)
                    delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis away: keep trying, viewers keep their figure
                log.debug("totals subscription lost (%s); retrying", error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            for slug in list(self._mailboxes):
                with contextlib.suppress(Exception):
                    await self.current(slug)


def event(slug: str, total: int) -> str:
    data = {"campaign": slug[len(CAMPAIGN) :]} if slug.startswith(CAMPAIGN) else {"appeal": slug}
    return f"id: {total}\nevent: total\ndata: {json.dumps({**data, 'total': total})}\n\n"


# -- routes: the hub and the gate come with the lifespan state (see ingest.app) ---------------
def _scope(request: Request) -> tuple[str, str]:
    """The hub's key of the request's scope and how a 404 names it."""
    slug = request.path_params["slug"]
    if request.url.path.startswith(("/api/v1/campaigns/", "/overlay/campaigns/")):
        return campaign_scope(slug), f"no campaign {slug!r}"
    return slug, f"no appeal {slug!r}"


def _base(key: str) -> str:
    """Where a scope's feeds live under /api/v1."""
    if key.startswith(CAMPAIGN):
        return f"/api/v1/campaigns/{key[len(CAMPAIGN) :]}"
    return f"/api/v1/appeals/{key}"


async def stream(request: Request) -> Response:
    hub: TotalsHub = request.state.hub
    gate: ScreenGate = request.state.gate
    slug, unknown = _scope(request)
    token = await gate.admit(request, slug)
    first = await hub.current(slug)
    if first is None:
        raise NotFound(unknown)
    proxies: TrustedProxies = request.state.proxies
    client = client_of(request.scope, proxies)
    hub.open_stream(client)  # nothing below may raise before the response holds the slot

    async def events() -> AsyncIterator[str]:
        mailbox = hub.subscribe(slug)
        try:
            sent = max(first, hub.latest.get(slug, first))  # read after subscribing: no gap
            yield f"retry: 1000\n{event(slug, sent)}"
            checked = time.monotonic()
            while True:
                try:
                    total, text, extra = await asyncio.wait_for(mailbox.get(), timeout=TTL)
                except TimeoutError:
                    total, text, extra = KEEP_ALIVE[0] - 1, "", ""  # nothing to send; time to re-check
                if time.monotonic() - checked >= TTL:
                    if not await gate.still_allowed(token, slug):
                        return  # revoked: the browser's reconnect then gets a 401
                    checked = time.monotonic()
                if extra:
                    yield extra
                if total > sent or total == KEEP_ALIVE[0]:
                    sent = max(sent, total)
                    yield text
        finally:
            hub.unsubscribe(slug, mailbox)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return HeldStream(events(), release=lambda: hub.close_stream(client), headers=headers)


EVENT_STREAM = "campaign.event_stream"  # marks the ASGI scope of a response that never ends


class HeldStream(StreamingResponse):
    """An event stream that gives its client's slot back however it ends (finished, cancelled, cut).

    The release wraps the whole response, not the generator: a generator cancelled before its
    first step never runs its ``finally``.
    """

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None], headers: dict[str, str]):
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[EVENT_STREAM] = True  # the server closes it at shutdown (ingest.serve)
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()


async def total_txt(request: Request) -> Response:
    hub: TotalsHub = request.state.hub
    slug, unknown = _scope(request)
    await request.state.gate.admit(request, slug)
    total = await hub.current(slug)
    if total is None:
        raise NotFound(unknown)
    return PlainTextResponse(str(total), headers={"Cache-Control": "no-cache"})


async def campaign_figures(request: Request) -> Response:
    """A campaign's summed figures (``all``: every appeal's), for the holders of its screen tokens."""
    slug, unknown = _scope(request)
    await request.state.gate.admit(request, slug)
    hub: TotalsHub = request.state.hub
    figures = await asyncio.to_thread(hub.view.scope_figures, request.path_params["slug"])
    if figures is None:
        raise NotFound(unknown)
    figures.own_goal = hub.watch.goal(figures.campaign)
    return JSONResponse(figures.as_json(), headers={"Cache-Control": "no-cache"})


async def overlay(request: Request) -> Response:
    hub: TotalsHub = request.state.hub
    slug, unknown = _scope(request)
    token = await request.state.gate.admit(request, slug)
    if slug.startswith(CAMPAIGN):
        scope = await asyncio.to_thread(hub.view.scope_figures, slug[len(CAMPAIGN) :])
        if scope is not None:
            scope.own_goal = hub.watch.goal(scope.campaign)
        figures = None if scope is None else (scope.title, scope.goal, scope.signatures)
    else:
        one = await asyncio.to_thread(hub.view.figures, slug)
        figures = None if one is None else (one.person or one.title, one.goal, one.signatures)
    if figures is None:
        raise NotFound(unknown)
    label, goal, total = figures
    page = OVERLAY_PAGE.read_text(encoding="utf-8")
    config = {
        "slug": slug,
        # The page passes its own token on to its stream.
        "stream": f"{_base(slug)}/stream" + (f"?token={quote(token)}" if token else ""),
        "label": request.query_params.get("label") or label,
        "goal": goal if request.query_params.get("goal", "1") != "0" else None,
        "theme": request.query_params.get("theme", "transparent"),
        "total": max(total, hub.latest.get(slug, 0)),  # never below what a stream has sent
        "celebrate": request.query_params.get("celebrate", "1") != "0",
    }
    # The config is JSON inside a script tag; "<" is escaped so no text can close the tag.
    encoded = json.dumps(config).replace("<", "\\u003c")
    # no-referrer: the token in this page's address must not travel to anywhere it links.
    headers = {"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(page.replace("/*CONFIG*/{}", encoded), headers=headers)


ROUTES = [
    Route("/api/v1/appeals/{slug}/stream", stream),
    Route("/api/v1/appeals/{slug}/total.txt", total_txt),
    Route("/overlay/{slug}", overlay),
    Route("/api/v1/campaigns/{slug}", campaign_figures),
    Route("/api/v1/campaigns/{slug}/stream", stream),
    Route("/api/v1/campaigns/{slug}/total.txt", total_txt),
    Route("/overlay/campaigns/{slug}", overlay),
]

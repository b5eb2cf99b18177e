"""The broadcast feed: a self-contained overlay page, a server-sent event stream, a bare number.

One Redis subscription per process feeds every viewer: ``TotalsHub`` keeps the latest
total of each appeal and hands it, encoded once, to each viewer's one-slot mailbox, so a
slow viewer skips to the newest figure instead of queueing old ones.  In a burst the hub
passes on at most 20 figures a second per appeal; a lone signature goes out at once.
A viewer that connects (or reconnects) gets the current figure at once; figures sent to a
viewer never go down.

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

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from campaign.access.clients import TrustedProxies
from campaign.errors import CampaignError, NotFound
from campaign.live.figures import updates
from campaign.live.view import LiveView
from ingest.ratelimit import client_of
from ingest.screen_gate import TTL, ScreenGate

log = logging.getLogger("campaign.overlay")

OVERLAY_PAGE = Path(__file__).parent / "static" / "overlay.html"
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 5.0  # safety net: catches any announcement missed while Redis was away
MIN_INTERVAL = 0.05  # at most 20 figures a second per appeal reach a viewer; the last one always does

Delivery = tuple[int, str]  # a total and its encoded event, shared by every viewer
KEEP_ALIVE: Delivery = (-1, ": keep-alive\n\n")


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

    def attach(self, redis_url: str, view: LiveView) -> None:
        """Connect the hub to the live view once the app has opened its stores."""
        self.redis_url = redis_url
        self.view = view

    @property
    def viewers(self) -> int:
        return sum(len(boxes) for boxes in self._mailboxes.values())

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="totals-listen"),
            asyncio.create_task(self._poll(), name="totals-poll"),
            asyncio.create_task(self._heartbeat(), name="totals-heartbeat"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # redis-py's asyncio pub/sub can swallow a cancel; never let it hold up shutdown.
        await asyncio.wait(self._tasks, timeout=2)

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
        delivery = (total, event(slug, total))  # encoded once for every viewer
        for mailbox in self._mailboxes.get(slug, ()):
            with contextlib.suppress(asyncio.QueueEmpty):
                mailbox.get_nowait()  # drop the older figure still waiting
            mailbox.put_nowait(delivery)

    async def current(self, slug: str) -> int | None:
        total = await asyncio.to_thread(self.view.total, slug)
        if total is not None:
            self.publish(slug, total)
        return self.latest.get(slug, total)

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
                async for slug, total in updates(self.redis_url):
                    self.publish(slug, total)
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
    return f"id: {total}\nevent: total\ndata: {json.dumps({'appeal': slug, 'total': total})}\n\n"


# -- routes: the hub and the gate come with the lifespan state (see ingest.app) ---------------
async def stream(request: Request) -> Response:
    hub: TotalsHub = request.state.hub
    gate: ScreenGate = request.state.gate
    slug = request.path_params["slug"]
    token = await gate.admit(request, slug)
    first = await hub.current(slug)
    if first is None:
        raise NotFound(f"no appeal {slug!r}")
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
                    total, text = await asyncio.wait_for(mailbox.get(), timeout=TTL)
                except TimeoutError:
                    total, text = KEEP_ALIVE[0] - 1, ""  # nothing to send; time to re-check
                if time.monotonic() - checked >= TTL:
                    if not await gate.still_allowed(token, slug):
                        return  # revoked: the browser's reconnect then gets a 401
                    checked = time.monotonic()
                if total > sent or total == KEEP_ALIVE[0]:
                    sent = max(sent, total)
                    yield text
        finally:
            hub.unsubscribe(slug, mailbox)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return HeldStream(events(), release=lambda: hub.close_stream(client), headers=headers)


class HeldStream(StreamingResponse):
    """An event stream that gives its client's slot back however it ends (finished, cancelled, cut).

    The release wraps the whole response, not the generator: a generator cancelled before its
    first step never runs its ``finally``.
    """

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None], headers: dict[str, str]):
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()


async def total_txt(request: Request) -> Response:
    hub: TotalsHub = request.state.hub
    slug = request.path_params["slug"]
    await request.state.gate.admit(request, slug)
    total = await hub.current(slug)
    if total is None:
        raise NotFound(f"no appeal {slug!r}")
    return PlainTextResponse(str(total), headers={"Cache-Control": "no-cache"})


async def overlay(request: Request) -> Response:
    hub: TotalsHub = request.state.hub
    slug = request.path_params["slug"]
    token = await request.state.gate.admit(request, slug)
    figures = await asyncio.to_thread(hub.view.figures, slug)
    if figures is None:
        raise NotFound(f"no appeal {slug!r}")
    page = OVERLAY_PAGE.read_text(encoding="utf-8")
    config = {
        "slug": slug,
        # The page passes its own token on to its stream.
        "stream": f"/api/v1/appeals/{slug}/stream" + (f"?token={quote(token)}" if token else ""),
        "label": request.query_params.get("label") or figures.person or figures.title,
        "goal": figures.goal if request.query_params.get("goal", "1") != "0" else None,
        "theme": request.query_params.get("theme", "transparent"),
        "total": figures.signatures,
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
]

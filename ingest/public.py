"""The public counter: an appeal's or a campaign's figures for anyone's website, no token.

``/public/appeals/{slug}`` and ``/public/campaigns/{slug}`` (``all``: every appeal) answer
figures only: title, total, goal, signatures in the last minute and when the total last
moved; nothing about any signer.  Any site may read them (``Access-Control-Allow-Origin: *``).
Each process reads Redis at most once a second per scope, however many ask, and answers
with an ``ETag`` so a browser's re-check within ``max-age`` costs a 304 and no body.

``/embed/appeals/{slug}`` (and campaigns) is a self-contained widget for an ``<iframe>``
that polls the same figures.  An appeal made private (``campaign appeal edit SLUG
--private``) is a 404 on both, and private appeals are left out of public campaign totals.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from campaign.errors import BadRequest, error_body
from campaign.live.view import LiveView

EMBED_PAGE = Path(__file__).parent / "static" / "embed.html"
FRESH_SECONDS = 1.0  # how long a process reuses an answer
CACHE_CONTROL = "public, max-age=1"  # and browsers and proxies theirs
POLL_MS = 2000  # how often the widget asks again
MAX_CACHED = 1000  # answers kept per process; a flood of made-up slugs must not grow it for ever
CORS = {"Access-Control-Allow-Origin": "*"}

# The widget's few words; its numbers are formatted in the same language by the browser.
WORDS: dict[str, dict[str, str]] = {
    "en": {"signatures": "signatures", "goal": "goal", "last_minute": "in the last minute"},
    "nl": {"signatures": "handtekeningen", "goal": "doel", "last_minute": "in de laatste minuut"},
    "fr": {"signatures": "signatures", "goal": "objectif", "last_minute": "dans la dernière minute"},
    "de": {"signatures": "Unterschriften", "goal": "Ziel", "last_minute": "in der letzten Minute"},
    "es": {"signatures": "firmas", "goal": "meta", "last_minute": "en el último minuto"},
}
THEMES = ("light", "dark")


class PublicCounter:
    """The public figures of each scope, read from the live view at most once a second."""

    def __init__(self, view: LiveView, own_goal: Callable[[str], int | None] = lambda campaign: None):
        self.view = view
        self.own_goal = own_goal  # a campaign's own goal, as the milestone watch last read it
        self._answers: dict[tuple[str, str], tuple[float, bytes | None, str]] = {}
        self._reading: dict[tuple[str, str], asyncio.Task[tuple[bytes | None, str]]] = {}

    async def answer(self, kind: str, slug: str) -> tuple[bytes | None, str]:
        """The JSON body and its ETag; no body for an unknown or private scope."""
        key = (kind, slug)
        cached = self._answers.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1], cached[2]
        task = self._reading.get(key)
        if task is None:  # one Redis read for every request of the same second
            task = self._reading[key] = asyncio.create_task(self._read(key))
            task.add_done_callback(lambda _: self._reading.pop(key, None))
        return await asyncio.shield(task)

    async def _read(self, key: tuple[str, str]) -> tuple[bytes | None, str]:
        figures = await asyncio.to_thread(self.figures, *key)
        body = None if figures is None else json.dumps(figures, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body or b"").hexdigest()[:32] + '"'
        if len(self._answers) >= MAX_CACHED:
            self._answers.clear()
        self._answers[key] = (time.monotonic() + FRESH_SECONDS, body, etag)
        return body, etag

    def figures(self, kind: str, slug: str) -> dict[str, Any] | None:
        if kind == "appeal":
            appeal = self.view.figures(slug)
            if appeal is None or appeal.private:
                return None
            title, total, goal = appeal.title, appeal.signatures, appeal.goal
            last_minute, updated_at = appeal.last_minute, appeal.updated_at
        else:
            scope = self.view.scope_figures(slug, public=True)
            if scope is None:
                return None
            scope.own_goal = self.own_goal(slug)
            title, total, goal = scope.title, scope.signatures, scope.goal
            last_minute, updated_at = scope.last_minute, scope.updated_at
        return {
            kind: slug,
            "title": title,
            "total": total,
            "goal": goal,
            "last_minute": last_minute,
            "updated_at": updated_at,
        }


def _kind(request: Request) -> str:
    return "campaign" if "/campaigns/" in request.url.path else "appeal"


def _not_found(kind: str, slug: str) -> Response:
    # The same answer for unknown and private: a private appeal's existence is not told either.
    body = error_body(404, "not_found", f"no public {kind} {slug!r}")
    return JSONResponse(body, status_code=404, headers=CORS)


def _matches(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match", "")
    tags = {tag.strip().removeprefix("W/") for tag in given.split(",")}
    return etag in tags or "*" in tags


async def figures(request: Request) -> Response:
    kind, slug = _kind(request), request.path_params["slug"]
    body, etag = await request.state.counter.answer(kind, slug)
    if body is None:
        return _not_found(kind, slug)
    headers = {**CORS, "ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


async def embed(request: Request) -> Response:
    kind, slug = _kind(request), request.path_params["slug"]
    theme = request.query_params.get("theme", "light")
    lang = request.query_params.get("lang", "en")
    if theme not in THEMES:
        raise BadRequest(f"theme {theme!r} is not one of {', '.join(THEMES)}")
    if lang not in WORDS:
        raise BadRequest(f"lang {lang!r} is not one of {', '.join(WORDS)}")
    body, _ = await request.state.counter.answer(kind, slug)
    if body is None:
        return _not_found(kind, slug)
    config = {
        "figures": f"/public/{kind}s/{slug}",
        "first": json.loads(body),
        "theme": theme,
        "lang": lang,
        "words": WORDS[lang],
        "goal": request.query_params.get("goal", "1") != "0",
        "every": POLL_MS,
    }
    # JSON inside a script tag: "<" is escaped so no title can close the tag.
    encoded = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    page = EMBED_PAGE.read_text(encoding="utf-8").replace("/*CONFIG*/{}", encoded)
    page = page.replace('<html lang="en">', f'<html lang="{lang}">')
    headers = {
        # Inline only: nothing from anywhere else.  No frame-ancestors: any page may frame it
        # (``*`` would still refuse parents without a network origin, such as a sandboxed page).
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; connect-src 'self'",
        "Cache-Control": "public, max-age=10",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(page, headers=headers)


ROUTES = [
    Route("/public/appeals/{slug}", figures),
    Route("/public/campaigns/{slug}", figures),
    Route("/embed/appeals/{slug}", embed),
    Route("/embed/campaigns/{slug}", embed),
]

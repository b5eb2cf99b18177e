"""The session cookie: set by a tiny route of the dashboard's own server, read on every run.

Streamlit cannot set a cookie from a script, and an HttpOnly cookie must come from an HTTP
response.  So the login page opens the session (``campaign.access.sessions.start``) and
leaves a one-time hand-off code here, in this process's memory; the next run of the page
sends it with ``fetch`` to ``POST /_campaign/session`` (``dashboard.asgi`` adds the route to
Streamlit's Starlette app), which answers with the signed, HttpOnly, ``SameSite=Lax``
cookie.  The token itself never reaches the page.  The code lives 60 seconds and works once;
it travels in a custom header, which a cross-site form cannot send and a cross-site
``fetch`` cannot send without a CORS permission this route never gives.

Every new Streamlit session (a reload, a second tab, a shared link) reads the cookie with
``st.context.cookies`` (``dashboard.guard``).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from campaign.access import sessions

PATH = "/_campaign/session"
HEADER = "X-Campaign-Handoff"
LIFETIME = 60.0  # seconds a hand-off code may wait for its page to send it


@dataclass(frozen=True)
class _Handoff:
    cookie: str  # the signed cookie value
    max_age: int
    secure: bool
    deadline: float


_waiting: dict[str, _Handoff] = {}
_lock = threading.Lock()


def _key(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def offer(cookie: str, *, max_age: int, secure: bool) -> str:
    """Leave a signed cookie value for the page to collect; the one-time code that collects it."""
    code = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        for stale in [key for key, handoff in _waiting.items() if handoff.deadline <= now]:
            del _waiting[stale]
        _waiting[_key(code)] = _Handoff(cookie, max_age, secure, now + LIFETIME)
    return code


def _take(code: str) -> _Handoff | None:
    with _lock:
        handoff = _waiting.pop(_key(code), None)
    return handoff if handoff is not None and handoff.deadline > time.monotonic() else None


async def collect(request: Request) -> Response:
    """``POST /_campaign/session`` with the hand-off code: the session cookie, once."""
    code = request.headers.get(HEADER, "")
    handoff = _take(code) if code else None
    if handoff is None:
        return JSONResponse(
            {"error": "unknown, used or expired hand-off code; log in again"}, status_code=403
        )
    # Secure when the dashboard is reached over https, directly or (Origin) through the proxy.
    secure = (
        handoff.secure
        or request.url.scheme == "https"
        or request.headers.get("origin", "").startswith("https://")
    )
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        sessions.COOKIE,
        handoff.cookie,
        max_age=handoff.max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    return response


def script(code: str) -> str:
    """The page's part: send the code, once, from this page's own origin."""
    return (
        "<script>"
        f"fetch({PATH!r}, {{method: 'POST', credentials: 'same-origin', "
        f"headers: {{{HEADER!r}: {code!r}}}}});"
        "</script>"
    )


def routes() -> list[BaseRoute]:
    return [Route(PATH, collect, methods=["POST"])]

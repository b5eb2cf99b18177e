"""How the ingest app refuses: the body-size limit, and one JSON shape for every error.

``BodyLimit`` answers 413 before a body over ``MAX_BODY`` is read into memory;
``EXCEPTION_HANDLERS`` turn the core's errors, Starlette's own (404, 405), Redis being
away (503) and anything unexpected (500) into the shape of ``campaign.errors``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any

import redis
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

from campaign.errors import CampaignError, PayloadTooLarge, error_body

log = logging.getLogger("campaign.ingest")

MAX_BODY = 64 * 1024


class BodyLimit:
    """Refuse bodies over ``MAX_BODY`` with a 413 before reading them into memory."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself (see ``ingest.ratelimit.RateLimit``): one frame less per await.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                return _send_json(send, PayloadTooLarge(f"body over {self.limit} bytes").as_json(), 413)
        received = 0

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLarge(f"body over {self.limit} bytes")
            return message

        return self.app(scope, limited, send)


async def _send_json(send: Send, body: dict[str, Any], status: int) -> None:
    response = JSONResponse(body, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


async def campaign_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, CampaignError)
    if error.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, error.message)
    return JSONResponse(error.as_json(), status_code=error.status)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return JSONResponse(
        error_body(error.status_code, code, str(error.detail)),
        status_code=error.status_code,
        headers=error.headers,  # e.g. Allow on a 405
    )


async def redis_error(request: Request, error: Exception) -> Response:
    log.warning("%s %s: Redis unavailable (%s)", request.method, request.url.path, error)
    return JSONResponse(
        error_body(503, "unavailable", "live figures unavailable: redis down"), status_code=503
    )


async def unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body(500, "internal_error", "internal error"), status_code=500)


EXCEPTION_HANDLERS: Mapping[Any, ExceptionHandler] = {
    CampaignError: campaign_error,
    HTTPException: http_error,
    redis.RedisError: redis_error,
    Exception: unexpected_error,
}

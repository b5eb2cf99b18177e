"""The screen-token check in front of the broadcast feed (overlay, its stream, total.txt)
and in front of an appeal's latest signers.

Broadcast software cannot log in, so the feed's address carries a screen token
(``?token=scr_...``, or ``Authorization: Bearer scr_...``).  The latest signers (masked
numbers, countries, channels, minutes) are per-signer data: only a wall-screen (live) token
for the appeal gets them, whether or not the feed itself is public.  Checks are cached for
``TTL`` seconds, so a graphics machine polling total.txt every frame costs one database
read per few seconds, and a revoked token stops working within that time; open streams
re-check at the same pace and end when their token is revoked.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine
from starlette.requests import Request

from campaign.access import screens
from campaign.access.screens import Screen
from campaign.errors import Forbidden, Unauthorized
from campaign.storage.models import EVERY_CAMPAIGN

CAMPAIGN_SCOPE = "campaign:"  # how the feeds name a campaign's sum (see ingest.overlay)

TTL = 3.0


class ScreenGate:
    def __init__(self, required: bool, engine: Engine):
        self.required = required
        self.engine = engine
        self._screens: dict[str, tuple[float, Screen | None]] = {}
        self._campaigns: dict[str, tuple[float, str | None]] = {}

    @staticmethod
    def token(request: Request) -> str:
        given = request.query_params.get("token", "")
        header = request.headers.get("authorization", "")
        if not given and header.lower().startswith("bearer "):
            given = header[7:].strip()
        return given

    async def admit(self, request: Request, slug: str) -> str:
        """The request's token if it may read ``slug``'s figures; else a 401 or 403 saying why.

        ``slug`` is an appeal's, or ``campaign:SLUG`` for a campaign's sum (``campaign:all``: every appeal).
        """
        token = self.token(request)
        if not self.required:
            return token
        if not token:
            raise Unauthorized(
                "this feed needs a screen token: add ?token=... from `campaign screen add NAME --appeal SLUG`"
            )
        await self.allowed(token, slug)
        return token

    async def allowed(self, token: str, slug: str) -> None:
        screen = await self._screen(token)
        if screen is None:
            raise Unauthorized("screen token unknown or revoked")
        if screen.page != "on-air":  # a wall screen's link must not open the broadcast feed
            raise Forbidden(
                f"screen {screen.name!r} is a {screen.page} wall screen; the broadcast feed takes"
                " on-air screen tokens (campaign screen add NAME --page on-air)"
            )
        if slug.startswith(CAMPAIGN_SCOPE):
            campaign = slug[len(CAMPAIGN_SCOPE) :]
            if not screen.covers_campaign(campaign):
                shown = "every appeal" if campaign == EVERY_CAMPAIGN else f"campaign {campaign!r}"
                raise Forbidden(f"screen {screen.name!r} shows {screen.scope}, not {shown}")
        elif not screen.covers(slug, await self._campaign(slug) if screen.campaign else None):
            raise Forbidden(f"screen {screen.name!r} shows {screen.scope}, not appeal {slug!r}")

    async def signers(self, request: Request, slug: str) -> bool:
        """Whether this request may read ``slug``'s latest signers; a token that may not is a 401 or 403.

        Without a token the answer is False: the public figures, without the signers.
        """
        token = self.token(request)
        if not token:
            return False
        screen = await self._screen(token)
        if screen is None:
            raise Unauthorized("screen token unknown or revoked")
        if screen.page != "live":
            raise Forbidden(
                f"screen {screen.name!r} is an {screen.page} screen; the latest signers go to wall-screen"
                " tokens only (campaign screen add NAME --page live)"
            )
        if not screen.covers(slug, await self._campaign(slug) if screen.campaign or screen.rotate else None):
            raise Forbidden(f"screen {screen.name!r} shows {screen.scope}, not appeal {slug!r}")
        return True

    async def still_allowed(self, token: str, slug: str) -> bool:
        if not self.required:
            return True
        try:
            await self.allowed(token, slug)
        except (Unauthorized, Forbidden):
            return False
        return True

    async def _screen(self, token: str) -> Screen | None:
        key = screens.digest(token)
        now = time.monotonic()
        cached = self._screens.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        screen = await asyncio.to_thread(screens.verify, self.engine, token)
        if len(self._screens) > 1000:  # guessing floods must not grow the cache without bound
            self._screens.clear()
        self._screens[key] = (now + TTL, screen)
        return screen

    async def _campaign(self, slug: str) -> str | None:
        now = time.monotonic()
        cached = self._campaigns.get(slug)
        if cached is not None and cached[0] > now:
            return cached[1]
        campaign = await asyncio.to_thread(screens.campaign_of, self.engine, slug)
        if len(self._campaigns) > 1000:
            self._campaigns.clear()
        self._campaigns[slug] = (now + TTL, campaign)
        return campaign

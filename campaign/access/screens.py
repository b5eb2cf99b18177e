"""Screen tokens: an unguessable read-only link per wall screen or broadcast source.

A TV gallery's graphics machine cannot log in, so its address carries the token:
``/on-air?token=...`` on the dashboard, ``/overlay/<appeal>?token=...`` or
``/overlay/campaigns/<campaign or all>?token=...`` (and the overlay's stream and ``total.txt``)
on the ingest service.  A token shows one page (on-air or live) for its appeal, its campaign
(and that campaign's sum) or everything (and every sum), and nothing else; only its SHA-256 is stored,
and revoking it stops it at once (readers cache a check for a few seconds at most).  A rotating
wall screen's token carries its playlist (``campaign.access.rotation``) and shows exactly the
pages and scopes listed there, from ``/live?token=...``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import Engine, insert, select, update

from campaign import audit
from campaign.access import rotation
from campaign.access.rotation import Playlist
from campaign.errors import BadRequest, NotFound
from campaign.storage.models import EVERY_CAMPAIGN, Appeal, Campaign, ScreenToken, utcnow

PREFIX = "scr_"
SCREEN_PAGES = ("on-air", "live")


@dataclass(frozen=True)
class Screen:
    name: str
    page: str
    appeal: str | None
    campaign: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    rotate: str | None = None
    rotate_every: int | None = None

    @property
    def playlist(self) -> Playlist | None:
        """A rotating screen's pages and scopes (checked when the token was made)."""
        return rotation.parse(self.rotate, self.rotate_every) if self.rotate else None

    @property
    def pages(self) -> tuple[str, ...]:
        """The dashboard pages this token opens; a rotating one's always /live, where it plays."""
        playlist = self.playlist
        return tuple(dict.fromkeys((self.page, *playlist.pages))) if playlist else (self.page,)

    @property
    def scope(self) -> str:
        if self.rotate:
            return f"rotating {self.rotate} every {self.rotate_every} s"
        if self.appeal:
            return f"appeal {self.appeal}"
        return f"campaign {self.campaign}" if self.campaign else "all appeals"

    def covers(self, appeal: str, campaign: str | None) -> bool:
        """Whether this screen may show the figures of ``appeal`` (of ``campaign``).

        A rotating screen: whether one of its Live pages does (only Live shows the latest signers).
        """
        if self.playlist:
            live = (entry for entry in self.playlist.entries if entry.page == "live")
            return any(_screen_of(entry).covers(appeal, campaign) for entry in live)
        if self.appeal:
            return appeal == self.appeal
        return self.campaign is None or campaign == self.campaign

    def covers_campaign(self, campaign: str) -> bool:
        """Whether this screen may show the sum of ``campaign`` (``all``: of every appeal)."""
        if self.playlist:
            return any(_screen_of(entry).covers_campaign(campaign) for entry in self.playlist.entries)
        if self.appeal:
            return False
        return self.campaign is None or (campaign != EVERY_CAMPAIGN and campaign == self.campaign)

    def query(self) -> dict[str, str]:
        """The selection the token pins on the dashboard page."""
        if self.appeal:
            return {"appeal": self.appeal}
        return {"campaign": self.campaign} if self.campaign else {}


def _screen_of(entry: rotation.Entry) -> Screen:
    """One entry of a playlist as the one-page screen it stands for."""
    return Screen("", entry.page, entry.appeal, entry.campaign, datetime.min)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    engine: Engine,
    name: str,
    *,
    page: str = "on-air",
    appeal: str | None = None,
    campaign: str | None = None,
    rotate: Playlist | None = None,
    actor: str,
) -> str:
    """Make a screen token; the clear token is returned once and never stored.

    A rotating screen (``rotate``) names its pages and scopes in the playlist, so it takes
    no ``appeal`` or ``campaign`` of its own; it opens at ``/live``.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise BadRequest("screen name: 1 to 100 characters, e.g. 'RTL studio 2'")
    if page not in SCREEN_PAGES:
        raise BadRequest(f"screen page {page!r} is not one of {', '.join(SCREEN_PAGES)}")
    if appeal and campaign:
        raise BadRequest("a screen shows one appeal or one campaign, not both")
    if rotate is not None:
        if appeal or campaign:
            raise BadRequest(
                "a rotating screen names its appeals and campaigns in --rotate, not --appeal or --campaign"
            )
        if "map" in rotate.pages:
            raise BadRequest(
                "rotate: the map needs a login (staff); a screen link rotates through live and on-air"
            )
        page = "live"
    if campaign == EVERY_CAMPAIGN:
        campaign = None  # the reserved campaign of everything: a screen with no appeal or campaign
    token = PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        if appeal and connection.scalar(select(Appeal.id).where(Appeal.slug == appeal)) is None:
            raise NotFound(f"no appeal {appeal!r}")
        if campaign and connection.scalar(select(Campaign.id).where(Campaign.slug == campaign)) is None:
            raise NotFound(f"no campaign {campaign!r}")
        if connection.scalar(select(ScreenToken.id).where(ScreenToken.name == name)) is not None:
            raise BadRequest(f"a screen named {name!r} exists already")
        if rotate is not None:
            rotation.check(connection, rotate)
        connection.execute(
            insert(ScreenToken).values(
                name=name,
                token_hash=digest(token),
                page=page,
                appeal=appeal or None,
                campaign=campaign or None,
                rotate=rotate.text if rotate else None,
                rotate_every=rotate.every if rotate else None,
                created_at=utcnow(),
            )
        )
    detail: dict[str, object] = {"page": page, "appeal": appeal, "campaign": campaign}
    if rotate is not None:
        detail |= {"rotate": rotate.text, "every": rotate.every}
    audit.record(engine, actor, "screen.add", name, detail)
    return token


def verify(engine: Engine, token: str) -> Screen | None:
    """The screen of a valid, unrevoked token, or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    with engine.begin() as connection:
        row = connection.execute(
            select(ScreenToken.id, *_COLUMNS).where(
                ScreenToken.token_hash == digest(token), ScreenToken.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            return None
        connection.execute(update(ScreenToken).where(ScreenToken.id == row.id).values(last_used_at=utcnow()))
    return Screen(*tuple(row)[1:])


def campaign_of(engine: Engine, appeal: str) -> str | None:
    with engine.connect() as connection:
        return connection.scalar(
            select(Campaign.slug).join(Appeal, Appeal.campaign_id == Campaign.id).where(Appeal.slug == appeal)
        )


def revoke(engine: Engine, name: str, *, actor: str) -> None:
    with engine.begin() as connection:
        done = connection.execute(
            update(ScreenToken)
            .where(ScreenToken.name == name, ScreenToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
    if not done:
        raise NotFound(f"no active screen named {name!r}")
    audit.record(engine, actor, "screen.revoke", name)


def listing(engine: Engine) -> list[Screen]:
    with engine.connect() as connection:
        rows = connection.execute(select(*_COLUMNS).order_by(ScreenToken.name)).all()
    return [Screen(*row) for row in rows]


def urls(screen: Screen, token: str, dashboard_url: str, ingest_url: str) -> dict[str, str]:
    """The addresses to paste into a browser source, by what they are."""
    t = quote(token)
    found = {"dashboard": f"{dashboard_url}/{screen.page}?token={t}"}
    if screen.page != "on-air":  # only on-air tokens open the broadcast feed
        return found
    if screen.appeal:
        found["overlay"] = f"{ingest_url}/overlay/{screen.appeal}?token={t}"
        found["total.txt"] = f"{ingest_url}/api/v1/appeals/{screen.appeal}/total.txt?token={t}"
    else:
        campaign = screen.campaign or EVERY_CAMPAIGN
        found["overlay"] = f"{ingest_url}/overlay/campaigns/{campaign}?token={t}"
        found["total.txt"] = f"{ingest_url}/api/v1/campaigns/{campaign}/total.txt?token={t}"
    return found


_COLUMNS = (
    ScreenToken.name,
    ScreenToken.page,
    ScreenToken.appeal,
    ScreenToken.campaign,
    ScreenToken.created_at,
    ScreenToken.revoked_at,
    ScreenToken.last_used_at,
    ScreenToken.rotate,
    ScreenToken.rotate_every,
)

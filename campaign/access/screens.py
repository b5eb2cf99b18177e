"""Screen tokens: an unguessable read-only link per wall screen or broadcast source.

A TV gallery's graphics machine cannot log in, so its address carries the token:
``/on-air?token=...`` on the dashboard, ``/overlay/<appeal>?token=...`` or
``/overlay/campaigns/<campaign or all>?token=...`` (and the overlay's stream and ``total.txt``)
on the ingest service.  A token shows one page (on-air or live) for its appeal, its campaign
(and that campaign's sum) or everything (and every sum), and nothing else; only its SHA-256 is stored,
and revoking it stops it at once (readers cache a check for a few seconds at most).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import Engine, insert, select, update

from campaign import audit
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

    @property
    def scope(self) -> str:
        if self.appeal:
            return f"appeal {self.appeal}"
        return f"campaign {self.campaign}" if self.campaign else "all appeals"

    def covers(self, appeal: str, campaign: str | None) -> bool:
        """Whether this screen may show the figures of ``appeal`` (of ``campaign``)."""
        if self.appeal:
            return appeal == self.appeal
        return self.campaign is None or campaign == self.campaign

    def covers_campaign(self, campaign: str) -> bool:
        """Whether this screen may show the sum of ``campaign`` (``all``: of every appeal)."""
        if self.appeal:
            return False
        return self.campaign is None or (campaign != EVERY_CAMPAIGN and campaign == self.campaign)

    def query(self) -> dict[str, str]:
        """The selection the token pins on the dashboard page."""
        if self.appeal:
            return {"appeal": self.appeal}
        return {"campaign": self.campaign} if self.campaign else {}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    engine: Engine,
    name: str,
    *,
    page: str = "on-air",
    appeal: str | None = None,
    campaign: str | None = None,
    actor: str,
) -> str:
    """Make a screen token; the clear token is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise BadRequest("screen name: 1 to 100 characters, e.g. 'RTL studio 2'")
    if page not in SCREEN_PAGES:
        raise BadRequest(f"screen page {page!r} is not one of {', '.join(SCREEN_PAGES)}")
    if appeal and campaign:
        raise BadRequest("a screen shows one appeal or one campaign, not both")
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
        connection.execute(
            insert(ScreenToken).values(
                name=name,
                token_hash=digest(token),
                page=page,
                appeal=appeal or None,
                campaign=campaign or None,
                created_at=utcnow(),
            )
        )
    audit.record(engine, actor, "screen.add", name, {"page": page, "appeal": appeal, "campaign": campaign})
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
    return Screen(*row[1:])


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
)

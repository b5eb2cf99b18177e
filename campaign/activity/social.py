"""Social activity and web visits: stored once per platform id, tallied per campaign.

Every source (Meta webhooks, the Flickr poller, the events API, the referral beacon)
hands ``SocialInput`` items to ``record``; it resolves the campaign, stores each event
once (``ON CONFLICT DO NOTHING`` on platform and external id), and bumps the campaign's
tallies in the same transaction, returning their new values for the live view.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import Connection, Engine, select

from campaign.errors import BadRequest, NotFound
from campaign.history import rollups
from campaign.live.view import LiveView
from campaign.storage import shards
from campaign.storage.db import dialect_insert
from campaign.storage.models import Appeal, Campaign, CampaignTally, SocialAccount, SocialEvent, utcnow

log = logging.getLogger("campaign.social")

PLATFORMS = frozenset(
    {"facebook", "instagram", "flickr", "twitter", "youtube", "tiktok", "whatsapp", "web", "email", "other"}
)
KINDS = frozenset({"join", "post", "comment", "reaction", "share", "photo", "video", "mention", "visit"})
MAX_ATTRIBUTES = 4096  # bytes of JSON per event
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future a sender's clock may be


@dataclass(frozen=True)
class SocialInput:
    platform: str
    kind: str
    external_id: str
    occurred_at: datetime
    campaign: str | None = None  # campaign slug; or give the appeal
    appeal: str | None = None
    country: str | None = None
    actor_hash: str | None = None  # keyed hash of the platform user, never the id itself
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class SocialResult:
    stored: int = 0
    duplicates: int = 0
    tallies: dict[str, dict[str, int]] = field(default_factory=dict)  # campaign slug -> field -> count


def validate(item: SocialInput) -> SocialInput:
    """Check one event; raise BadRequest naming the field."""
    if item.platform not in PLATFORMS:
        raise BadRequest(f"platform {item.platform!r} is not one of {', '.join(sorted(PLATFORMS))}")
    if item.kind not in KINDS:
        raise BadRequest(f"kind {item.kind!r} is not one of {', '.join(sorted(KINDS))}")
    if not item.external_id or len(item.external_id) > 191:
        raise BadRequest("external_id: 1 to 191 characters")
    if item.campaign is None and item.appeal is None:
        raise BadRequest("give the campaign or the appeal")
    if item.occurred_at.tzinfo is None:
        raise BadRequest("occurred_at needs a time zone (e.g. 2008-02-27T20:15:00Z)")
    if item.occurred_at > datetime.now(UTC) + CLOCK_SKEW:
        raise BadRequest("occurred_at is in the future")
    if item.country is not None and (len(item.country) != 2 or not item.country.isalpha()):
        raise BadRequest("country: the two-letter ISO code, e.g. KE")
    if len(json.dumps(item.attributes, default=str)) > MAX_ATTRIBUTES:
        raise BadRequest(f"attributes: at most {MAX_ATTRIBUTES} bytes of JSON")
    return item


def record(engine: Engine, items: list[SocialInput]) -> SocialResult:
    """Store events not seen before and bump their campaigns' tallies, in one transaction."""
    result = SocialResult()
    if not items:
        return result
    with engine.connect() as connection:
        with connection.begin():
            campaigns, increments = _store(connection, items, result)
        # After the commit: figures that include every commit before ours (see shards.committed).
        figures = shards.committed(connection, CampaignTally.__table__, increments) or {}
    slug_of = {campaign_id: slug for slug, campaign_id in campaigns.items()}
    for (campaign_id, kind, name), count in figures.items():
        result.tallies.setdefault(slug_of[campaign_id], {})[f"{kind}:{name}"] = count
    return result


def _store(
    connection: Connection, items: list[SocialInput], result: SocialResult
) -> tuple[dict[str, int], Counter[tuple[int, str, str]]]:
    """Store the events not seen before, add them to the rollups and to this transaction's shard
    of the campaign tallies; returns the campaigns by slug and what was added to the tallies."""
    campaigns, appeals = _scopes(connection)
    rows: list[dict[str, Any]] = []
    for item in items:
        validate(item)
        if item.appeal is not None:
            if item.appeal not in appeals:
                raise NotFound(f"no appeal {item.appeal!r}")
            appeal_id, campaign_id = appeals[item.appeal]
        else:
            if item.campaign not in campaigns:
                raise NotFound(f"no campaign {item.campaign!r}")
            appeal_id, campaign_id = None, campaigns[str(item.campaign)]
        rows.append(
            {
                "campaign_id": campaign_id,
                "appeal_id": appeal_id,
                "platform": item.platform,
                "kind": item.kind,
                "external_id": item.external_id,
                "occurred_at": item.occurred_at.astimezone(UTC),
                "received_at": utcnow(),
                "country": item.country.upper() if item.country else None,
                "actor_hash": item.actor_hash,
                "attributes": item.attributes,
            }
        )
    rows.sort(key=lambda row: (row["platform"], row["external_id"]))
    table = SocialEvent.__table__
    statement = (
        dialect_insert(connection, table)
        .on_conflict_do_nothing()
        .returning(table.c.platform, table.c.external_id)
    )
    new = {(p, e) for p, e in connection.execute(statement, rows)}
    increments: Counter[tuple[int, str, str]] = Counter()
    stored: list[dict[str, Any]] = []
    for row in rows:
        key = (row["platform"], row["external_id"])
        if key not in new:
            result.duplicates += 1
            continue
        new.discard(key)  # the same id twice in one batch counts once
        result.stored += 1
        stored.append(row)
        if row["kind"] == "visit":
            referrer = str(row["attributes"].get("referrer") or "direct")
            increments[(row["campaign_id"], "visits", referrer)] += 1
        else:
            increments[(row["campaign_id"], "social", f"{row['platform']}:{row['kind']}")] += 1
    rollups.add_social(connection, stored)
    shards.add(connection, CampaignTally.__table__, increments)
    return campaigns, increments


def record_live(engine: Engine, live: LiveView, items: list[SocialInput]) -> SocialResult:
    """Record, then copy the new tallies to the live view.

    The events are committed before Redis is touched, so a Redis outage loses nothing: it
    is logged, not raised, and the next write or ``campaign reconcile`` brings the screens
    back in line with the database.
    """
    result = record(engine, items)
    try:
        live.apply_campaigns(result.tallies)
    except (redis.RedisError, OSError) as error:
        log.warning("social tallies not copied to Redis (%s); `campaign reconcile` will", error)
    return result


def scopes(engine: Engine) -> tuple[set[str], set[str]]:
    """The campaign slugs and appeal slugs there are, to check a batch item by item."""
    with engine.connect() as connection:
        campaigns, appeals = _scopes(connection)
    return set(campaigns), set(appeals)


def _scopes(connection: Connection) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    campaigns = {slug: cid for cid, slug in connection.execute(select(Campaign.id, Campaign.slug))}
    appeals = {
        slug: (aid, cid)
        for aid, slug, cid in connection.execute(select(Appeal.id, Appeal.slug, Appeal.campaign_id))
    }
    return campaigns, appeals


def link_account(engine: Engine, campaign: str, platform: str, external_id: str, name: str = "") -> None:
    """Say which campaign a page, group or account carries (e.g. a Facebook group)."""
    if platform not in PLATFORMS:
        raise BadRequest(f"platform {platform!r} is not one of {', '.join(sorted(PLATFORMS))}")
    with engine.begin() as connection:
        campaign_id = connection.scalar(select(Campaign.id).where(Campaign.slug == campaign))
        if campaign_id is None:
            raise NotFound(f"no campaign {campaign!r}")
        table = SocialAccount.__table__
        insert = dialect_insert(connection, table)
        connection.execute(
            insert.values(
                campaign_id=campaign_id, platform=platform, external_id=external_id, name=name
            ).on_conflict_do_update(
                index_elements=[table.c.platform, table.c.external_id],
                set_={"campaign_id": campaign_id, "name": name},
            )
        )


def campaign_of_account(engine: Engine, platform: str, external_id: str) -> str | None:
    """The campaign slug a page or group belongs to, or None if nobody linked it."""
    with engine.connect() as connection:
        return connection.scalar(
            select(Campaign.slug)
            .join(SocialAccount, SocialAccount.campaign_id == Campaign.id)
            .where(SocialAccount.platform == platform, SocialAccount.external_id == external_id)
        )

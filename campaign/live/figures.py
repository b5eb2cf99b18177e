"""Reading the live figures from Redis: an appeal's and a campaign's figures, moved totals.

A campaign's total (or every appeal's, campaign ``all``) is the sum of its appeals' totals
as Redis keeps them; each of those only grows (see ``campaign.live.writes``), so the sum
read later is never smaller than one read earlier, and it is exact: nothing is kept twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio

from campaign.activity.geo import country_name
from campaign.live import cluster
from campaign.live.cluster import plain_url
from campaign.live.keys import (
    APPEALS,
    MINUTES_KEPT,
    NETWORK_TALLY,
    READY,
    appeal_key,
    campaign_key,
    updates_channel,
)
from campaign.storage.models import EVERY_CAMPAIGN

SOCIAL_PLATFORMS = frozenset({"facebook", "instagram", "flickr", "twitter", "youtube", "tiktok", "whatsapp"})


@dataclass
class CampaignFigures:
    """A campaign's live social figures: activity per platform and kind, web visits by referrer."""

    slug: str
    social: dict[str, dict[str, int]] = field(default_factory=dict)  # platform -> kind -> count
    visits: dict[str, int] = field(default_factory=dict)  # referring platform or "direct" -> count

    @property
    def visits_from_social(self) -> float | None:
        """Share of web visits referred by a social platform (the "15% through Facebook")."""
        total = sum(self.visits.values())
        if not total:
            return None
        return sum(n for k, n in self.visits.items() if k in SOCIAL_PLATFORMS) / total

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.slug,
            "social": self.social,
            "visits": self.visits,
            "visits_from_social": self.visits_from_social,
        }


@dataclass
class AppealFigures:
    """An appeal's live figures as the API and the screens show them."""

    slug: str
    title: str = ""
    person: str = ""
    campaign: str = ""
    status: str = ""
    goal: int | None = None
    signatures: int = 0
    last_minute: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    countries: list[dict[str, Any]] = field(default_factory=list)
    per_minute: list[dict[str, Any]] = field(default_factory=list)
    # The latest signers (masked number, country, channel, minute): per-signer data, for
    # logged-in users and wall-screen tokens only, never in a public answer.
    recent: list[dict[str, Any]] = field(default_factory=list)
    updated_at: str | None = None
    campaign_name: str = ""
    private: bool = False  # kept off the public counter and widget

    def as_json(self, *, detail: bool = True, signers: bool = False) -> dict[str, Any]:
        """The figures as the API answers them; ``signers`` adds the latest signers (never public)."""
        data: dict[str, Any] = {
            "slug": self.slug,
            "title": self.title,
            "person": self.person,
            "campaign": self.campaign,
            "status": self.status,
            "goal": self.goal,
            "signatures": self.signatures,
            "signatures_last_minute": self.last_minute,
            "channels": self.channels,
            "top_countries": self.countries,
            "updated_at": self.updated_at,
        }
        if detail:
            data["per_minute"] = self.per_minute
        if signers:
            data["recent"] = self.recent
        return data


@dataclass(frozen=True)
class AppealTotal:
    """An appeal's place and total, as a campaign's sum needs it, and its milestones."""

    slug: str
    campaign: str
    private: bool
    total: int
    milestones: tuple[int, ...] = ()


@dataclass
class ScopeFigures:
    """The summed figures of a campaign's appeals, or of every appeal (campaign ``all``)."""

    campaign: str
    title: str
    appeals: list[AppealFigures]
    own_goal: int | None = None  # the campaign's own goal (campaign.appeals.goals), if it has one

    @property
    def signatures(self) -> int:
        return sum(a.signatures for a in self.appeals)

    @property
    def last_minute(self) -> int:
        return sum(a.last_minute for a in self.appeals)

    @property
    def goal(self) -> int | None:
        """The campaign's own goal; else the sum of the appeals' goals, only if each has one."""
        if self.own_goal:
            return self.own_goal
        if not self.appeals or any(not a.goal for a in self.appeals):
            return None
        return sum(a.goal or 0 for a in self.appeals)

    @property
    def updated_at(self) -> str | None:
        return max((a.updated_at for a in self.appeals if a.updated_at), default=None)

    def as_json(self, *, top: int = 10) -> dict[str, Any]:
        channels: dict[str, int] = {}
        countries: dict[str, int] = {}
        for a in self.appeals:
            for name, n in a.channels.items():
                channels[name] = channels.get(name, 0) + n
            for row in a.countries:
                countries[row["country"]] = countries.get(row["country"], 0) + row["signatures"]
        ranked = sorted(countries.items(), key=lambda item: (-item[1], item[0]))[:top]
        return {
            "campaign": self.campaign,
            "title": self.title,
            "goal": self.goal,
            "signatures": self.signatures,
            "signatures_last_minute": self.last_minute,
            "channels": channels,
            "top_countries": [
                {"country": code, "name": country_name(code), "signatures": n} for code, n in ranked
            ],
            "appeals": [
                {"slug": a.slug, "title": a.title, "status": a.status, "signatures": a.signatures}
                for a in self.appeals
            ],
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Milestone:
    """A milestone a scope's total passed, as announced once (see campaign.appeals.milestones)."""

    scope: str  # "appeal:hassan"
    milestone: int
    at: str

    def as_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "milestone": self.milestone, "at": self.at}


async def updates(url: str) -> AsyncIterator[tuple[str, int] | Milestone]:
    """What the channel announces, until cancelled: moved totals as (appeal slug, total), and
    milestones passed."""
    # On a cluster every node passes every published message on: its seed node will do.
    client = redis.asyncio.Redis.from_url(plain_url(url), decode_responses=True, socket_connect_timeout=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(updates_channel(client))
        async for message in pubsub.listen():
            try:
                data = json.loads(message["data"])
                if "milestone" in data:
                    yield Milestone(str(data["scope"]), int(data["milestone"]), str(data["at"]))
                else:
                    yield str(data["appeal"]), int(data["total"])
            except (ValueError, KeyError, TypeError):
                continue  # not ours; the channel is public to every Redis client
    finally:
        await pubsub.aclose()
        await client.aclose()


class LiveReads:
    """The figures as the API and the screens read them."""

    redis: redis.Redis

    def slugs(self) -> list[str]:
        return sorted(self.redis.smembers(APPEALS))  # type: ignore[arg-type]

    def is_ready(self) -> bool:
        """Built from the database and nothing lost since (on a cluster: no master came back empty)."""
        if not cluster.is_cluster(self.redis):
            return bool(self.redis.exists(READY))
        keys = [READY, *cluster.markers(self.redis)]
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return all(pipe.execute())

    def members(self) -> int:
        return int(self.redis.hget(NETWORK_TALLY, "members") or 0)

    def figures(self, slug: str, *, now: float | None = None, top: int = 10) -> AppealFigures | None:
        many = self.many_figures([slug], now=now, top=top)
        return many[0] if many else None

    def many_figures(
        self, slugs: Iterable[str], *, now: float | None = None, top: int = 10
    ) -> list[AppealFigures]:
        slugs = list(slugs)
        pipe = self.redis.pipeline(transaction=False)
        for slug in slugs:
            pipe.hgetall(appeal_key(slug, "meta"))
            pipe.hgetall(appeal_key(slug, "tally"))
            pipe.hgetall(appeal_key(slug, "minutes"))
            pipe.hgetall(appeal_key(slug, "seconds"))
            pipe.lrange(appeal_key(slug, "recent"), 0, 19)
        results = pipe.execute()
        moment = time.time() if now is None else now
        figures = []
        for i, slug in enumerate(slugs):
            meta, tally, minutes, seconds, recent = results[i * 5 : i * 5 + 5]
            if not meta:
                continue
            figures.append(_appeal_figures(slug, meta, tally, minutes, seconds, recent, moment, top))
        return figures

    def appeal_totals(self) -> list[AppealTotal]:
        """Every appeal's campaign and total, in one round trip: what campaign sums are made of."""
        slugs = self.slugs()
        pipe = self.redis.pipeline(transaction=False)
        for slug in slugs:
            pipe.hmget(appeal_key(slug, "meta"), ["campaign", "private", "milestones"])
            pipe.hget(appeal_key(slug, "tally"), "total")
        results = pipe.execute()
        found = []
        for i, slug in enumerate(slugs):
            (campaign, private, marks), total = results[2 * i], results[2 * i + 1]
            if campaign is not None:  # an appeal without its meta is not one yet
                milestones = tuple(int(m) for m in (marks or "").split(",") if m.isdigit())
                found.append(AppealTotal(slug, campaign, private == "1", int(total or 0), milestones))
        return found

    def scope_figures(
        self, campaign: str, *, public: bool = False, now: float | None = None
    ) -> ScopeFigures | None:
        """A campaign's summed figures (``all``: every appeal's); None for an unknown campaign.

        ``public`` leaves out the appeals kept private (and a campaign with only those is unknown).
        """
        everything = campaign == EVERY_CAMPAIGN
        members = [
            t.slug
            for t in self.appeal_totals()
            if (everything or t.campaign == campaign) and not (public and t.private)
        ]
        if not members and not everything:
            return None
        appeals = [
            a for a in self.many_figures(members, now=now) if not (public and a.private)
        ]  # re-checked: made private between the two reads
        if not appeals and not everything:
            return None
        if everything:
            title = "All appeals"
        else:
            title = next((a.campaign_name for a in appeals if a.campaign_name), "") or campaign
        return ScopeFigures(campaign, title, appeals)

    def total(self, slug: str) -> int | None:
        value = self.redis.hget(appeal_key(slug, "tally"), "total")
        exists = value is not None or self.redis.exists(appeal_key(slug, "meta"))
        return int(value or 0) if exists else None

    def campaign_figures(self, slug: str) -> CampaignFigures:
        stored: dict[str, str] = self.redis.hgetall(campaign_key(slug, "tally"))  # type: ignore[assignment]
        figures = CampaignFigures(slug)
        for name, value in stored.items():
            kind, _, rest = name.partition(":")
            if kind == "social":
                platform, _, action = rest.partition(":")
                figures.social.setdefault(platform, {})[action] = int(value)
            elif kind == "visits":
                figures.visits[rest] = int(value)
        return figures


def _appeal_figures(
    slug: str,
    meta: dict[str, str],
    tally: dict[str, str],
    minutes: dict[str, str],
    seconds: dict[str, str],
    recent: list[str],
    now: float,
    top: int,
) -> AppealFigures:
    channels: dict[str, int] = {}
    countries: dict[str, int] = {}
    for name, value in tally.items():
        if name.startswith("channel:"):
            channels[name[8:]] = int(value)
        elif name.startswith("country:"):
            countries[name[8:]] = int(value)
    ranked = sorted(countries.items(), key=lambda item: (-item[1], item[0]))[:top]
    current_minute = int(now) // 60
    per_minute = [
        {
            "minute": datetime.fromtimestamp(m * 60, UTC).isoformat(timespec="minutes"),
            "signatures": int(minutes.get(str(m), 0)),
        }
        for m in range(current_minute - MINUTES_KEPT + 1, current_minute + 1)
    ]
    last_minute = sum(int(v) for k, v in seconds.items() if now - 60 < int(k) <= now)
    goal = meta.get("goal")
    return AppealFigures(
        slug=slug,
        title=meta.get("title", ""),
        person=meta.get("person", ""),
        campaign=meta.get("campaign", ""),
        status=meta.get("status", ""),
        goal=int(goal) if goal else None,
        signatures=int(tally.get("total", 0)),
        last_minute=last_minute,
        channels=channels,
        countries=[{"country": code, "name": country_name(code), "signatures": n} for code, n in ranked],
        per_minute=per_minute,
        recent=[_to_the_minute(json.loads(entry)) for entry in recent],
        updated_at=tally.get("updated_at"),
        campaign_name=meta.get("campaign_name", ""),
        private=meta.get("private") == "1",
    )


def _to_the_minute(entry: dict[str, Any]) -> dict[str, Any]:
    """A ticker entry with its time cut to the minute: the second would single out one text."""
    at = entry.get("at")
    if isinstance(at, str):
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return {**entry, "at": None}
        entry = {**entry, "at": moment.replace(second=0, microsecond=0).isoformat(timespec="minutes")}
    return entry

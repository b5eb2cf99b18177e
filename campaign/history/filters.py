"""What staff filter history on, checked, and resolved against the database.

``Filters`` are what a person picks (local dates, slugs, codes); ``checked`` checks each
value's form, and ``scope`` checks them against the database and turns them into ids and
UTC hour bounds (a ``Scope``), which every query of ``campaign.history.queries`` takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from campaign.appeals.outcomes import KINDS
from campaign.errors import BadRequest
from campaign.history import rollups
from campaign.storage.models import Appeal, Campaign, Outcome

# Outcome filter values beside the kinds themselves.
OUTCOME_GROUPS = {"good": "a good outcome", "bad": "an outcome that was not good", "none": "no outcome yet"}
CHANNEL = re.compile(r"^[a-z0-9_-]{1,16}$")
PROVIDER = re.compile(r"^[a-z0-9_.-]{1,32}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
HOURLY_UP_TO = timedelta(days=21)  # longer ranges are drawn per day


# Each list filter's name in a URL, on the command line and in an export's filters block.
FILTER_NAMES = {
    "campaigns": "campaign",
    "appeals": "appeal",
    "channels": "channel",
    "providers": "provider",
    "countries": "country",
    "platforms": "platform",
    "outcome": "outcome",
}


@dataclass(frozen=True)
class Filters:
    """What a person filtered: local dates (inclusive) and lists of slugs, names and codes."""

    start: date | None = None
    end: date | None = None
    campaigns: tuple[str, ...] = ()
    appeals: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    outcome: str | None = None

    def described(self) -> list[tuple[str, str]]:
        """(filter, value) for every filter, "all" where none was set: written into exports."""
        out = [
            ("from", self.start.isoformat() if self.start else "all"),
            ("to", self.end.isoformat() if self.end else "all"),
        ]
        for name, label in FILTER_NAMES.items():
            value = getattr(self, name)
            shown = ",".join(value) if isinstance(value, tuple) else value
            out.append((label, shown or "all"))
        return out

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly, for the audit log."""
        return {name: value for name, value in self.described() if value != "all"}


def checked(filters: Filters) -> Filters:
    """The same filters with each value's form checked; a bad one is a ``BadRequest`` naming it."""
    if filters.start and filters.end and filters.start > filters.end:
        raise BadRequest(f"from {filters.start} is after to {filters.end}")
    _each(filters.campaigns, SLUG, "campaign", "a slug such as torture")
    _each(filters.appeals, SLUG, "appeal", "a slug such as hassan")
    _each(filters.channels, CHANNEL, "channel", "a word such as sms or web")
    _each(filters.providers, PROVIDER, "provider", "a name such as twilio")
    _each(filters.countries, COUNTRY, "country", "a two-letter ISO code such as NL")
    _each(filters.platforms, CHANNEL, "platform", "a word such as facebook")
    if filters.outcome is not None and filters.outcome not in KINDS and filters.outcome not in OUTCOME_GROUPS:
        choices = ", ".join([*OUTCOME_GROUPS, *KINDS])
        raise BadRequest(f"outcome {filters.outcome!r} is not one of {choices}")
    return filters


def _each(values: Sequence[str], pattern: re.Pattern[str], name: str, example: str) -> None:
    for value in values:
        if not pattern.match(value):
            raise BadRequest(f"{name} {value!r} is not {example}")


@dataclass(frozen=True)
class Scope:
    """Filters resolved against the database: ids and UTC hour bounds (end exclusive)."""

    filters: Filters
    tz: ZoneInfo
    start_hour: int | None
    end_hour: int | None
    appeal_ids: tuple[int, ...] | None  # None: every appeal (and members who joined with none)
    campaign_ids: tuple[int, ...] | None  # for social activity
    appeals: dict[int, dict[str, Any]] = field(default_factory=dict)  # every appeal by id

    @property
    def empty(self) -> bool:
        return self.appeal_ids == ()

    def within_days(self, first_day: int, last_day: int) -> Scope:
        """This scope narrowed to UTC days ``first_day``..``last_day`` (epoch days), where all
        its data lies: the same figures, drawn per hour when the days are few."""
        start, end = first_day * 24, (last_day + 1) * 24
        return replace(
            self,
            start_hour=start if self.start_hour is None else max(self.start_hour, start),
            end_hour=end if self.end_hour is None else min(self.end_hour, end),
        )

    @property
    def hourly(self) -> bool:
        """Whether the time series is drawn per hour (short ranges) rather than per day."""
        if self.start_hour is None or self.end_hour is None:
            return False
        return (self.end_hour - self.start_hour) * 3600 <= HOURLY_UP_TO.total_seconds()


def scope(connection: Connection, filters: Filters, tz: ZoneInfo) -> Scope:
    """Check the filters and resolve them; an unknown appeal or campaign is a ``BadRequest``."""
    filters = checked(filters)
    appeals = _appeals(connection)
    by_slug = {row["slug"]: appeal_id for appeal_id, row in appeals.items()}
    campaigns = dict(connection.execute(select(Campaign.slug, Campaign.id)).all())
    for slug in filters.campaigns:
        if slug not in campaigns:
            raise BadRequest(f"no campaign {slug!r}")
    for slug in filters.appeals:
        if slug not in by_slug:
            raise BadRequest(f"no appeal {slug!r}")
    ids: set[int] | None = None
    if filters.appeals:
        ids = {by_slug[slug] for slug in filters.appeals}
    if filters.campaigns:
        chosen = {campaigns[slug] for slug in filters.campaigns}
        in_campaigns = {i for i, row in appeals.items() if row["campaign_id"] in chosen}
        ids = in_campaigns if ids is None else ids & in_campaigns
    if filters.outcome is not None:
        matching = {i for i, row in appeals.items() if _outcome_matches(row, filters.outcome)}
        ids = matching if ids is None else ids & matching
    campaign_ids: tuple[int, ...] | None = None
    if ids is not None:
        campaign_ids = tuple(sorted({appeals[i]["campaign_id"] for i in ids}))
    start_hour = rollups.hour_of(datetime.combine(filters.start, time(0), tz)) if filters.start else None
    end_hour = None
    if filters.end:
        end_hour = -(-_epoch(datetime.combine(filters.end + timedelta(days=1), time(0), tz)) // 3600)
    return Scope(
        filters=filters,
        tz=tz,
        start_hour=start_hour,
        end_hour=end_hour,
        appeal_ids=tuple(sorted(ids)) if ids is not None else None,
        campaign_ids=campaign_ids,
        appeals=appeals,
    )


def _epoch(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def _outcome_matches(row: Mapping[str, Any], wanted: str) -> bool:
    kind, good = row["outcome"], row["good"]
    if wanted == "none":
        return kind is None
    if wanted == "good":
        return kind is not None and bool(good)
    if wanted == "bad":
        return kind is not None and not good
    return bool(kind == wanted)


def _appeals(connection: Connection) -> dict[int, dict[str, Any]]:
    """Every appeal with its campaign and latest outcome (a few hundred rows at most)."""
    latest = (
        select(Outcome.appeal_id, func.max(Outcome.id).label("id")).group_by(Outcome.appeal_id).subquery()
    )
    rows = connection.execute(
        select(
            Appeal.id,
            Appeal.slug,
            Appeal.title,
            Appeal.country,
            Appeal.status,
            Appeal.opened_at,
            Appeal.campaign_id,
            Campaign.slug.label("campaign"),
            Outcome.kind.label("outcome"),
            Outcome.good,
            Outcome.occurred_at.label("outcome_at"),
        )
        .join(Campaign, Campaign.id == Appeal.campaign_id)
        .outerjoin(latest, latest.c.appeal_id == Appeal.id)
        .outerjoin(Outcome, Outcome.id == latest.c.id)
        .order_by(Appeal.opened_at, Appeal.id)
    ).mappings()
    return {row["id"]: dict(row) for row in rows}

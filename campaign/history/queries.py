"""The read path for history: what staff filter on the History page and export.

``Filters`` are what a person picks (local dates, slugs, codes); ``scope`` checks them
against the database and turns them into ids and UTC hour bounds.  Each query is one
function of parameterised SQLAlchemy Core over the rollups (``campaign.history.rollups``): the
whole calendar months of the range are read from ``signature_months``, the days left at
its ends from ``signature_days`` and the hours left at theirs from ``signature_hours``,
so a three-year view reads a few thousand rows and is still exact to the hour.
``rollups=False`` asks the same of the raw tables (the benchmark's comparison).  Results
are plain rows or DataFrames; pandas is imported where needed.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    cast,
    func,
    literal,
    select,
    union_all,
)

from campaign.appeals.outcomes import KINDS
from campaign.errors import BadRequest
from campaign.history import rollups
from campaign.storage.models import (
    Appeal,
    Campaign,
    InboundMessage,
    MemberHour,
    Outcome,
    Signature,
    SignatureDay,
    SignatureHour,
    SignatureMonth,
    SocialEvent,
    SocialHour,
    Supporter,
)

if TYPE_CHECKING:
    import pandas as pd

# Outcome filter values beside the kinds themselves.
OUTCOME_GROUPS = {"good": "a good outcome", "bad": "an outcome that was not good", "none": "no outcome yet"}
CHANNEL = re.compile(r"^[a-z0-9_-]{1,16}$")
PROVIDER = re.compile(r"^[a-z0-9_.-]{1,32}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
HOURLY_UP_TO = timedelta(days=21)  # longer ranges are drawn per day
PEAKS = 5
OPEN_AT_ONCE = 24  # days opened by one query when looking for the busiest hours
DIRECT_PEAKS_APPEALS = 20  # up to this many appeals, the busiest hours are read directly


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


# -- the signatures in scope, as parts of the rollups --------------------------------------------------
# A range [start hour, end hour) is cut into whole calendar months (read from signature_months),
# the whole days left at its ends (signature_days) and the hours left at their ends
# (signature_hours).  Each query sums every part with the same filters and adds the results up
# in Python: a three-year view reads a few thousand month rows, and stays exact to the hour.


@dataclass(frozen=True)
class Part:
    """Rows of one rollup (or of the raw signatures) between two bounds in its own unit."""

    table: Any
    unit: str  # month, day or hour; "raw" for the signatures table itself
    low: int | None
    high: int | None


def parts(where: Scope, finest: str = "month", *, rollups_: bool = True) -> list[Part]:
    """The scope's range as rollup parts, using units no coarser than ``finest``."""
    if not rollups_:
        return [Part(Signature.__table__, "raw", where.start_hour, where.end_hour)]
    return _split(where.start_hour, where.end_hour, finest)


def _split(lo: int | None, hi: int | None, finest: str) -> list[Part]:
    if lo is not None and hi is not None and lo >= hi:
        return []
    if finest == "hour":
        return [Part(SignatureHour.__table__, "hour", lo, hi)]
    if finest == "day":
        first = None if lo is None else -(-lo // 24)
        last = None if hi is None else hi // 24
        if first is not None and last is not None and first >= last:
            return _split(lo, hi, "hour")
        out = [Part(SignatureDay.__table__, "day", first, last)]
        if first is not None:
            out += _split(lo, first * 24, "hour")
        if last is not None:
            out += _split(last * 24, hi, "hour")
        return out
    first = None
    if lo is not None:
        first = rollups.month_of(rollups.hour_start(lo))
        if rollups.month_hours(first) < lo:
            first += 1
    last = None if hi is None else rollups.month_of(rollups.hour_start(hi))
    if first is not None and last is not None and first >= last:
        return _split(lo, hi, "day")
    out = [Part(SignatureMonth.__table__, "month", first, last)]
    if first is not None:
        out += _split(lo, rollups.month_hours(first), "day")
    if last is not None:
        out += _split(rollups.month_hours(last), hi, "day")
    return out


def _column(connection: Connection, part: Part, name: str) -> Any:
    """A column of a part; ``day`` and ``hour`` are worked out for finer parts and raw rows."""
    table = part.table
    if part.unit == "raw":
        hour = rollups.epoch_units(connection, table.c.received_at, rollups.HOUR)
        if name == "hour":
            return hour
        if name == "day":
            return cast(hour // 24, Integer)
    if name == "day" and part.unit == "hour":
        return cast(table.c.hour // 24, Integer)
    return table.c[name]


def _conditions(part: Part, where: Scope) -> list[ColumnElement[bool]]:
    table = part.table
    if part.unit == "raw":
        return [*_time_bounds(table.c.received_at, where), *_attributes(table.c, where)]
    return [*_bounds(table.c[part.unit], part.low, part.high), *_attributes(table.c, where)]


def _sum(
    connection: Connection,
    where: Scope,
    group: Sequence[str],
    *,
    finest: str = "month",
    rollups_: bool = True,
) -> dict[tuple[Any, ...], int]:
    """Signatures in scope summed by ``group`` (columns, or ``day``/``hour``) over every part."""
    totals: dict[tuple[Any, ...], int] = {}
    for part in parts(where, finest, rollups_=rollups_):
        columns = [_column(connection, part, name) for name in group]
        count = func.sum(part.table.c["count"]) if part.unit != "raw" else func.count()
        statement = select(*columns, count).where(*_conditions(part, where))
        if columns:
            statement = statement.group_by(*columns)
        for *key, n in connection.execute(statement):
            if n:
                totals[tuple(key)] = totals.get(tuple(key), 0) + int(n)
    return totals


def _bounds(column: Any, low: int | None, high: int | None) -> list[ColumnElement[bool]]:
    out = []
    if low is not None:
        out.append(column >= low)
    if high is not None:
        out.append(column < high)
    return out


def _attributes(columns: Any, where: Scope) -> list[ColumnElement[bool]]:
    f = where.filters
    out: list[ColumnElement[bool]] = []
    if where.appeal_ids is not None:
        out.append(columns.appeal_id.in_(where.appeal_ids))
    for name, values in (("channel", f.channels), ("provider", f.providers), ("country", f.countries)):
        if values:
            out.append(columns[name].in_(values))
    return out


# -- one function per question ------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    signatures: int
    appeals: int
    countries: int
    members: int
    social: int
    busiest_hour: datetime | None  # UTC
    busiest_count: int


def headline(connection: Connection, where: Scope, *, rollups_: bool = True) -> Headline:
    appeals = by_appeal(connection, where, rollups_=rollups_)
    countries = by_country(connection, where, rollups_=rollups_)
    top = peaks(connection, where, 1, rollups_=rollups_)
    return Headline(
        signatures=sum(n for _, n in appeals),
        appeals=len(appeals),
        countries=len(countries),
        members=members_total(connection, where, rollups_=rollups_),
        social=social_total(connection, where, rollups_=rollups_),
        busiest_hour=top[0][0] if top else None,
        busiest_count=top[0][1] if top else 0,
    )


def over_time(connection: Connection, where: Scope, *, rollups_: bool = True) -> list[tuple[datetime, int]]:
    """Signatures per hour (short ranges) or per UTC day: (start of the bucket in UTC, count)."""
    return series_times(where, over_time_counts(connection, where, rollups_=rollups_))


def over_time_counts(connection: Connection, where: Scope, *, rollups_: bool = True) -> dict[int, int]:
    """Signatures per epoch hour (short ranges, ``where.hourly``) or per epoch UTC day."""
    unit = "hour" if where.hourly else "day"
    counts = _sum(connection, where, [unit], finest=unit, rollups_=rollups_)
    return {int(b): n for (b,), n in counts.items()}


def series_times(where: Scope, counts: Mapping[int, int]) -> list[tuple[datetime, int]]:
    seconds = rollups.HOUR if where.hourly else rollups.DAY
    return [(rollups.EPOCH + timedelta(seconds=b * seconds), n) for b, n in sorted(counts.items())]


def peaks(
    connection: Connection,
    where: Scope,
    limit: int = PEAKS,
    *,
    rollups_: bool = True,
    series: Mapping[int, int] | None = None,
) -> list[tuple[datetime, int]]:
    """The busiest hours (the TV moments): (UTC hour, signatures), busiest first, earliest on a tie.

    Exact without grouping every hour of three years: the scope's days are ranked by their
    totals (an hour never holds more than its day) and only those that could still hold a top
    hour are opened.  ``series``, what ``over_time_counts`` answered for the same scope (the
    History page has it already), spares reading the days; for a short range it holds the
    hours themselves, and is the answer.
    """
    direct = where.appeal_ids is not None and len(where.appeal_ids) <= DIRECT_PEAKS_APPEALS
    if not rollups_ or (direct and series is None):
        # A few appeals: their hours straight from the (appeal, hour) index beat opening days.
        found_parts = parts(where, "hour", rollups_=rollups_)
        if not found_parts:
            return []
        part = found_parts[0]
        hour = _column(connection, part, "hour")
        total = func.count() if part.unit == "raw" else func.sum(part.table.c["count"])
        rows = connection.execute(
            select(hour, total)
            .where(*_conditions(part, where))
            .group_by(hour)
            .order_by(total.desc(), hour)
            .limit(limit)
        )
        return [(rollups.hour_start(int(h)), int(n)) for h, n in rows]
    if series is None:
        series = over_time_counts(connection, where)
    if where.hourly:
        ranked = sorted(((h, n) for h, n in series.items() if n), key=lambda item: (-item[1], item[0]))
        return [(rollups.hour_start(h), n) for h, n in ranked[:limit]]
    # (-count, 0 for a day still to open / 1 for an hour, its first hour); days at the ends of
    # the scope hold only the hours inside it
    queue = [(-n, 0, day * 24) for day, n in series.items() if n]
    heapq.heapify(queue)
    found: list[tuple[datetime, int]] = []
    while queue and len(found) < limit:
        if queue[0][1] == 1:  # an hour no day left in the queue can beat
            negative, _, hour_key = heapq.heappop(queue)
            found.append((rollups.hour_start(hour_key), -negative))
            continue
        days: list[int] = []  # the leading days, opened by one query
        while queue and queue[0][1] == 0 and len(days) < OPEN_AT_ONCE:
            days.append(heapq.heappop(queue)[2] // 24)
        for hour_key, n in _hours_of(connection, where, days).items():
            heapq.heappush(queue, (-n, 1, hour_key))
    return found


def _hours_of(connection: Connection, where: Scope, days: list[int]) -> dict[int, int]:
    """The signatures in scope of each hour of these days; a day at an end of the scope is
    read only as far as the scope reaches."""
    table = SignatureHour.__table__
    lo = where.start_hour if where.start_hour is not None else -(2**62)
    hi = where.end_hour if where.end_hour is not None else 2**62
    column = table.c["hour"]
    # One range scan of the index per day, all in one round trip (an OR of ranges makes
    # SQLite scan the whole table).
    statement = union_all(
        *(
            select(column, func.sum(table.c["count"]))
            .where(column >= max(day * 24, lo), column < min(day * 24 + 24, hi), *_attributes(table.c, where))
            .group_by(column)
            for day in days
        )
    )
    return {int(hour): int(n) for hour, n in connection.execute(statement) if n}


def by_country(connection: Connection, where: Scope, *, rollups_: bool = True) -> list[tuple[str, int]]:
    counts = _sum(connection, where, ["country"], rollups_=rollups_)
    return sorted(((str(c), n) for (c,), n in counts.items()), key=lambda item: (-item[1], item[0]))


def by_channel(connection: Connection, where: Scope, *, rollups_: bool = True) -> list[tuple[str, str, int]]:
    """(channel, provider, signatures), most first."""
    counts = _sum(connection, where, ["channel", "provider"], rollups_=rollups_)
    return sorted(
        ((str(c), str(p), n) for (c, p), n in counts.items()), key=lambda item: (-item[2], item[:2])
    )


def by_appeal(connection: Connection, where: Scope, *, rollups_: bool = True) -> list[tuple[int, int]]:
    counts = _sum(connection, where, ["appeal_id"], rollups_=rollups_)
    return sorted(((int(a), n) for (a,), n in counts.items()), key=lambda item: (-item[1], item[0]))


def members(
    connection: Connection, where: Scope, *, rollups_: bool = True, hourly: bool | None = None
) -> list[tuple[datetime, int]]:
    """New SMS-network members per hour (short ranges) or UTC day: (start of the bucket, count).

    By the appeal featured when they joined, and their country; channel and provider
    filters do not apply (members join by text message).
    """
    hour, count, source, conditions = _members(connection, where, rollups_)
    bucket, unit = _bucket(hour, where.hourly if hourly is None else hourly)
    rows = connection.execute(
        select(bucket, count).select_from(source).where(*conditions).group_by(bucket).order_by(bucket)
    )
    return [(rollups.EPOCH + timedelta(seconds=int(b) * unit), int(n)) for b, n in rows]


def members_total(connection: Connection, where: Scope, *, rollups_: bool = True) -> int:
    _, count, source, conditions = _members(connection, where, rollups_)
    return int(connection.scalar(select(func.coalesce(count, 0)).select_from(source).where(*conditions)) or 0)


def _bucket(hour: Any, hourly: bool) -> tuple[Any, int]:
    return (hour, rollups.HOUR) if hourly else (cast(hour // 24, Integer), rollups.DAY)


def _members(connection: Connection, where: Scope, rollups_: bool) -> tuple[Any, Any, Any, list[Any]]:
    """(hour column, count aggregate, source, conditions) of the members in scope."""
    if rollups_:
        table = MemberHour.__table__
        hour: Any = table.c.hour
        conditions = _bounds(hour, where.start_hour, where.end_hour)
        appeal, country = table.c.appeal_id, table.c.country
        count: Any = func.sum(table.c["count"])
        source: Any = table
    else:
        supporters, messages = Supporter.__table__, InboundMessage.__table__
        first_join = (
            select(messages.c.appeal_id)
            .where(messages.c.supporter_id == supporters.c.id, messages.c.intent == "join")
            .order_by(messages.c.received_at, messages.c.id)
            .limit(1)
            .scalar_subquery()
        )
        raw = (
            select(
                rollups.epoch_units(connection, supporters.c.member_since, rollups.HOUR).label("hour"),
                func.coalesce(first_join, literal(rollups.NO_APPEAL)).label("appeal_id"),
                supporters.c.country,
            )
            .where(supporters.c.member_since.is_not(None), *_time_bounds(supporters.c.member_since, where))
            .subquery()
        )
        hour, appeal, country, count, source = raw.c.hour, raw.c.appeal_id, raw.c.country, func.count(), raw
        conditions = []
    if where.appeal_ids is not None:
        conditions.append(appeal.in_(where.appeal_ids))
    if where.filters.countries:
        conditions.append(country.in_(where.filters.countries))
    return hour, count, source, conditions


def social(
    connection: Connection, where: Scope, *, rollups_: bool = True, hourly: bool | None = None
) -> list[tuple[datetime, str, str, int]]:
    """Social events per hour (short ranges) or UTC day, platform and kind, for the scope's campaigns."""
    table, hour, count, conditions = _social(connection, where, rollups_)
    bucket, unit = _bucket(hour, where.hourly if hourly is None else hourly)
    rows = connection.execute(
        select(bucket, table.c.platform, table.c.kind, count)
        .where(*conditions)
        .group_by(bucket, table.c.platform, table.c.kind)
        .order_by(bucket, table.c.platform, table.c.kind)
    )
    return [(rollups.EPOCH + timedelta(seconds=int(b) * unit), str(p), str(k), int(n)) for b, p, k, n in rows]


def social_total(connection: Connection, where: Scope, *, rollups_: bool = True) -> int:
    table, _, count, conditions = _social(connection, where, rollups_)
    return int(connection.scalar(select(func.coalesce(count, 0)).select_from(table).where(*conditions)) or 0)


def _social(connection: Connection, where: Scope, rollups_: bool) -> tuple[Any, Any, Any, list[Any]]:
    if rollups_:
        table: Any = SocialHour.__table__
        hour = table.c.hour
        conditions = _bounds(hour, where.start_hour, where.end_hour)
        count: Any = func.sum(table.c["count"])
    else:
        table = SocialEvent.__table__
        hour = rollups.epoch_units(connection, table.c.occurred_at, rollups.HOUR)
        conditions = _time_bounds(table.c.occurred_at, where)
        count = func.count()
    if where.campaign_ids is not None:
        conditions.append(table.c.campaign_id.in_(where.campaign_ids))
    if where.filters.platforms:
        conditions.append(table.c.platform.in_(where.filters.platforms))
    return table, hour, count, conditions


def _time_bounds(column: Any, where: Scope) -> list[ColumnElement[bool]]:
    out = []
    if where.start_hour is not None:
        out.append(column >= rollups.hour_start(where.start_hour))
    if where.end_hour is not None:
        out.append(column < rollups.hour_start(where.end_hour))
    return out


def appeal_table(
    connection: Connection,
    where: Scope,
    *,
    rollups_: bool = True,
    totals: Sequence[tuple[int, int]] | None = None,
) -> list[dict[str, Any]]:
    """The appeals in scope with their signatures (under every filter) and latest outcome.

    ``totals``: ``by_appeal``'s answer when the caller has it already.
    """
    counts = dict(totals if totals is not None else by_appeal(connection, where, rollups_=rollups_))
    ids = where.appeal_ids if where.appeal_ids is not None else tuple(where.appeals)
    out = []
    for appeal_id in ids:
        row = where.appeals[appeal_id]
        out.append(
            {
                "appeal": row["slug"],
                "title": row["title"],
                "campaign": row["campaign"],
                "opened": row["opened_at"],
                "signatures": counts.get(appeal_id, 0),
                "outcome": KINDS[row["outcome"]][0] if row["outcome"] in KINDS else (row["outcome"] or ""),
                "good": None if row["outcome"] is None else bool(row["good"]),
                "outcome_at": row["outcome_at"],
                "status": row["status"],
            }
        )
    out.sort(key=lambda item: (-item["signatures"], item["appeal"]))
    return out


def choices(connection: Connection) -> dict[str, list[str]]:
    """What each filter can be set to, from the rollups: channels, providers, countries, platforms."""
    months, social_table = SignatureMonth.__table__, SocialHour.__table__
    return {
        "channels": list(connection.scalars(select(months.c.channel).distinct().order_by(months.c.channel))),
        "providers": list(
            connection.scalars(select(months.c.provider).distinct().order_by(months.c.provider))
        ),
        "countries": list(connection.scalars(select(months.c.country).distinct().order_by(months.c.country))),
        "platforms": list(
            connection.scalars(select(social_table.c.platform).distinct().order_by(social_table.c.platform))
        ),
    }


# -- rows for exports (streamed) ---------------------------------------------------------------------

FIGURE_COLUMNS = (
    "hour_utc",
    "hour_local",
    "appeal",
    "campaign",
    "channel",
    "provider",
    "country",
    "signatures",
)
SIGNATURE_COLUMNS = (
    "id",
    "received_at_utc",
    "received_at_local",
    "appeal",
    "campaign",
    "channel",
    "provider",
    "country",
)
BATCH = 10_000


def figure_rows(connection: Connection, where: Scope) -> Iterable[tuple[Any, ...]]:
    """Signatures per hour, appeal, channel, provider and country, oldest first; streamed."""
    part = parts(where, "hour")
    if not part:
        return
    table = SignatureHour.__table__
    names = {i: (row["slug"], row["campaign"]) for i, row in where.appeals.items()}
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
        select(
            table.c.hour,
            table.c.appeal_id,
            table.c.channel,
            table.c.provider,
            table.c.country,
            table.c["count"],
        )
        .where(*_conditions(part[0], where), table.c["count"] > 0)
        .order_by(table.c.hour, table.c.appeal_id, table.c.channel, table.c.provider, table.c.country)
    )
    for hour, appeal_id, channel, provider, country, count in result:
        at = rollups.hour_start(int(hour))
        slug, campaign = names.get(int(appeal_id), (str(appeal_id), ""))
        yield (
            _iso(at),
            _iso(at.astimezone(where.tz)),
            slug,
            campaign,
            channel,
            provider,
            country,
            int(count),
        )


def signature_rows(connection: Connection, where: Scope) -> Iterable[tuple[Any, ...]]:
    """One row per signature, without any personal data (no number, no supporter); streamed."""
    table = Signature.__table__
    names = {i: (row["slug"], row["campaign"]) for i, row in where.appeals.items()}
    statement = (
        select(
            table.c.id,
            table.c.received_at,
            table.c.appeal_id,
            table.c.channel,
            table.c.provider,
            table.c.country,
        )
        .where(*_time_bounds(table.c.received_at, where), *_attributes(table.c, where))
        .order_by(table.c.received_at, table.c.id)
    )
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(statement)
    for signature_id, at, appeal_id, channel, provider, country in result:
        slug, campaign = names.get(int(appeal_id), (str(appeal_id), ""))
        yield (
            int(signature_id),
            _iso(at),
            _iso(at.astimezone(where.tz)),
            slug,
            campaign,
            channel,
            provider,
            country,
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# -- DataFrames for the page -------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """Everything the History page shows for one set of filters; times in the local zone."""

    headline: Headline
    hourly: bool  # the time series is per hour (else per UTC day)
    over_time: pd.DataFrame  # at, signatures
    peaks: pd.DataFrame  # at, signatures: the busiest hours
    countries: pd.DataFrame  # country, signatures
    channels: pd.DataFrame  # channel, provider, signatures
    members: pd.DataFrame  # at, members
    social: pd.DataFrame  # at, platform, kind, events
    appeals: pd.DataFrame  # as appeal_table


def view(engine: Engine, filters: Filters, tz: ZoneInfo) -> View:
    """The History page's figures for these filters, from one connection."""
    import pandas as pd

    with engine.connect() as connection:
        where = scope(connection, filters, tz)
        # Each figure is read once: the headline is made of the same answers as the charts.
        appeal_totals = by_appeal(connection, where)
        countries = by_country(connection, where)
        counts = over_time_counts(connection, where)
        top = peaks(connection, where, series=counts)
        series = series_times(where, counts)
        channels = by_channel(connection, where)
        joined = members(connection, where)
        activity = social(connection, where)
        table = appeal_table(connection, where, totals=appeal_totals)
        head = Headline(
            signatures=sum(n for _, n in appeal_totals),
            appeals=len(appeal_totals),
            countries=len(countries),
            members=sum(n for _, n in joined),
            social=sum(n for *_, n in activity),
            busiest_hour=top[0][0] if top else None,
            busiest_count=top[0][1] if top else 0,
        )

    def timed(rows: Sequence[tuple[datetime, int]], name: str) -> pd.DataFrame:
        frame = pd.DataFrame({"at": [t.astimezone(tz) for t, _ in rows], name: [n for _, n in rows]})
        return frame.astype({name: "int64"})

    return View(
        headline=head,
        hourly=where.hourly,
        over_time=timed(series, "signatures"),
        peaks=timed(top, "signatures"),
        countries=pd.DataFrame(countries, columns=["country", "signatures"]).astype({"signatures": "int64"}),
        channels=pd.DataFrame(channels, columns=["channel", "provider", "signatures"]).astype(
            {"signatures": "int64"}
        ),
        members=timed(joined, "members"),
        social=pd.DataFrame(
            [(t.astimezone(tz), p, k, n) for t, p, k, n in activity],
            columns=["at", "platform", "kind", "events"],
        ).astype({"events": "int64"}),
        appeals=pd.DataFrame(table, columns=list(APPEAL_COLUMNS)),
    )


APPEAL_COLUMNS = (
    "appeal",
    "title",
    "campaign",
    "opened",
    "signatures",
    "outcome",
    "good",
    "outcome_at",
    "status",
)

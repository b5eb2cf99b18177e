"""The read path for history: one function per question staff ask on the History page.

Each query takes a ``Scope`` (``campaign.history.filters``) and is one function of
parameterised SQLAlchemy Core over the rollups (``campaign.history.rollups``), planned by
``campaign.history.plan``, so a three-year view reads a few thousand rows and is still
exact to the hour.  ``from_rollups=False`` asks the same of the raw tables (the benchmark's
comparison).  Results are plain rows.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, cast, func, literal, select, union_all

from campaign.appeals.outcomes import KINDS
from campaign.history import rollups
from campaign.history.filters import Scope
from campaign.history.plan import attribute_conditions, bounds, column_of, part_conditions, parts, time_bounds
from campaign.storage.models import (
    InboundMessage,
    MemberHour,
    SignatureHour,
    SignatureMonth,
    SocialEvent,
    SocialHour,
    Supporter,
)

PEAKS = 5
OPEN_AT_ONCE = 24  # days opened by one query when looking for the busiest hours
DIRECT_PEAKS_APPEALS = 20  # up to this many appeals, the busiest hours are read directly


def _sum(
    connection: Connection,
    where: Scope,
    group: Sequence[str],
    *,
    finest: str = "month",
    from_rollups: bool = True,
) -> dict[tuple[Any, ...], int]:
    """Signatures in scope summed by ``group`` (columns, or ``day``/``hour``) over every part."""
    totals: dict[tuple[Any, ...], int] = {}
    for part in parts(where, finest, from_rollups=from_rollups):
        columns = [column_of(connection, part, name) for name in group]
        count = func.sum(part.table.c["count"]) if part.unit != "raw" else func.count()
        statement = select(*columns, count).where(*part_conditions(part, where))
        if columns:
            statement = statement.group_by(*columns)
        for *key, n in connection.execute(statement):
            if n:
                totals[tuple(key)] = totals.get(tuple(key), 0) + int(n)
    return totals


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


def headline(connection: Connection, where: Scope, *, from_rollups: bool = True) -> Headline:
    appeals = by_appeal(connection, where, from_rollups=from_rollups)
    countries = by_country(connection, where, from_rollups=from_rollups)
    top = peaks(connection, where, 1, from_rollups=from_rollups)
    return Headline(
        signatures=sum(n for _, n in appeals),
        appeals=len(appeals),
        countries=len(countries),
        members=members_total(connection, where, from_rollups=from_rollups),
        social=social_total(connection, where, from_rollups=from_rollups),
        busiest_hour=top[0][0] if top else None,
        busiest_count=top[0][1] if top else 0,
    )


def over_time(
    connection: Connection, where: Scope, *, from_rollups: bool = True
) -> list[tuple[datetime, int]]:
    """Signatures per hour (short ranges) or per UTC day: (start of the bucket in UTC, count)."""
    return series_times(where, over_time_counts(connection, where, from_rollups=from_rollups))


def over_time_counts(connection: Connection, where: Scope, *, from_rollups: bool = True) -> dict[int, int]:
    """Signatures per epoch hour (short ranges, ``where.hourly``) or per epoch UTC day."""
    unit = "hour" if where.hourly else "day"
    counts = _sum(connection, where, [unit], finest=unit, from_rollups=from_rollups)
    return {int(b): n for (b,), n in counts.items()}


def series_times(where: Scope, counts: Mapping[int, int]) -> list[tuple[datetime, int]]:
    seconds = rollups.HOUR if where.hourly else rollups.DAY
    return [(rollups.EPOCH + timedelta(seconds=b * seconds), n) for b, n in sorted(counts.items())]


def peaks(
    connection: Connection,
    where: Scope,
    limit: int = PEAKS,
    *,
    from_rollups: bool = True,
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
    if not from_rollups or (direct and series is None):
        # A few appeals: their hours straight from the (appeal, hour) index beat opening days.
        found_parts = parts(where, "hour", from_rollups=from_rollups)
        if not found_parts:
            return []
        part = found_parts[0]
        hour = column_of(connection, part, "hour")
        total = func.count() if part.unit == "raw" else func.sum(part.table.c["count"])
        rows = connection.execute(
            select(hour, total)
            .where(*part_conditions(part, where))
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
            .where(
                column >= max(day * 24, lo),
                column < min(day * 24 + 24, hi),
                *attribute_conditions(table.c, where),
            )
            .group_by(column)
            for day in days
        )
    )
    return {int(hour): int(n) for hour, n in connection.execute(statement) if n}


def by_country(connection: Connection, where: Scope, *, from_rollups: bool = True) -> list[tuple[str, int]]:
    counts = _sum(connection, where, ["country"], from_rollups=from_rollups)
    return sorted(((str(c), n) for (c,), n in counts.items()), key=lambda item: (-item[1], item[0]))


def by_channel(
    connection: Connection, where: Scope, *, from_rollups: bool = True
) -> list[tuple[str, str, int]]:
    """(channel, provider, signatures), most first."""
    counts = _sum(connection, where, ["channel", "provider"], from_rollups=from_rollups)
    return sorted(
        ((str(c), str(p), n) for (c, p), n in counts.items()), key=lambda item: (-item[2], item[:2])
    )


def by_appeal(connection: Connection, where: Scope, *, from_rollups: bool = True) -> list[tuple[int, int]]:
    counts = _sum(connection, where, ["appeal_id"], from_rollups=from_rollups)
    return sorted(((int(a), n) for (a,), n in counts.items()), key=lambda item: (-item[1], item[0]))


def members(
    connection: Connection, where: Scope, *, from_rollups: bool = True, hourly: bool | None = None
) -> list[tuple[datetime, int]]:
    """New SMS-network members per hour (short ranges) or UTC day: (start of the bucket, count).

    By the appeal featured when they joined, and their country; channel and provider
    filters do not apply (members join by text message).
    """
    hour, count, source, conditions = _members(connection, where, from_rollups)
    bucket, unit = _bucket(hour, where.hourly if hourly is None else hourly)
    rows = connection.execute(
        select(bucket, count).select_from(source).where(*conditions).group_by(bucket).order_by(bucket)
    )
    return [(rollups.EPOCH + timedelta(seconds=int(b) * unit), int(n)) for b, n in rows]


def members_total(connection: Connection, where: Scope, *, from_rollups: bool = True) -> int:
    _, count, source, conditions = _members(connection, where, from_rollups)
    return int(connection.scalar(select(func.coalesce(count, 0)).select_from(source).where(*conditions)) or 0)


def _bucket(hour: Any, hourly: bool) -> tuple[Any, int]:
    return (hour, rollups.HOUR) if hourly else (cast(hour // 24, Integer), rollups.DAY)


def _members(connection: Connection, where: Scope, from_rollups: bool) -> tuple[Any, Any, Any, list[Any]]:
    """(hour column, count aggregate, source, conditions) of the members in scope."""
    if from_rollups:
        table = MemberHour.__table__
        hour: Any = table.c.hour
        conditions = bounds(hour, where.start_hour, where.end_hour)
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
            .where(supporters.c.member_since.is_not(None), *time_bounds(supporters.c.member_since, where))
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
    connection: Connection, where: Scope, *, from_rollups: bool = True, hourly: bool | None = None
) -> list[tuple[datetime, str, str, int]]:
    """Social events per hour (short ranges) or UTC day, platform and kind, for the scope's campaigns."""
    table, hour, count, conditions = _social(connection, where, from_rollups)
    bucket, unit = _bucket(hour, where.hourly if hourly is None else hourly)
    rows = connection.execute(
        select(bucket, table.c.platform, table.c.kind, count)
        .where(*conditions)
        .group_by(bucket, table.c.platform, table.c.kind)
        .order_by(bucket, table.c.platform, table.c.kind)
    )
    return [(rollups.EPOCH + timedelta(seconds=int(b) * unit), str(p), str(k), int(n)) for b, p, k, n in rows]


def social_total(connection: Connection, where: Scope, *, from_rollups: bool = True) -> int:
    table, _, count, conditions = _social(connection, where, from_rollups)
    return int(connection.scalar(select(func.coalesce(count, 0)).select_from(table).where(*conditions)) or 0)


def _social(connection: Connection, where: Scope, from_rollups: bool) -> tuple[Any, Any, Any, list[Any]]:
    if from_rollups:
        table: Any = SocialHour.__table__
        hour = table.c.hour
        conditions = bounds(hour, where.start_hour, where.end_hour)
        count: Any = func.sum(table.c["count"])
    else:
        table = SocialEvent.__table__
        hour = rollups.epoch_units(connection, table.c.occurred_at, rollups.HOUR)
        conditions = time_bounds(table.c.occurred_at, where)
        count = func.count()
    if where.campaign_ids is not None:
        conditions.append(table.c.campaign_id.in_(where.campaign_ids))
    if where.filters.platforms:
        conditions.append(table.c.platform.in_(where.filters.platforms))
    return table, hour, count, conditions


def appeal_table(
    connection: Connection,
    where: Scope,
    *,
    from_rollups: bool = True,
    totals: Sequence[tuple[int, int]] | None = None,
) -> list[dict[str, Any]]:
    """The appeals in scope with their signatures (under every filter) and latest outcome.

    ``totals``: ``by_appeal``'s answer when the caller has it already.
    """
    counts = dict(totals if totals is not None else by_appeal(connection, where, from_rollups=from_rollups))
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

"""History as rows and frames: rows streamed to exports, DataFrames for the History page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from campaign.history import rollups
from campaign.history.filters import HOURLY_UP_TO, Filters, Scope, scope
from campaign.history.plan import attribute_conditions, part_conditions, parts, time_bounds
from campaign.history.queries import (
    Headline,
    appeal_table,
    by_appeal,
    by_channel,
    by_country,
    members,
    over_time_counts,
    peaks,
    series_times,
    social,
)
from campaign.storage import shards
from campaign.storage.models import Signature, SignatureHour

if TYPE_CHECKING:
    import pandas as pd

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
    keys = shards.key_columns(table)  # hour, appeal, channel, provider, country
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
        shards.summed(table, *part_conditions(part[0], where), table.c["count"] > 0).order_by(*keys)
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
        .where(*time_bounds(table.c.received_at, where), *attribute_conditions(table.c, where))
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
        joined = members(connection, where)
        activity = social(connection, where)
        short = _short_span(where, counts, joined, activity)
        if short is not None:
            # A few days of data (a new installation, a new appeal) read per hour, not as one
            # or two bars the width of the chart.
            where = short
            counts = over_time_counts(connection, where)
            joined = members(connection, where)
            activity = social(connection, where)
        top = peaks(connection, where, series=counts)
        series = series_times(where, counts)
        channels = by_channel(connection, where)
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


def _short_span(
    where: Scope,
    days: Mapping[int, int],
    joined: Sequence[tuple[datetime, int]],
    activity: Sequence[tuple[datetime, str, str, int]],
) -> Scope | None:
    """The scope narrowed to its data's days when they are few enough to draw per hour."""
    if where.hourly:
        return None
    found = set(days) | {_epoch_day(t) for t, _ in joined} | {_epoch_day(t) for t, *_ in activity}
    if not found or (max(found) - min(found) + 1) * 24 * rollups.HOUR > HOURLY_UP_TO.total_seconds():
        return None
    return where.within_days(min(found), max(found))


def _epoch_day(moment: datetime) -> int:
    return int((moment - rollups.EPOCH).total_seconds()) // rollups.DAY


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

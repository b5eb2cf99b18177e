"""From the database's rows to the tables the staff pages draw: pure functions, no Streamlit.

The Map and Outcomes pages read history from SQL (demonstrations, outcomes) and a little
from the live view (signatures by country); these functions turn what the core returns
into small DataFrames that ``charts`` and ``blocks`` use.  As on the screens, times leave
in the organisation's time zone as naive wall-clock times: a demonstration "at 14:00 on
Saturday" is read the way the organisers announced it, and Plotly draws it unshifted.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pycountry

from campaign.activity import subdivisions
from campaign.activity.geo import country_name
from campaign.appeals.outcomes import KINDS, good_share
from campaign.live.figures import AppealFigures, CampaignFigures

DEMONSTRATION_COLUMNS = [
    "id",
    "campaign",
    "title",
    "city",
    "country",
    "country_name",
    "iso3",
    "latitude",
    "longitude",
    "starts_at",
    "day",
    "attendance",
    "organiser",
    "links",
    "photos",
]
SOCIAL_PLATFORMS = ("facebook", "instagram", "flickr", "twitter", "youtube", "tiktok", "whatsapp")


@functools.cache
def iso3(alpha2: str) -> str | None:
    """Plotly's ``locations`` use ISO alpha-3 ("KE" -> "KEN"); None for codes it cannot know."""
    country = pycountry.countries.get(alpha_2=alpha2.upper()) if alpha2 and len(alpha2) == 2 else None
    return str(country.alpha_3) if country else None


@functools.cache
def world() -> pd.DataFrame:
    """Every country (iso3, name): the map shades each one, so every shape can be hovered."""
    rows = [{"iso3": str(c.alpha_3), "name": country_name(str(c.alpha_2))} for c in pycountry.countries]
    return pd.DataFrame(rows, columns=["iso3", "name"]).sort_values("iso3").reset_index(drop=True)


def demonstrations(rows: Iterable[Mapping[str, Any]], tz: ZoneInfo) -> pd.DataFrame:
    """``campaign.activity.demonstrations.listing`` rows, oldest first, with local start times."""
    table = [
        {
            "id": int(row["id"]),
            "campaign": str(row.get("campaign") or ""),
            "title": str(row["title"]),
            "city": str(row["city"]),
            "country": str(row["country"]),
            "country_name": country_name(str(row["country"])),
            "iso3": iso3(str(row["country"])),
            "latitude": float(row["latitude"]),
            "longitude": float(row["longitude"]),
            "starts_at": local(row["starts_at"], tz),
            "day": local(row["starts_at"], tz).date(),
            "attendance": row.get("attendance"),
            "organiser": str(row.get("organiser") or ""),
            "links": list(row.get("links") or []),
            "photos": list(row.get("photos") or []),
        }
        for row in rows
    ]
    frame = pd.DataFrame(table, columns=DEMONSTRATION_COLUMNS)
    frame["attendance"] = frame["attendance"].astype("Int64")
    return frame.sort_values(["starts_at", "city"], kind="stable").reset_index(drop=True)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    """A stored time (aware; naive means UTC) as the organisation's wall-clock time, naive."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))
    return aware.astimezone(tz).replace(tzinfo=None)


def between(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """The demonstrations whose local day lies in ``start..end`` (either end open)."""
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= frame["day"] >= start
    if end is not None:
        keep &= frame["day"] <= end
    return frame[keep].reset_index(drop=True)


def on_day(frame: pd.DataFrame, day: date, campaigns: Sequence[str] | None = None) -> pd.DataFrame:
    """The demonstrations of one local day, optionally of some campaigns only."""
    today = frame[frame["day"] == day]
    if campaigns is not None:
        today = today[today["campaign"].isin(list(campaigns))]
    return today.reset_index(drop=True)


def days(
    frame: pd.DataFrame, start: date | None = None, end: date | None = None, limit: int = 92
) -> list[date]:
    """The replay's steps: every day from the first to the last (or of the range asked for).

    A range longer than ``limit`` days steps from one day with a demonstration to the next
    instead (the last ``limit`` of them), so the figure stays small enough to send.
    """
    first = start or (min(frame["day"]) if len(frame) else None)
    last = end or (max(frame["day"]) if len(frame) else None)
    if first is None or last is None or first > last:
        return []
    if (last - first).days < limit:
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return sorted(d for d in set(frame["day"]) if first <= d <= last)[-limit:]


def by_country(frame: pd.DataFrame) -> pd.DataFrame:
    """Demonstrations and their attendance per country: iso3, name, value, attendance."""
    known = frame[frame["iso3"].notna()]
    grouped = known.groupby(["iso3", "country_name"], as_index=False).agg(
        value=("id", "count"), attendance=("attendance", "sum")
    )
    grouped = grouped.rename(columns={"country_name": "name"})
    return grouped[["iso3", "name", "value", "attendance"]].astype({"value": "int64", "attendance": "int64"})


def by_subdivision(frame: pd.DataFrame, country: str) -> pd.DataFrame:
    """Demonstrations in each subdivision of ``country`` they lie in: code, name, value.

    Placed by their coordinates in the shapes shipped with the project; one outside every
    subdivision (at sea, or in another country) is not counted."""
    found = Counter(
        place
        for row in frame[frame["country"] == country].itertuples(index=False)
        if (place := subdivisions.locate(country, row.latitude, row.longitude)) is not None
    )
    ordered = sorted(found.items(), key=lambda item: item[0].code)
    rows = [{"code": place.code, "name": place.name, "value": n} for place, n in ordered]
    return pd.DataFrame(rows, columns=["code", "name", "value"]).astype({"value": "int64"})


PHOTO_COLUMNS = ["campaign", "title", "url", "thumbnail", "latitude", "longitude", "taken", "day"]


def photos(rows: Iterable[Mapping[str, Any]], tz: ZoneInfo) -> pd.DataFrame:
    """``campaign.activity.flickr.placed_photos`` rows with their local time and day."""
    table = [
        {
            **{k: row[k] for k in ("campaign", "title", "url", "thumbnail", "latitude", "longitude")},
            "taken": local(row["occurred_at"], tz),
            "day": local(row["occurred_at"], tz).date(),
        }
        for row in rows
    ]
    return pd.DataFrame(table, columns=PHOTO_COLUMNS)


def signatures_by_country(appeals: Iterable[AppealFigures], campaign: str | None) -> pd.DataFrame:
    """Signatures per country over a campaign's appeals (all appeals if None): iso3, name, value."""
    summed: dict[str, int] = {}
    for appeal in appeals:
        if campaign is not None and appeal.campaign != campaign:
            continue
        for row in appeal.countries:
            code = iso3(str(row["country"]))
            if code:
                summed[code] = summed.get(code, 0) + int(row["signatures"])
    names = dict(zip(world()["iso3"], world()["name"], strict=True))
    rows = [{"iso3": code, "name": names.get(code, code), "value": n} for code, n in sorted(summed.items())]
    return pd.DataFrame(rows, columns=["iso3", "name", "value"]).astype({"value": "int64"})


# -- social figures ----------------------------------------------------------------------------


def social_summary(figures: CampaignFigures) -> dict[str, Any]:
    """The handful of social figures a wall screen has room for, from a campaign's tallies.

    ``joins``: Facebook group joins; ``posts`` and ``photos``: over every platform;
    ``visits``: web visits; ``from_social``: the share of them referred by social media
    (None without visits), and ``top_referrer``: the social platform that sent the most.
    """
    facebook = figures.social.get("facebook", {})
    per_kind: dict[str, int] = {}
    for kinds in figures.social.values():
        for kind, n in kinds.items():
            per_kind[kind] = per_kind.get(kind, 0) + int(n)
    social_visits = {k: n for k, n in figures.visits.items() if k in SOCIAL_PLATFORMS}
    top = max(social_visits.items(), key=lambda item: (item[1], item[0]), default=None)
    return {
        "joins": int(facebook.get("join", 0)),
        "posts": per_kind.get("post", 0),
        "photos": per_kind.get("photo", 0),
        "visits": sum(figures.visits.values()),
        "from_social": figures.visits_from_social,
        "top_referrer": top[0] if top and top[1] else None,
    }


def has_social(figures: CampaignFigures) -> bool:
    return bool(figures.social or figures.visits)


# -- outcomes --------------------------------------------------------------------------------------


def decided(table: pd.DataFrame) -> pd.DataFrame:
    """The appeals with an outcome (their latest), as ``campaign.appeals.outcomes.frame`` gives them."""
    return table[table["kind"].notna()].reset_index(drop=True)


def waiting_count(table: pd.DataFrame) -> int:
    """Appeals still open without an outcome (as ``waiting_longest`` counts them)."""
    return int((table["kind"].isna() & (table["status"] != "closed")).sum())


def outcome_kinds(table: pd.DataFrame) -> pd.DataFrame:
    """Appeals per outcome kind and verdict, in the order of ``KINDS``: kind, label, good, appeals.

    A kind is good or not by default, but staff may judge one case otherwise, so a kind can
    have a row for each verdict.
    """
    done = decided(table)
    counts = done.groupby(["kind", done["good"].astype(bool)])["id"].count() if len(done) else {}
    rows = [
        {"kind": kind, "label": label, "good": good, "appeals": int(counts[(kind, good)])}
        for kind, (label, _) in KINDS.items()
        for good in (True, False)
        if (kind, good) in counts
    ]
    return pd.DataFrame(rows, columns=["kind", "label", "good", "appeals"])


def shares(table: pd.DataFrame, by: str, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Share of decided appeals with a good outcome per ``by`` (``campaign.appeals.outcomes.good_share``),
    with a display name, best first: key, name, appeals, good, share."""
    grouped = good_share(table, by)
    if not isinstance(grouped, pd.DataFrame) or not len(grouped):
        return pd.DataFrame(columns=["key", "name", "appeals", "good", "share"])
    frame = grouped.rename(columns={by: "key"}).copy()
    frame["key"] = frame["key"].astype(str)
    frame["name"] = [(names or {}).get(k, k) for k in frame["key"]]
    frame["good"] = frame["good"].astype("int64")
    frame["appeals"] = frame["appeals"].astype("int64")
    frame = frame.sort_values(["share", "appeals", "name"], ascending=[False, False, True], kind="stable")
    return frame[["key", "name", "appeals", "good", "share"]].reset_index(drop=True)


def country_names(table: pd.DataFrame) -> dict[str, str]:
    """The appeals' countries of concern by a name short enough for a chart label."""
    return {str(code): short_country(str(code)) for code in set(table["country"])}


# ISO's names that do not fit a chart's label, as people say them.
SHORT_NAMES = {
    "CD": "DR Congo",
    "CF": "Central African Rep.",
    "FM": "Micronesia",
    "PS": "Palestine",
    "VA": "Vatican",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
}


def short_country(code: str) -> str:
    """A country's name for a label: the common name, shortened where ISO's is a mouthful."""
    name = SHORT_NAMES.get(code) or country_name(code)
    return name if len(name) <= 24 else name[:23].rstrip(" ,") + "…"


def timeline(table: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """Each appeal's latest outcome in time: at (local), appeal, title, label, good, days."""
    done = decided(table)
    rows = [
        {
            "at": local(row.occurred_at.to_pydatetime(), tz),
            "appeal": row.slug,
            "title": row.title,
            "label": row.label,
            "good": bool(row.good),
            "days": float(row.days_to_outcome),
        }
        for row in done.itertuples(index=False)
    ]
    frame = pd.DataFrame(rows, columns=["at", "appeal", "title", "label", "good", "days"])
    return frame.sort_values("at", kind="stable").reset_index(drop=True)


def waiting(table: pd.DataFrame, tz: ZoneInfo, campaigns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``waiting_longest`` as staff read it: appeal, title, campaign (its name), country, opened
    (local date), days."""
    rows = [
        {
            "appeal": row.slug,
            "title": row.title,
            "campaign": (campaigns or {}).get(row.campaign, row.campaign),
            "country": short_country(str(row.country)) if row.country else "",
            "opened": local(row.opened_at.to_pydatetime(), tz).date(),
            "days": int(row.days_waiting),
        }
        for row in table.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=["appeal", "title", "campaign", "country", "opened", "days"])


# -- the Live page's strip: social figures and today's demonstrations per campaign ------------------


@dataclass(frozen=True)
class StripRow:
    """One campaign's line under the cards: its social figures (if any) and today's demonstrations."""

    campaign: str  # slug
    name: str
    social: dict[str, Any] | None
    today: pd.DataFrame


def strip_rows(
    campaigns: Sequence[str],
    figures: Iterable[CampaignFigures],
    today: pd.DataFrame,
    names: Mapping[str, str],
    limit: int = 2,
) -> list[StripRow]:
    """A row per shown campaign that has social activity or a demonstration today, at most ``limit``.

    A campaign without either gets no row: the wall screen keeps its space for the charts.
    """
    by_slug = {f.slug: f for f in figures}
    rows = []
    for slug in dict.fromkeys(campaigns):
        social = by_slug.get(slug)
        mine = today[today["campaign"] == slug].reset_index(drop=True)
        if (social is None or not has_social(social)) and not len(mine):
            continue
        summary = social_summary(social) if social is not None and has_social(social) else None
        rows.append(StripRow(slug, names.get(slug) or slug.replace("-", " ").title(), summary, mine))
    return rows[:limit]


LANE_LABELS = {
    "reply": "Replies (thank-yous, confirmations, help)",
    "bulk": "Bulk (alerts, outcome messages)",
}


def lanes(frame: pd.DataFrame) -> pd.DataFrame:
    """The outbox's lanes as the Messages page lists them.  ``frame``: lane, due, lag_seconds."""
    return pd.DataFrame(
        {
            "lane": [LANE_LABELS.get(lane, lane) for lane in frame["lane"]],
            "due": frame["due"].astype(int),
            "late": frame["lag_seconds"].round(0).astype(int),
        }
    )

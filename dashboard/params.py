"""What a screen shows, read from its URL: a screen is set up by its address alone.

Wall screens and broadcast browser sources have no keyboard; whoever installs one types
a URL such as ``/live?campaign=torture&theme=light`` or
``/on-air?appeal=hassan&theme=green`` and walks away.  A wrong value therefore never
stops a screen: an unknown theme falls back to the default, odd characters in a slug
are dropped, and the page says which appeal it could not find.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from campaign.appeals.outcomes import KINDS
from campaign.errors import BadRequest
from campaign.history.filters import FILTER_NAMES, OUTCOME_GROUPS, Filters, checked
from campaign.storage.models import EVERY_CAMPAIGN

LiveTheme = Literal["dark", "light"]
OnAirTheme = Literal["dark", "light", "green", "transparent"]

LIVE_THEMES: tuple[LiveTheme, ...] = ("dark", "light")
ON_AIR_THEMES: tuple[OnAirTheme, ...] = ("dark", "light", "green", "transparent")
# Words a gallery might type for the chroma-key background.
ON_AIR_ALIASES = {"chroma": "green", "chromakey": "green", "key": "green", "none": "transparent"}
LABEL_LENGTH = 60
SLUG = re.compile(r"[^a-z0-9-]")

# Query values as Streamlit gives them: each name with one or more values.
Query = Mapping[str, Iterable[str]]


@dataclass(frozen=True)
class Selection:
    """Which appeals a screen covers: named appeals, whole campaigns, or everything."""

    appeals: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.appeals and not self.campaigns

    @property
    def key(self) -> str:
        """A stable name for this selection, e.g. to remember what was last shown of it."""
        if self.appeals:
            return "appeal:" + ",".join(self.appeals)
        if self.campaigns:
            return "campaign:" + ",".join(self.campaigns)
        return "all"


@dataclass(frozen=True)
class LiveParams:
    selection: Selection
    theme: LiveTheme = "dark"


@dataclass(frozen=True)
class OnAirParams:
    selection: Selection
    theme: OnAirTheme = "dark"
    label: str | None = None
    # None: the appeals' own goal; 0: no goal shown; n: this goal.
    goal: int | None = None


def live_params(query: Query) -> LiveParams:
    theme = _last(query, "theme").lower()
    return LiveParams(
        selection=selection(query),
        theme="light" if theme == "light" else "dark",
    )


def on_air_params(query: Query) -> OnAirParams:
    theme = _last(query, "theme").lower()
    theme = ON_AIR_ALIASES.get(theme, theme)
    label = " ".join(_last(query, "label").split())[:LABEL_LENGTH] or None
    return OnAirParams(
        selection=selection(query),
        theme=next((t for t in ON_AIR_THEMES if t == theme), "dark"),
        label=label,
        goal=_goal(_last(query, "goal")),
    )


def selection(query: Query) -> Selection:
    """``appeal`` and ``campaign`` each take one slug, a repeated parameter or a comma list.

    ``campaign=all`` (the reserved campaign of the ingest's network feeds) is everything.
    """
    campaigns = _slugs(query, "campaign")
    if EVERY_CAMPAIGN in campaigns:
        campaigns = ()
    return Selection(appeals=_slugs(query, "appeal"), campaigns=campaigns)


# An address is typed or shared by people: a list in it is short.  Bounded, so that a crafted
# address (40,000 slugs) costs the dashboard no more than a real one.
MOST_LISTED = 200  # distinct values of one parameter
LONGEST_VALUE = 64  # characters of one value
MOST_PROBLEMS = 5  # problems reported by name; the rest are counted


def _parts(query: Query, name: str) -> Iterable[str]:
    """The comma-separated values of ``name``, stripped, each at most LONGEST_VALUE long."""
    for value in list(query.get(name, ()))[:MOST_LISTED]:
        for part in value.split(",", MOST_LISTED)[:MOST_LISTED]:
            part = part.strip()
            if part:
                yield part[: LONGEST_VALUE + 1]


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    """The first MOST_LISTED distinct values, in order, in linear time."""
    kept: dict[str, None] = {}
    for value in values:
        kept.setdefault(value)
        if len(kept) >= MOST_LISTED:
            break
    return tuple(kept)


def _slugs(query: Query, name: str) -> tuple[str, ...]:
    return _distinct(slug for slug in (SLUG.sub("", part.lower()) for part in _parts(query, name)) if slug)


def _last(query: Query, name: str) -> str:
    values = list(query.get(name, ()))
    return values[-1].strip() if values else ""


def _goal(value: str) -> int | None:
    if value.lower() in {"none", "off", "no", "false"}:
        return 0
    digits = value.replace("_", "").replace(",", "").replace(" ", "")
    # isdecimal, not isdigit: "²" is a digit int() refuses; twelve digits is goal enough.
    return int(digits) if digits.isdecimal() and len(digits) <= 12 else None


# -- staff pages ------------------------------------------------------------------------------
# Staff share a view by sending its address, so each filter lives in the URL too.

MapShade = Literal["demonstrations", "signatures"]
MAP_SHADES: tuple[MapShade, ...] = ("demonstrations", "signatures")


@dataclass(frozen=True)
class MapParams:
    """``/map?campaign=kenya&from=2008-02-27&to=2008-03-31&shade=signatures&country=KE``.

    ``region`` and ``country`` are kept as typed (trimmed, at most ``LABEL_LENGTH``
    characters): the page checks them and says which one it does not know."""

    campaign: str | None = None
    start: date | None = None
    end: date | None = None
    shade: MapShade = "demonstrations"
    region: str | None = None  # "europe"; None: the world
    country: str | None = None  # "KE" (or a name): one country and its subdivisions


@dataclass(frozen=True)
class OutcomesParams:
    """``/outcomes?campaign=torture``."""

    campaign: str | None = None


def map_params(query: Query) -> MapParams:
    shade = _last(query, "shade").lower()
    start, end = _day(_last(query, "from")), _day(_last(query, "to"))
    if start and end and start > end:  # a range typed backwards is still the same range
        start, end = end, start
    return MapParams(
        campaign=_one_slug(query, "campaign"),
        start=start,
        end=end,
        shade=next((s for s in MAP_SHADES if s == shade), "demonstrations"),
        region=_typed(_last(query, "region").lower()),
        country=_typed(_last(query, "country")),
    )


def _typed(value: str) -> str | None:
    """A value kept as typed for the page to check and name: at most ``LABEL_LENGTH`` characters."""
    return value[:LABEL_LENGTH].strip() or None


def outcomes_params(query: Query) -> OutcomesParams:
    return OutcomesParams(campaign=_one_slug(query, "campaign"))


def map_query(params: MapParams) -> dict[str, str | None]:
    """The URL parameters of a map view (None: left out), so it can be shared as a link."""
    return {
        "campaign": params.campaign,
        "from": params.start.isoformat() if params.start else None,
        "to": params.end.isoformat() if params.end else None,
        "shade": None if params.shade == "demonstrations" else params.shade,
        "region": params.region,
        "country": params.country,
    }


def date_range(picked: object) -> tuple[date | None, date | None]:
    """``st.date_input``'s value as (start, end): a range half picked is open at its end."""
    if isinstance(picked, date):
        return picked, picked
    chosen = [d for d in picked if isinstance(d, date)] if isinstance(picked, tuple | list) else []
    return (chosen[0] if chosen else None), (chosen[1] if len(chosen) > 1 else None)


def _one_slug(query: Query, name: str) -> str | None:
    slugs = _slugs(query, name)
    return slugs[0] if slugs else None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# -- History ------------------------------------------------------------------------------------
# ``/history?campaign=torture&appeal=hassan&from=2008-01-01&to=2008-12-31&channel=sms&country=NL,BE``.
# A value that cannot be read is left out and named in ``problems``, shown above the page.

HISTORY_LISTS = ("campaign", "appeal", "channel", "provider", "country", "platform")


@dataclass(frozen=True)
class HistoryParams:
    filters: Filters
    problems: tuple[str, ...] = ()


def history_params(query: Query) -> HistoryParams:
    problems: list[str] = []
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        text = _last(query, name)
        days[name] = _day(text)
        if text and days[name] is None:
            problems.append(f"{name}={text!r} is not a date such as 2008-02-27; left out")
    start, end = days["from"], days["to"]
    if start and end and start > end:
        start, end = end, start
    lists: dict[str, tuple[str, ...]] = {}
    refused = 0
    for name in HISTORY_LISTS:
        good: list[str] = []
        for value in _parts(query, name):
            value = value.upper() if name == "country" else value.lower()
            if _history_value_ok(name, value):
                good.append(value)
            elif refused < MOST_PROBLEMS:
                problems.append(f"{name}={value[:LONGEST_VALUE]!r} is not a valid {name}; left out")
                refused += 1
            else:
                refused += 1
        lists[name] = _distinct(good)
    if refused > MOST_PROBLEMS:
        problems.append(f"and {refused - MOST_PROBLEMS} more values left out")
    outcome = _last(query, "outcome").lower() or None
    if outcome is not None and not _history_value_ok("outcome", outcome):
        problems.append(f"outcome={outcome!r} is not one of {', '.join(history_outcomes())}; left out")
        outcome = None
    filters = Filters(
        start=start,
        end=end,
        campaigns=lists["campaign"],
        appeals=lists["appeal"],
        channels=lists["channel"],
        providers=lists["provider"],
        countries=lists["country"],
        platforms=lists["platform"],
        outcome=outcome,
    )
    return HistoryParams(filters, tuple(problems))


def history_query(filters: Filters) -> dict[str, str | None]:
    """The URL parameters of a History view (None: left out), so it can be shared as a link."""
    out: dict[str, str | None] = {
        "from": filters.start.isoformat() if filters.start else None,
        "to": filters.end.isoformat() if filters.end else None,
    }
    for field_name, name in FILTER_NAMES.items():
        value = getattr(filters, field_name)
        out[name] = (",".join(value) or None) if isinstance(value, tuple) else value
    return out


def history_outcomes() -> list[str]:
    return [*OUTCOME_GROUPS, *KINDS]


def _history_value_ok(name: str, value: str) -> bool:
    field_name = {v: k for k, v in FILTER_NAMES.items()}[name]
    try:
        checked(Filters(**{field_name: value if name == "outcome" else (value,)}))  # type: ignore[arg-type]
    except BadRequest:
        return False
    return True

"""From live figures to the tables the screens draw: pure functions, no Streamlit.

``campaign.live.figures`` hands over one ``AppealFigures`` per appeal; the pages pick the appeals
their URL asks for (``pick``) and turn them into small DataFrames that ``charts`` draws
and ``blocks`` lays out.  Times arrive in UTC and leave in the organisation's time zone,
as naive wall-clock times, because that is what people in the room read on their
watches and what Plotly draws without shifting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from campaign.activity.geo import country_name
from campaign.appeals import milestones
from campaign.live.figures import AppealFigures
from campaign.storage.models import EVERY_CAMPAIGN
from dashboard.params import Selection

OPEN = "open"
NARROW_SPACE = "\u202f"
CHANNEL_NAMES = {
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "web": "Web",
    "email": "Email",
    "paper": "Paper",
    "facebook": "Facebook",
    "import": "Import",
}


@dataclass(frozen=True)
class Picked:
    """The appeals a screen shows, and the slugs its URL named that do not exist."""

    appeals: tuple[AppealFigures, ...]
    missing: tuple[str, ...] = ()


def pick(figures: Iterable[AppealFigures], selection: Selection, *, only_open: bool) -> Picked:
    """The appeals of a selection, in an order that does not reshuffle as counts change.

    Named appeals keep the order of the URL.  Otherwise appeals are ordered by campaign
    and title; with ``only_open`` closed ones are left out unless nothing else is left,
    so a wall screen moves on when an appeal closes but is never empty for it.
    """
    by_slug = {f.slug: f for f in figures}
    if selection.appeals:
        named = tuple(by_slug[s] for s in selection.appeals if s in by_slug)
        return Picked(named, tuple(s for s in selection.appeals if s not in by_slug))
    chosen = [f for f in by_slug.values() if selection.everything or f.campaign in selection.campaigns]
    chosen.sort(key=lambda f: (f.campaign, f.title.lower(), f.slug))
    if only_open and any(f.status == OPEN for f in chosen):
        chosen = [f for f in chosen if f.status == OPEN]
    known = {f.campaign for f in by_slug.values()}
    return Picked(tuple(chosen), tuple(c for c in selection.campaigns if c not in known))


def name_of(figures: AppealFigures) -> str:
    """The short name a legend or a card uses: the person, else the title, else the slug."""
    return figures.person or figures.title or figures.slug


def total(appeals: Sequence[AppealFigures]) -> int:
    return sum(a.signatures for a in appeals)


def goal(appeals: Sequence[AppealFigures]) -> int | None:
    """The goal of a group of appeals: the sum of their goals, only if each has one."""
    if not appeals or any(not a.goal for a in appeals):
        return None
    return sum(a.goal or 0 for a in appeals)


def per_minute(appeals: Sequence[AppealFigures], tz: ZoneInfo) -> pd.DataFrame:
    """Signatures per minute over the last hour: columns minute, appeal, signatures."""
    rows = [
        {
            "minute": local_time(point["minute"], tz),
            "appeal": name_of(a),
            "signatures": int(point["signatures"]),
        }
        for a in appeals
        for point in a.per_minute
    ]
    return pd.DataFrame(rows, columns=["minute", "appeal", "signatures"]).astype(
        {"signatures": "int64", "appeal": "string"}
    )


def channels(appeals: Sequence[AppealFigures]) -> pd.DataFrame:
    """Signatures by channel per appeal: columns appeal, channel, signatures."""
    rows = [
        {"appeal": name_of(a), "channel": channel_label(ch), "signatures": n}
        for a in appeals
        for ch, n in sorted(a.channels.items(), key=lambda item: (-item[1], item[0]))
        if n > 0
    ]
    return pd.DataFrame(rows, columns=["appeal", "channel", "signatures"]).astype(
        {"signatures": "int64", "appeal": "string", "channel": "string"}
    )


def countries(appeals: Sequence[AppealFigures], top: int = 8) -> pd.DataFrame:
    """The leading countries of the appeals together: columns country, name, signatures.

    Each appeal's live figures carry its own top ten; summed over several appeals the
    order is right for any country that is in the top ten of each.
    """
    summed: dict[str, int] = {}
    for a in appeals:
        for row in a.countries:
            summed[row["country"]] = summed.get(row["country"], 0) + int(row["signatures"])
    ranked = sorted(summed.items(), key=lambda item: (-item[1], item[0]))[:top]
    rows = [{"country": code, "name": country_name(code), "signatures": n} for code, n in ranked]
    return pd.DataFrame(rows, columns=["country", "name", "signatures"]).astype(
        {"signatures": "int64", "country": "string", "name": "string"}
    )


def ticker(appeals: Sequence[AppealFigures], tz: ZoneInfo, limit: int = 9) -> pd.DataFrame:
    """The latest actions, newest first: at (local), number (masked), country, channel, appeal."""
    rows = [
        {
            "at": local_time(entry["at"], tz),
            "number": entry.get("number", ""),
            "country": country_name(entry.get("country", "")),
            "channel": channel_label(entry.get("channel", "")),
            "appeal": name_of(a),
        }
        for a in appeals
        for entry in a.recent
        if entry.get("at")
    ]
    frame = pd.DataFrame(rows, columns=["at", "number", "country", "channel", "appeal"])
    return frame.sort_values("at", ascending=False, kind="stable").head(limit).reset_index(drop=True)


def grouped(number: int) -> str:
    """12345 -> "12\u202f345": thousands set apart by a narrow no-break space, in any language."""
    return f"{number:,}".replace(",", NARROW_SPACE)


def channel_label(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel.capitalize())


def local_time(iso: str, tz: ZoneInfo) -> datetime:
    """A stored UTC timestamp as the organisation's wall-clock time (naive)."""
    return datetime.fromisoformat(iso).astimezone(tz).replace(tzinfo=None)


def describe(picked: Picked, selection: Selection, names: Mapping[str, str] | None = None) -> tuple[str, str]:
    """A heading and a subheading for what a screen shows (``names``: campaign slug -> name)."""
    if len(picked.appeals) == 1 and selection.appeals:
        appeal = picked.appeals[0]
        return appeal.title or appeal.slug, f"for {appeal.person}" if appeal.person else ""
    count = f"{len(picked.appeals)} appeal{'' if len(picked.appeals) == 1 else 's'}"
    if selection.appeals:
        return "Appeals", count
    if selection.campaigns and names and all(c in names for c in selection.campaigns):
        return " + ".join(names[c] for c in selection.campaigns), count
    if selection.campaigns:
        return f"Campaign {' + '.join(selection.campaigns)}", count
    return "All appeals", count


def missing_note(picked: Picked) -> str:
    if not picked.missing:
        return ""
    names = ", ".join(repr(s) for s in picked.missing)
    return f"not found: {names}"


def milestone_scopes(picked: Picked, selection: Selection) -> tuple[str, ...]:
    """The milestone scopes a screen speaks for: its appeals, their campaigns, and ``all``."""
    scopes = [milestones.appeal_scope(a.slug) for a in picked.appeals]
    scopes += [
        milestones.campaign_scope(c) for c in dict.fromkeys(a.campaign for a in picked.appeals if a.campaign)
    ]
    if selection.everything:
        scopes.append(milestones.campaign_scope(EVERY_CAMPAIGN))
    return tuple(scopes)


def milestone_marks(passed: Sequence[milestones.Passed], tz: ZoneInfo) -> pd.DataFrame:
    """Milestones as the screens mark them: at (local, naive), label ("10 000 reached 14:02 · torture").

    The scope is named only when the milestones are of more than one.
    """
    several = len({p.scope for p in passed}) > 1
    rows = []
    for p in passed:
        at = p.at.astimezone(tz).replace(tzinfo=None)
        named = f" · {p.scope.partition(':')[2] or p.scope}" if several else ""
        rows.append({"at": at, "label": f"{grouped(p.milestone)} reached {at:%H:%M}{named}"})
    return pd.DataFrame(rows, columns=["at", "label"])

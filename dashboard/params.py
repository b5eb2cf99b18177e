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
from typing import Literal

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
    """``appeal`` and ``campaign`` each take one slug, a repeated parameter or a comma list."""
    return Selection(appeals=_slugs(query, "appeal"), campaigns=_slugs(query, "campaign"))


def _slugs(query: Query, name: str) -> tuple[str, ...]:
    found: list[str] = []
    for value in query.get(name, ()):
        for part in value.split(","):
            slug = SLUG.sub("", part.strip().lower())
            if slug and slug not in found:
                found.append(slug)
    return tuple(found)


def _last(query: Query, name: str) -> str:
    values = list(query.get(name, ()))
    return values[-1].strip() if values else ""


def _goal(value: str) -> int | None:
    if value.lower() in {"none", "off", "no", "false"}:
        return 0
    digits = value.replace("_", "").replace(",", "").replace(" ", "")
    return int(digits) if digits.isdigit() else None

"""A rotating wall screen's playlist: which pages and scopes it cycles through, and how fast.

A wall screen has no keyboard, so the playlist is in its address
(``/live?rotate=live:hassan,map,live:campaign:torture&every=20``) or in its screen token
(``campaign screen add NAME --rotate "live:hassan,on-air:all" --every 20``).  An entry is
``PAGE`` (everything), ``PAGE:SLUG`` (an appeal), ``PAGE:appeal:SLUG``, ``PAGE:campaign:SLUG``
or ``PAGE:all``.  A wrong playlist is refused with the entry it stumbled on, never guessed at:
the screen would otherwise show something nobody chose, on a wall nobody watches closely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, select

from campaign.errors import BadRequest, NotFound
from campaign.storage.models import EVERY_CAMPAIGN, Appeal, Campaign

# The pages a screen can rotate through; the map needs a login (its role is staff).
PAGES = ("live", "on-air", "map")
EVERY_LEAST, EVERY_MOST, EVERY_DEFAULT = 5, 3600, 30  # seconds per page
MOST_ENTRIES = 20
LONGEST_TEXT = 1000  # characters of a whole playlist, as stored with a token
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class Entry:
    """One page of the rotation and what it shows: an appeal, a campaign's sum, or everything."""

    page: str
    appeal: str | None = None
    campaign: str | None = None

    @property
    def text(self) -> str:
        """The entry as written in a playlist, in its shortest form."""
        if self.appeal:  # an appeal called "all" keeps its long form: "live:all" is everything
            return f"{self.page}:{'appeal:' if self.appeal == EVERY_CAMPAIGN else ''}{self.appeal}"
        return f"{self.page}:campaign:{self.campaign}" if self.campaign else self.page

    def query(self) -> dict[str, str]:
        """The page's own URL parameters for this scope."""
        if self.appeal:
            return {"appeal": self.appeal}
        return {"campaign": self.campaign} if self.campaign else {}


@dataclass(frozen=True)
class Playlist:
    entries: tuple[Entry, ...]
    every: int = EVERY_DEFAULT

    @property
    def text(self) -> str:
        return ",".join(entry.text for entry in self.entries)

    @property
    def pages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(entry.page for entry in self.entries))

    def entry(self, page: str, slot: str | None) -> Entry | None:
        """The entry ``page`` shows at ``slot`` (its place in the list), else its first; None if absent."""
        if slot is not None and slot.isdecimal() and int(slot) < len(self.entries):
            chosen = self.entries[int(slot)]
            if chosen.page == page:
                return chosen
        return next((entry for entry in self.entries if entry.page == page), None)


def parse(text: str, every: str | int | None = None) -> Playlist:
    """A playlist from its written form; a BadRequest naming the entry that cannot be read."""
    if len(text) > LONGEST_TEXT:
        raise BadRequest(f"rotate: at most {LONGEST_TEXT} characters")
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise BadRequest("rotate: name at least one page, e.g. rotate=live:hassan,map")
    if len(parts) > MOST_ENTRIES:
        raise BadRequest(f"rotate: at most {MOST_ENTRIES} pages, not {len(parts)}")
    return Playlist(tuple(_entry(part) for part in parts if part), _every(every))


def _entry(part: str) -> Entry:
    page, _, scope = part.lower().partition(":")
    if page not in PAGES:
        raise BadRequest(f"rotate: {part[:80]!r}: no page {page[:40]!r}; the pages are {', '.join(PAGES)}")
    kind, _, slug = scope.partition(":")
    if not scope or scope == EVERY_CAMPAIGN:
        entry = Entry(page)
    elif kind in ("appeal", "campaign") and slug:
        entry = Entry(page, **{kind: _slug(part, slug)})
    elif not slug:
        entry = Entry(page, appeal=_slug(part, kind))
    else:
        raise BadRequest(f"rotate: {part[:80]!r}: write PAGE:APPEAL, PAGE:campaign:SLUG or PAGE:all")
    if entry.campaign == EVERY_CAMPAIGN:
        entry = Entry(page)
    if page == "map" and entry.appeal:
        raise BadRequest(f"rotate: {part[:80]!r}: the map shows a campaign (map:campaign:SLUG) or everything")
    return entry


def _slug(part: str, slug: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise BadRequest(f"rotate: {part[:80]!r}: {slug[:70]!r} is not a slug (a-z, 0-9 and -)")
    return slug


def _every(every: str | int | None) -> int:
    if every is None or every == "":
        return EVERY_DEFAULT
    text = str(every).strip().lower().removesuffix("s")
    if not text.isdecimal() or not EVERY_LEAST <= int(text) <= EVERY_MOST:
        raise BadRequest(f"every: seconds per page, {EVERY_LEAST} to {EVERY_MOST}, not {str(every)[:20]!r}")
    return int(text)


def check(connection: Connection, playlist: Playlist) -> None:
    """Every appeal and campaign the playlist names exists; else a NotFound naming the first that does not."""
    appeals = {entry.appeal for entry in playlist.entries if entry.appeal}
    campaigns = {entry.campaign for entry in playlist.entries if entry.campaign}
    known_appeals = set(connection.scalars(select(Appeal.slug).where(Appeal.slug.in_(appeals))))
    known_campaigns = set(connection.scalars(select(Campaign.slug).where(Campaign.slug.in_(campaigns))))
    for entry in playlist.entries:
        if entry.appeal and entry.appeal not in known_appeals:
            raise NotFound(f"rotate: {entry.text!r}: no appeal {entry.appeal!r}")
        if entry.campaign and entry.campaign not in known_campaigns:
            raise NotFound(f"rotate: {entry.text!r}: no campaign {entry.campaign!r}")

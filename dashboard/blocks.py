"""The wall screen's text blocks (heading, figure cards, ticker) as HTML: pure functions.

Big numbers and a list of the latest actions are typography rather than charts, so they
are plain HTML styled by ``style.live_css``; no script, nothing to load.  Every value
that comes from the database is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pandas as pd

from campaign.history.queries import Headline
from campaign.live.figures import AppealFigures
from dashboard.frames import goal, grouped, name_of, total
from dashboard.tables import StripRow

MAX_APPEAL_CARDS = 5


@dataclass(frozen=True)
class Members:
    """SMS-network members: all of them, and how many joined since the screen started."""

    total: int
    new: int
    since: str


@dataclass(frozen=True)
class Status:
    """Whether the figures on screen are current, for the heading's marker."""

    live: bool
    note: str = ""


MAX_MARKS = 2  # milestones the heading names at once (the newest)


def heading(
    title: str, subtitle: str, now: datetime, zone: str, status: Status, marks: Sequence[str] = ()
) -> str:
    """The Live page's heading; ``marks``: milestones passed lately, the newest shown first."""
    marker = '<span class="cr-live">LIVE</span>' if status.live else '<span class="cr-live off">PAUSED</span>'
    note = f'<span class="cr-note alert">{escape(status.note)}</span>' if status.note else ""
    if marks:
        shown = " · ".join(escape(m) for m in list(reversed(marks))[:MAX_MARKS])
        note += f'<span class="cr-milestone" title="milestones passed in the last hour">★ {shown}</span>'
    return (
        '<div class="cr-head">'
        f'<div class="cr-title">{marker}<h1>{escape(title)}</h1>'
        f'<span class="cr-sub">{escape(subtitle)}</span>{note}</div>'
        f'<div class="cr-clock"><b>{now:%H:%M:%S}</b><span>{now:%a %d %b} · {escape(zone)}</span></div>'
        "</div>"
    )


def cards(appeals: Sequence[AppealFigures], members: Members, *, label: str) -> str:
    """One appeal: count, rate, goal, network.  Several: their sum, then one card each."""
    if len(appeals) == 1:
        a = appeals[0]
        body = [
            _card("Signatures", grouped(a.signatures), f"<b>{escape(a.title)}</b>", hero=True),
            _card("Last minute", grouped(a.last_minute), "signatures in the last 60 seconds"),
        ]
        if a.goal:
            body.append(_goal_card(a.signatures, a.goal))
    else:
        shown = appeals[:MAX_APPEAL_CARDS]
        more = len(appeals) - len(shown)
        rate = sum(a.last_minute for a in appeals)
        summary = f"<b>{grouped(rate)}</b> in the last minute" + (f" · {more} more appeals" if more else "")
        body = [_card(label, grouped(total(appeals)), summary, hero=True)]
        body += [_appeal_card(a) for a in shown]
    body.append(
        _card(
            "New SMS members",
            f"+{grouped(members.new)}",
            f"since {escape(members.since)} · <b>{grouped(members.total)}</b> in the network",
        )
    )
    many = " many" if len(body) > 4 else ""
    return f'<div class="cr-cards{many}">{"".join(body)}</div>'


def ticker(frame: pd.DataFrame, now: datetime, *, show_appeal: bool) -> str:
    """The latest actions, newest first; those of the current minute stand out.

    ``frame``: as ``frames.ticker`` (local, naive times, to the minute); ``now`` in the same
    zone.  Times are shown to the minute, as they are read: a second would single out a text.
    """
    this_minute = now.replace(second=0, microsecond=0)
    if not len(frame):
        rows = '<div class="cr-empty">Waiting for the first signature…</div>'
    else:
        lines = []
        for row in frame.itertuples(index=False):
            fresh = ' class="fresh"' if row.at >= this_minute else ""
            appeal = f'<td class="a">{escape(str(row.appeal))}</td>' if show_appeal else ""
            lines.append(
                f"<tr{fresh}><td class='t'>{row.at:%H:%M}</td>"
                f"<td class='n'>{escape(str(row.number))}</td>"
                f"<td class='c'>{escape(str(row.country))}</td>"
                f"<td class='ch'>{escape(str(row.channel))}</td>{appeal}</tr>"
            )
        rows = f'<table class="cr-ticker">{"".join(lines)}</table>'
    return f'<div class="cr-panel-h">Latest actions</div>{rows}'


def ticker_rows(height: int) -> int:
    """How many ticker lines fit a panel of this chart height (a line is 43 px with its rule)."""
    return max(3, min(9, (height - 30) // 43))


def _card(key: str, value: str, sub: str, *, hero: bool = False, bar: float | None = None) -> str:
    meter = f'<div class="cr-bar"><span style="width:{bar:.1f}%"></span></div>' if bar is not None else ""
    return (
        f'<div class="cr-card{" hero" if hero else ""}"><div class="cr-k">{escape(key)}</div>'
        f'<div class="cr-v">{value}</div>{meter}<div class="cr-s">{sub}</div></div>'
    )


def _goal_card(signatures: int, target: int) -> str:
    share = 100 * signatures / target
    return _card(
        "Goal",
        f"{min(share, 999):.0f}%",
        f"of <b>{grouped(target)}</b>" + (" · reached" if signatures >= target else ""),
        bar=min(share, 100),
    )


def _appeal_card(a: AppealFigures) -> str:
    sub = f"<b>{grouped(a.last_minute)}</b>/min"
    target = goal([a])
    if target:
        sub += f" · {100 * a.signatures / target:.0f}% of {grouped(target)}"
    bar = min(100 * a.signatures / target, 100) if target else None
    return _card(name_of(a), grouped(a.signatures), sub, bar=bar)


# -- Live: a slim strip of social figures and today's demonstrations, per campaign --------------------

TODAY_SHOWN = 4


def strip(rows: Sequence[StripRow], *, named: bool) -> str:
    """One line per campaign under the cards: social figures beside the signatures, and the
    demonstrations happening today.  ``named``: lead each line with the campaign's name
    (when the screen shows more than one campaign)."""
    if not rows:
        return ""
    lines = []
    for row in rows:
        cells = [f'<div class="cr-sname">{escape(row.name)}</div>'] if named else []
        if row.social is not None:
            s = row.social
            share = s["from_social"]
            via = f"via {escape(str(s['top_referrer']).capitalize())}" if s["top_referrer"] else ""
            cells += [
                _mini("Facebook joins", grouped(s["joins"])),
                _mini("Posts", grouped(s["posts"])),
                _mini("Photos", grouped(s["photos"])),
                _mini("Web visits", grouped(s["visits"])),
                _mini("From social media", "–" if share is None else f"{100 * share:.0f}%", via),
            ]
        cells.append(_today(row.today))
        kind = ("" if row.social is not None else " only-today") + (" named" if named else "")
        lines.append(f'<div class="cr-srow{kind}">{"".join(cells)}</div>')
    return f'<div class="cr-strip">{"".join(lines)}</div>'


def _mini(key: str, value: str, sub: str = "") -> str:
    note = f'<span class="cr-ms">{sub}</span>' if sub else ""
    return (
        f'<div class="cr-mini"><div class="cr-k">{escape(key)}</div>'
        f'<div class="cr-mv">{value}{note}</div></div>'
    )


def _today(frame: pd.DataFrame) -> str:
    count = len(frame)
    if not count:
        return (
            '<div class="cr-mini today"><div class="cr-k">Demonstrations today</div>'
            '<div class="cr-tl"><span class="none">None today</span></div></div>'
        )
    items = []
    shown = TODAY_SHOWN if count <= TODAY_SHOWN else TODAY_SHOWN - 1  # the last place says how many more
    for row in frame.head(shown).itertuples(index=False):
        people = "" if pd.isna(row.attendance) else f"{grouped(int(row.attendance))} people"
        items.append(f"<span><b>{row.starts_at:%H:%M}</b> {escape(row.city)}<i>{people}</i></span>")
    more = f'<span class="more">+{count - shown} more</span>' if count > shown else ""
    return (
        f'<div class="cr-mini today"><div class="cr-k">Demonstrations today · {count}</div>'
        f'<div class="cr-tl">{"".join(items)}{more}</div></div>'
    )


# -- staff pages ----------------------------------------------------------------------------------------


def staff_heading(title: str, subtitle: str) -> str:
    return f'<h1 class="sf-h">{escape(title)}</h1><div class="sf-sub">{escape(subtitle)}</div>'


def home_heading(subtitle: str) -> str:
    """The start page's heading (its own class: tests tell it from the staff pages by it)."""
    return f'<h1 class="sf-h sf-home">Campaign room</h1><div class="sf-sub">{escape(subtitle)}</div>'


def panel_heading(text: str) -> str:
    return f'<div class="sf-panel-h">{escape(text)}</div>'


def demonstration_list(frame: pd.DataFrame) -> str:
    """The demonstrations as cards: when, where, how many, who, links and photo thumbnails.

    Photos and links are other sites' addresses, shown only when given; nothing is fetched
    while the page is built (the browser loads a thumbnail lazily, without a referrer).
    """
    if not len(frame):
        return '<div class="sf-empty">No demonstrations in this view.</div>'
    cards = []
    for row in frame.itertuples(index=False):
        people = "attendance unknown" if pd.isna(row.attendance) else f"{grouped(int(row.attendance))} people"
        links = "".join(f"{_link(url)}{escape(_host(url))}</a>" for url in row.links)
        photos = "".join(
            f'{_link(url)}<img src="{escape(url, quote=True)}" loading="lazy" '
            'referrerpolicy="no-referrer" alt="photo"></a>'
            for url in row.photos
        )
        cards.append(
            '<div class="sf-demo">'
            f'<div class="sf-when">{row.starts_at:%a %d %b %Y · %H:%M}</div>'
            f'<div class="sf-title">{escape(row.title)}</div>'
            f'<div class="sf-where">{escape(row.city)}, {escape(row.country_name)}</div>'
            f'<div class="sf-meta"><b>{people}</b> · {escape(row.organiser or "organiser unknown")}</div>'
            + (f'<div class="sf-links">{links}</div>' if links else "")
            + (f'<div class="sf-photos">{photos}</div>' if photos else "")
            + "</div>"
        )
    return f'<div class="sf-demos">{"".join(cards)}</div>'


def photo_list(frame: pd.DataFrame, *, thumbnails: bool = False, limit: int = 60) -> str:
    """The newest Flickr photos on the map: title, day and a link to the photo's page.

    Thumbnails only when the operator allows them (``CAMPAIGN_MAP_PHOTO_THUMBNAILS``): the
    browser then loads them from Flickr, without a referrer; otherwise nothing leaves."""
    if not len(frame):
        return '<div class="sf-empty">No Flickr photos with a place in this view.</div>'
    cards = []
    for row in frame.iloc[::-1].head(limit).itertuples(index=False):
        image = (
            f'<div class="sf-photos">{_link(row.url)}<img src="{escape(row.thumbnail, quote=True)}" '
            'loading="lazy" referrerpolicy="no-referrer" alt="photo"></a></div>'
            if thumbnails and isinstance(row.thumbnail, str) and row.thumbnail.startswith("https://")
            else ""
        )
        cards.append(
            '<div class="sf-demo">'
            f'<div class="sf-when">{row.taken:%a %d %b %Y · %H:%M}</div>'
            f'<div class="sf-title">{escape(row.title or "Untitled photo")}</div>'
            f'<div class="sf-links">{_link(row.url)}{escape(row.url)}</a></div>' + image + "</div>"
        )
    return f'<div class="sf-demos">{"".join(cards)}</div>'


def subdivision_counts(table: pd.DataFrame, country: str) -> str:
    """Demonstrations per subdivision of one country, most first, as one line of cards."""
    if not len(table):
        return f'<div class="sf-empty">No demonstration placed in a subdivision of {escape(country)}.</div>'
    ordered = table.sort_values(["value", "name"], ascending=[False, True], kind="stable")
    return (
        '<div class="sf-figures">'
        + "".join(_figure(str(row.name), grouped(int(row.value)), row.code) for row in ordered.itertuples())
        + "</div>"
    )


def map_summary(frame: pd.DataFrame) -> str:
    """The figures of a map view in one line of cards: demonstrations, countries, people."""
    known = frame["attendance"].dropna()
    people = grouped(int(known.sum())) if len(known) else "–"
    first, last = (frame["day"].min(), frame["day"].max()) if len(frame) else (None, None)
    span = f"{first:%d %b} – {last:%d %b %Y}" if first and last else "no dates"
    return (
        '<div class="sf-figures">'
        + _figure("Demonstrations", grouped(len(frame)), span)
        + _figure("Countries", grouped(frame["country"].nunique()), "with a demonstration")
        + _figure(
            "People", people, f"at the {len(known)} with a count" if len(known) < len(frame) else "in total"
        )
        + "</div>"
    )


def outcome_headline(share: float | None, decided: int, good: int, appeals: int, waiting: int) -> str:
    """The share of decided appeals with a good outcome, large, with what it is a share of."""
    value = "–" if share is None else f"{100 * share:.0f}%"
    return (
        '<div class="sf-figures">'
        + _figure("Good outcomes", value, f"{good} of {decided} appeals with an outcome", hero=True)
        + _figure("Appeals", grouped(appeals), "in this view")
        + _figure(
            "With an outcome", grouped(decided), f"{100 * decided / appeals:.0f}% of them" if appeals else ""
        )
        + _figure("Still waiting", grouped(waiting), "open, no outcome yet")
        + "</div>"
    )


def petition_figures(
    *, total: int, countries: int, days: int, period: str, recipients: int, target: str
) -> str:
    """What an appeal's petition states: the signatures, from where, over which period, to whom."""
    return (
        '<div class="sf-figures">'
        + _figure("Signatures", grouped(total), period, hero=True)
        + _figure("Countries", grouped(countries), "signers' countries")
        + _figure("Days", grouped(days), "with signatures")
        + _figure("Recipients", grouped(recipients), target)
        + "</div>"
    )


def _figure(key: str, value: str, sub: str, *, hero: bool = False) -> str:
    return (
        f'<div class="sf-fig{" hero" if hero else ""}"><div class="sf-k">{escape(key)}</div>'
        f'<div class="sf-v">{escape(value)}</div><div class="sf-s">{escape(sub)}</div></div>'
    )


def _link(url: str) -> str:
    return f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">'


def _host(url: str) -> str:
    host = urlparse(url).hostname or url
    return host.removeprefix("www.")


def history_headline(head: Headline, tz: ZoneInfo) -> str:
    """The History page's figures for the filtered view."""
    busiest = head.busiest_hour.astimezone(tz) if head.busiest_hour else None
    return (
        '<div class="sf-figures">'
        + _figure("Signatures", grouped(head.signatures), "in this view", hero=True)
        + _figure("Appeals", grouped(head.appeals), "with signatures")
        + _figure("Countries", grouped(head.countries), "signers came from")
        + _figure("Joined the network", grouped(head.members), "new SMS-network members")
        + _figure("Social activity", grouped(head.social), "joins, posts, photos, visits")
        + _figure(
            "Busiest hour",
            grouped(head.busiest_count) if busiest else "–",
            f"{busiest:%a %d %b %Y, %H:%M}" if busiest else "no signatures",
        )
        + "</div>"
    )


def outbox_headline(waiting: int, sent: int, failed: int, last_minutes: int, segments: int = 0) -> str:
    """The Messages page's figures: texts waiting, sent (and the SMS segments they cost), failed,
    and the send rate."""
    return (
        '<div class="sf-figures">'
        + _figure("Waiting", grouped(waiting), "queued or being sent", hero=True)
        + _figure("Sent", grouped(sent), "to supporters, all kinds")
        + _figure("Segments sent", grouped(segments), "SMS segments billed (GSM 03.38 / UCS-2)")
        + _figure("Failed", grouped(failed), "reasons below")
        + _figure("Send rate", grouped(last_minutes), "texts in the last two minutes")
        + "</div>"
    )

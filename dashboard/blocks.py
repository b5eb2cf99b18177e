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

import pandas as pd

from campaign.live import AppealFigures
from dashboard.frames import goal, grouped, name_of, total

MAX_APPEAL_CARDS = 5
FRESH_SECONDS = 10


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


def heading(title: str, subtitle: str, now: datetime, zone: str, status: Status) -> str:
    marker = '<span class="cr-live">LIVE</span>' if status.live else '<span class="cr-live off">PAUSED</span>'
    note = f'<span class="cr-note alert">{escape(status.note)}</span>' if status.note else ""
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
    """The latest actions, newest first; those of the last seconds stand out.

    ``frame``: as ``frames.ticker`` (local, naive times); ``now`` in the same zone.
    """
    if not len(frame):
        rows = '<div class="cr-empty">Waiting for the first signature…</div>'
    else:
        lines = []
        for row in frame.itertuples(index=False):
            fresh = ' class="fresh"' if (now - row.at).total_seconds() <= FRESH_SECONDS else ""
            appeal = f'<td class="a">{escape(str(row.appeal))}</td>' if show_appeal else ""
            lines.append(
                f"<tr{fresh}><td class='t'>{row.at:%H:%M:%S}</td>"
                f"<td class='n'>{escape(str(row.number))}</td>"
                f"<td class='c'>{escape(str(row.country))}</td>"
                f"<td class='ch'>{escape(str(row.channel))}</td>{appeal}</tr>"
            )
        rows = f'<table class="cr-ticker">{"".join(lines)}</table>'
    return f'<div class="cr-panel-h">Latest actions</div>{rows}'


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

"""Live: the campaign room's wall screen, for 1920x1080 without scrolling or clicks.

Per appeal the count, rate, goal, channels, countries, new network members and the
latest actions, updated every second; the milestones passed in the last hour, in the
heading; per campaign its social figures (Facebook joins,
posts, photos, web visits and the share from social media) and today's demonstrations,
in a slim strip under the cards when it has any.  The URL chooses what is shown:
``?appeal=hassan`` (or a comma list), ``?campaign=torture``, ``?theme=light``;
``?rotate=live:hassan,on-air:all&every=20`` cycles through pages (``dashboard.rotator``).
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard import blocks, data, frames, guard, rotator, session, style
from dashboard.charts.common import SCREEN_CONFIG
from dashboard.params import live_params

# Widgets: the URL is the only control a wall screen has.
params = live_params(session.query("live"))
palette = style.palette(params.theme)
st.html(style.live_css(palette))
rotator.run_if_asked()  # ``?rotate=`` (or a rotating screen's token): a player of pages, not this one


@st.fragment(run_every=1)
def board() -> None:
    guard.recheck()  # a revoked screen link or a removed user leaves within seconds
    # Data: one shared read a second (the last good one while Redis is away), and what
    # every screen showing the same appeals draws from it, built once.
    tz = data.timezone()
    read, status = session.steady(data.live(), tz)
    shared = data.board(read, params.selection, palette.name, tz)
    appeals = shared.picked.appeals
    now = datetime.now(tz).replace(tzinfo=None)
    if shared.picked.missing and status.live:
        status = blocks.Status(live=True, note=frames.missing_note(shared.picked))

    # Charts: the same elements, in the same order, with the same keys on every run.
    passed = data.recent_milestones(frames.milestone_scopes(shared.picked, params.selection), tz)
    st.html(blocks.heading(shared.title, shared.subtitle, now, str(tz), status, list(passed["label"])))
    st.html(blocks.cards(appeals, session.members(read, tz), label=shared.title))
    if shared.strip:
        st.html(shared.strip)
    left, right = st.columns([2, 1])
    with left.container(key="panel-minutes"):
        st.plotly_chart(shared.minutes, key="chart-minutes", theme=None, config=SCREEN_CONFIG)
    with right.container(key="panel-channels"):
        st.plotly_chart(shared.channels, key="chart-channels", theme=None, config=SCREEN_CONFIG)
    left, right = st.columns([1, 1])
    with left.container(key="panel-countries"):
        st.plotly_chart(shared.countries, key="chart-countries", theme=None, config=SCREEN_CONFIG)
    with right.container(key="panel-ticker", height=shared.bottom + 20):
        ticker = shared.ticker.head(blocks.ticker_rows(shared.bottom))
        st.html(blocks.ticker(ticker, now, show_appeal=len(appeals) > 1))


board()

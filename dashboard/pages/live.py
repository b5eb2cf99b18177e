"""Live: the campaign room's wall screen, for 1920x1080 without scrolling or clicks.

Per appeal the count, rate, goal, channels, countries, new network members and the
latest actions, updated every second.  The URL chooses what is shown:
``?appeal=hassan`` (or a comma list), ``?campaign=torture``, ``?theme=light``.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard import blocks, charts, data, frames, session, style
from dashboard.params import live_params

# Widgets: the URL is the only control a wall screen has.
params = live_params(session.query())
palette = style.palette(params.theme)
st.html(style.live_css(palette))


@st.fragment(run_every=1)
def board() -> None:
    # Data: one shared read a second; the last good one while Redis is away.
    tz = data.timezone()
    read, status = session.steady(data.live(), tz)
    picked = frames.pick(read.appeals, params.selection, only_open=True)
    appeals = picked.appeals
    now = datetime.now(tz).replace(tzinfo=None)
    title, subtitle = frames.describe(picked, params.selection)
    if picked.missing and status.live:
        status = blocks.Status(live=True, note=frames.missing_note(picked))

    # Charts: the same elements, in the same order, with the same keys on every run.
    st.html(blocks.heading(title, subtitle, now, str(tz), status))
    st.html(blocks.cards(appeals, session.members(read, tz), label=title))
    left, right = st.columns([2, 1])
    with left.container(key="panel-minutes"):
        st.plotly_chart(
            charts.per_minute_chart(frames.per_minute(appeals, tz), palette, height=372),
            key="chart-minutes",
            theme=None,
            config=charts.SCREEN_CONFIG,
        )
    with right.container(key="panel-channels"):
        st.plotly_chart(
            charts.channel_chart(frames.channels(appeals), palette, height=372),
            key="chart-channels",
            theme=None,
            config=charts.SCREEN_CONFIG,
        )
    left, right = st.columns([1, 1])
    with left.container(key="panel-countries"):
        st.plotly_chart(
            charts.country_chart(frames.countries(appeals), palette, height=332),
            key="chart-countries",
            theme=None,
            config=charts.SCREEN_CONFIG,
        )
    with right.container(key="panel-ticker", height=352):
        st.html(blocks.ticker(frames.ticker(appeals, tz), now, show_appeal=len(appeals) > 1))


board()

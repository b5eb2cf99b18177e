"""On air: one very large number for broadcast, counting up, never going backwards.

``?appeal=hassan`` (one appeal), ``?campaign=torture`` (the sum of its appeals) or nothing
(all appeals); ``&label=...`` and ``&goal=50000`` (or ``goal=none``) override what the
appeals say; ``&theme=dark|light|green|transparent``; green is chroma-key #00B140 and
transparent is for browser sources in OBS, vMix or CasparCG.  If Redis stops answering
the number stays and a dim dot appears in the bottom-right corner, outside title-safe.
"""

from __future__ import annotations

import streamlit as st

from dashboard import counter, data, frames, guard, session, style
from dashboard.params import on_air_params

# Widgets: the URL is the only control a broadcast browser source has.
params = on_air_params(session.query("on-air"))
st.html(style.on_air_css(params.theme))


@st.fragment(run_every=1)
def number() -> None:
    guard.recheck()  # a revoked screen link or a removed user leaves within seconds
    # Data: the sum of the chosen appeals, or nothing when it cannot be known now.  While
    # Redis is away the last good read stands in, so label, goal and notes stay as they were.
    fresh = data.live()
    read, _ = session.steady(fresh, data.timezone())
    picked = frames.pick(read.appeals, params.selection, only_open=False)
    known = read.ok and (bool(picked.appeals) or params.selection.everything)
    current = frames.total(picked.appeals) if known else None
    shown = counter.next_shown(st.session_state, params.selection.key, current)
    goal = frames.goal(picked.appeals) if params.goal is None else params.goal
    single = picked.appeals[0].title if len(picked.appeals) == 1 and params.selection.appeals else None

    # The number: drawn and animated in the browser.
    counter.counter(
        value=shown,
        label=params.label or single or "signatures",
        goal=goal,
        theme=params.theme,
        stale=not fresh.ok,
        notice=frames.missing_note(picked),
    )


number()

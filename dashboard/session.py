"""What one screen remembers between its once-a-second updates (Streamlit session state).

A screen keeps the last figures it could read, so that when Redis stops answering the
figures stay up and only a marker says they are paused, and it keeps the SMS-network
membership it first saw, so it can show how many joined since it was switched on.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import guard
from dashboard.blocks import Members, Status
from dashboard.data import LiveRead

LAST_READ = "screen:last-read"
OFFLINE_SINCE = "screen:offline-since"
MEMBERS_AT_START = "screen:members-at-start"

# Streamlit's session state, or a plain dict in tests.
State = MutableMapping[Any, Any]


def query(page: str = "") -> dict[str, list[str]]:
    """The page's URL parameters, each with all its values (a screen token's selection for ``page``)."""
    return guard.pinned({name: st.query_params.get_all(name) for name in st.query_params}, page)


def steady(read: LiveRead, tz: ZoneInfo, state: State | None = None) -> tuple[LiveRead, Status]:
    """The figures to show now: this read if it worked, else the last one that did."""
    state = _state(state)
    if read.ok:
        state[LAST_READ] = read
        state.pop(OFFLINE_SINCE, None)
        if not read.ready:
            return read, Status(live=False, note="waiting for the live view: is ingest running?")
        return read, Status(live=True)
    since = state.setdefault(OFFLINE_SINCE, datetime.fromtimestamp(read.read_at, tz))
    last: LiveRead = state.get(LAST_READ, read)
    return last, Status(live=False, note=f"live figures paused since {since:%H:%M:%S}: Redis not answering")


def members(read: LiveRead, tz: ZoneInfo, state: State | None = None) -> Members:
    """Network members now, and how many joined since this screen first read them."""
    state = _state(state)
    if read.ok and MEMBERS_AT_START not in state:
        state[MEMBERS_AT_START] = (read.members, datetime.fromtimestamp(read.read_at, tz))
    start, since = state.get(MEMBERS_AT_START, (read.members, datetime.now(tz)))
    return Members(total=read.members, new=max(read.members - start, 0), since=f"{since:%H:%M}")


def _state(given: State | None) -> State:
    return st.session_state if given is None else given


def share(values: Mapping[str, str | None]) -> None:
    """Write a staff page's filters into its URL, so the address in the bar is the view.

    Only changed parameters are written (each write is a message to the browser); None
    removes a parameter.
    """
    for name, value in values.items():
        current = st.query_params.get(name)
        if value is None:
            if current is not None:
                del st.query_params[name]
        elif current != value:
            st.query_params[name] = value

"""Every cache of the dashboard, and its only way to the live figures.

Wall screens and on-air browser sources redraw once a second.  One Redis client per
process is shared through ``st.cache_resource``; one read of all live figures is shared
through ``st.cache_data(ttl=1)``, so ten open screens, whatever they show, cost one Redis
read a second.  Each screen picks its appeals from that shared read.

A failed read is a value too (``LiveRead.error``), cached for the same second: while
Redis is away the screens keep what they last showed instead of each waiting on its own
timeout, and the client is set to give up quickly (one reconnect, short timeouts) so a
frozen server cannot hold a screen's update loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import redis
import streamlit as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from campaign.live import AppealFigures, LiveView, connect
from campaign.runtime import redis_url
from campaign.settings import get_settings

# A screen updates every second; a read that takes longer than this is a failed read.
TIMEOUT = 0.8


@dataclass(frozen=True)
class LiveRead:
    """All appeals' live figures at one moment, or why they could not be read."""

    appeals: tuple[AppealFigures, ...] = ()
    members: int = 0
    ready: bool = False
    read_at: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@st.cache_resource(show_spinner=False)
def _live_view(url: str) -> LiveView:
    """One client (and connection pool) per Redis URL for the whole dashboard process."""
    client = connect(
        url,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1),  # one reconnect after a Redis restart, then give up
    )
    return LiveView(client)


@st.cache_data(ttl=1, show_spinner=False, max_entries=8)
def _read(url: str) -> LiveRead:
    try:
        view = _live_view(url)
        appeals = view.many_figures(view.slugs())
        return LiveRead(
            appeals=tuple(appeals),
            members=view.members(),
            ready=view.is_ready(),
            read_at=time.time(),
        )
    except (redis.RedisError, OSError) as error:
        return LiveRead(read_at=time.time(), error=_brief(error))


def live() -> LiveRead:
    """The live figures of every appeal, at most a second old.

    A reader does not start the embedded Redis server: ``campaign dashboard`` (like
    ``campaign up``) does, and a dashboard started otherwise shows that Redis is away.
    """
    return _read(redis_url(get_settings(), start=False))


def timezone() -> ZoneInfo:
    """The organisation's time zone, in which screens show every time."""
    return get_settings().tz


def _brief(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]

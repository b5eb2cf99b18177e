"""Per-minute tallies exist for the recent minutes only (``MINUTE_TALLIES_KEPT``).

They feed the live hour (``campaign.live.rebuild`` reads the last ``MINUTES_KEPT``); nothing
reads older ones, so a signature older than the window adds no minute tally (a historical
import would otherwise write one row per signature), ``recount`` and ``reconcile`` compare only
the minutes inside the window, and the workers delete the minutes that fell out of it.

Exact at the boundary: the window's first minute only moves forward, so a writer that skipped
a minute (before its own window) did so for a minute before every later window too; and the
workers delete only minutes ``PRUNE_MARGIN`` before the window, which no reconcile under way
still compares.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, delete, select

from campaign.live.keys import MINUTE_TALLIES_KEPT
from campaign.storage.models import Tally

PRUNE_MARGIN = 60  # minutes past the window a minute tally stays before the workers delete it
PRUNE_CHUNK = 500  # keys deleted per statement (SQLite allows a few thousand parameters)


def first_minute(now: float | None = None) -> int:
    """The oldest epoch minute that has a tally at ``now`` (a Unix time; default: the clock)."""
    return int(time.time() if now is None else now) // 60 - MINUTE_TALLIES_KEPT


def prune(engine: Engine, now: float | None = None) -> int:
    """Delete the minute tallies that fell out of the window (every shard); rows deleted."""
    before = first_minute(now) - PRUNE_MARGIN
    with engine.begin() as connection:
        keys = connection.execute(select(Tally.key).where(Tally.kind == "minute").distinct()).scalars()
        old = sorted(key for key in keys if int(key) < before)
        deleted = 0
        for start in range(0, len(old), PRUNE_CHUNK):
            chunk = old[start : start + PRUNE_CHUNK]
            result = connection.execute(delete(Tally).where(Tally.kind == "minute", Tally.key.in_(chunk)))
            deleted += result.rowcount or 0
    return deleted

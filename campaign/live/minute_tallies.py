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
from campaign.storage import folding
from campaign.storage.models import Tally

PRUNE_MARGIN = 60  # minutes past the window a minute tally stays before the workers delete it
PRUNE_CHUNK = 500  # keys deleted per statement (SQLite allows a few thousand parameters)


def first_minute(now: float | None = None) -> int:
    """The oldest epoch minute that has a tally at ``now`` (a Unix time; default: the clock)."""
    return int(time.time() if now is None else now) // 60 - MINUTE_TALLIES_KEPT


def prune(engine: Engine, now: float | None = None) -> int:
    """Delete the minute tallies that fell out of the window (every shard); rows deleted.

    A shard at a time, under the locks a fold takes (``folding.hold``): a fold on another
    worker moves the same old rows into shard 0, and the two must not lock them in turn.
    """
    before = first_minute(now) - PRUNE_MARGIN
    with engine.connect() as connection:
        found = connection.execute(select(Tally.shard, Tally.key).where(Tally.kind == "minute").distinct())
        old: dict[int, list[str]] = {}
        for shard, key in found:
            if int(key) < before:
                old.setdefault(shard, []).append(key)
    deleted = 0
    for shard, keys in sorted(old.items()):
        keys.sort()
        for start in range(0, len(keys), PRUNE_CHUNK):
            with engine.begin() as connection:
                if not folding.hold(connection, shard):
                    break  # a writer or a fold has it: next time
                result = connection.execute(
                    delete(Tally).where(
                        Tally.kind == "minute",
                        Tally.shard == shard,
                        Tally.key.in_(keys[start : start + PRUNE_CHUNK]),
                    )
                )
                deleted += result.rowcount or 0
    return deleted

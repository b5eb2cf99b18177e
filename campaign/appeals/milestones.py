"""Milestones: round numbers whose passing is announced once, across processes and restarts.

An appeal has milestones (``campaign appeal edit hassan --milestone 10000 --milestone 25000``).
Every ingest process watches the totals; when one passes a milestone, each process that
notices tries to ``claim`` it, and the database's unique (scope, milestone) lets exactly one
of them win, once, even after restarts or a Redis flush.  The winner announces it on the
live view's channel and every process passes it on to its viewers (see ``ingest.overlay``).
Milestones already passed when they are set are recorded as passed, not announced.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from campaign.errors import BadRequest
from campaign.storage.db import dialect_insert
from campaign.storage.models import MilestonePassed, utcnow

MOST = 50  # milestones per appeal


def appeal_scope(slug: str) -> str:
    return f"appeal:{slug}"


def check(values: Iterable[int]) -> list[int]:
    """Milestones in order, each once; a milestone below one is refused with its reason."""
    found = sorted(set(values))
    for value in found:
        if value < 1:
            raise BadRequest(f"milestone {value}: must be a positive number of signatures, e.g. 10000")
    if len(found) > MOST:
        raise BadRequest(f"{len(found)} milestones: at most {MOST}")
    return found


def check_goal(goal: int | None, passed: Iterable[int]) -> None:
    """A goal under a milestone already passed would be reached before it was set: refuse it."""
    highest = max(passed, default=0)
    if goal and goal < highest:
        raise BadRequest(f"goal {goal}: under milestone {highest}, which the total has passed already")


def claim(engine: Engine, scope: str, milestone: int, at: datetime | None = None) -> bool:
    """Record that ``scope`` passed ``milestone``; True only for the one caller that recorded it."""
    with engine.begin() as connection:
        return _insert(connection, scope, milestone, at or utcnow(), announced=True)


def record_passed(connection: Connection, scope: str, milestones: Iterable[int], total: int) -> None:
    """Mark the milestones ``total`` is already past as passed, without announcing them."""
    for milestone in milestones:
        if milestone <= total:
            _insert(connection, scope, milestone, utcnow(), announced=False)


def passed(connection: Connection, scope: str) -> set[int]:
    rows = connection.scalars(select(MilestonePassed.milestone).where(MilestonePassed.scope == scope))
    return set(rows)


def _insert(connection: Connection, scope: str, milestone: int, at: datetime, *, announced: bool) -> bool:
    statement = (
        dialect_insert(connection, MilestonePassed)
        .values(scope=scope, milestone=milestone, passed_at=at, announced=announced)
        .on_conflict_do_nothing(index_elements=["scope", "milestone"])
        .returning(MilestonePassed.id)  # a row only when inserted (rowcount can be -1 with RETURNING)
    )
    return connection.execute(statement).first() is not None

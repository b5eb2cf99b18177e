"""Milestones: round numbers whose passing is announced once, across processes and restarts.

An appeal has milestones (``campaign appeal edit hassan --milestone 10000 --milestone 25000``).
Every ingest process watches the totals; when one passes a milestone, each process that
notices tries to ``claim`` it, and the database's unique (scope, milestone) lets exactly one
of them win, once, even after restarts or a Redis flush.  The winner announces it on the
live view's channel and every process passes it on to its viewers (see ``ingest.overlay``).
Milestones already passed when they are set are recorded as passed, not announced.

A campaign (``campaign:torture``) and the whole network (``all``) have milestones and a goal
too (see ``campaign.appeals.goals``).  A scope with a stretch step treats its goal as one more
milestone: the claim that records the goal reached moves the goal on by the step, in the same
transaction, so it moves once however many processes saw it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from campaign.errors import BadRequest
from campaign.storage.db import dialect_insert
from campaign.storage.models import EVERY_CAMPAIGN, Appeal, MilestonePassed, ScopeGoal, utcnow

# Called in the claim's transaction once a milestone is recorded: (connection, scope, milestone, at).
OnClaim = Callable[[Connection, str, int, datetime], None]

MOST = 50  # milestones per appeal


def appeal_scope(slug: str) -> str:
    return f"appeal:{slug}"


def campaign_scope(slug: str) -> str:
    """A campaign's scope; the reserved slug ``all`` is the whole network's."""
    return EVERY_CAMPAIGN if slug == EVERY_CAMPAIGN else f"campaign:{slug}"


def check(values: Iterable[int]) -> list[int]:
    """Milestones in order, each once; a milestone below one is refused with its reason."""
    found = sorted(set(values))
    for value in found:
        if value < 1:
            raise BadRequest(f"milestone {value}: must be a positive number of signatures, e.g. 10000")
    if len(found) > MOST:
        raise BadRequest(f"{len(found)} milestones: at most {MOST}")
    return found


def parse(text: str) -> list[int]:
    """Milestones as typed in a form: "10000, 25 000; 50.000" -> [10000, 25000, 50000] (checked).

    Commas, semicolons and line breaks separate them; spaces, dots and apostrophes inside a
    number group its thousands.  An entry that is not a whole number is named in the error.
    """
    values = []
    for entry in re.split(r"[,;\n]+", text):
        digits = re.sub(r"[\s.'\u202f\u00a0]", "", entry)
        if not digits:
            continue
        if not re.fullmatch(r"-?[0-9]{1,15}", digits):
            raise BadRequest(f"milestone {entry.strip()!r}: not a whole number of signatures, e.g. 10000")
        values.append(int(digits))
    return check(values)


def check_goal(goal: int | None, passed: Iterable[int]) -> None:
    """A goal under a milestone already passed would be reached before it was set: refuse it."""
    highest = max(passed, default=0)
    if goal and goal < highest:
        raise BadRequest(f"goal {goal}: under milestone {highest}, which the total has passed already")


def check_step(step: int | None) -> int | None:
    """A stretch step: None unchanged, 0 removes it, below zero refused."""
    if step is not None and step < 0:
        raise BadRequest(f"stretch step {step}: must be a positive number of signatures (0 removes it)")
    return step


def marks(milestones: Iterable[int], goal: int | None, stretch_step: int | None) -> tuple[int, ...]:
    """What a scope announces: its milestones, and its goal when the goal stretches."""
    found = set(milestones)
    if goal and stretch_step:
        found.add(goal)
    return tuple(sorted(found))


def stretched(goal: int | None, stretch_step: int | None, total: int) -> int | None:
    """The goal moved on by whole steps until the total is under it (a goal set below the total)."""
    if not goal or not stretch_step or goal > total:
        return goal
    return goal + ((total - goal) // stretch_step + 1) * stretch_step


def claim(
    engine: Engine,
    scope: str,
    milestone: int,
    at: datetime | None = None,
    on_claim: OnClaim | None = None,
) -> bool:
    """Record that ``scope`` passed ``milestone``; True only for the one caller that recorded it.

    If ``milestone`` is the scope's goal and the goal stretches, the goal moves on by its step;
    ``on_claim`` (e.g. queuing the leads' texts) runs in the same transaction, so it runs once.
    """
    moment = at or utcnow()
    with engine.begin() as connection:
        if not _insert(connection, scope, milestone, moment, announced=True):
            return False
        _stretch(connection, scope, milestone)
        if on_claim is not None:
            on_claim(connection, scope, milestone, moment)
        return True


def _stretch(connection: Connection, scope: str, reached: int) -> None:
    """Move a reached stretch goal on by its step; the WHERE makes it happen at most once."""
    kind, _, slug = scope.partition(":")
    table: type[Appeal] | type[ScopeGoal] = Appeal if kind == "appeal" else ScopeGoal
    where = Appeal.slug == slug if kind == "appeal" else ScopeGoal.scope == scope
    connection.execute(
        update(table)
        .where(where, table.goal == reached, table.stretch_step > 0)
        .values(goal=table.goal + table.stretch_step)
    )


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


@dataclass(frozen=True)
class Passed:
    """A milestone announced: what the Live screen and History mark."""

    scope: str
    milestone: int
    at: datetime


def announced(
    engine: Engine, *, since: datetime | None = None, scopes: Iterable[str] | None = None
) -> list[Passed]:
    """Milestones announced (not those passed before they were set), oldest first."""
    query = select(MilestonePassed.scope, MilestonePassed.milestone, MilestonePassed.passed_at).where(
        MilestonePassed.announced.is_(True)
    )
    if since is not None:
        query = query.where(MilestonePassed.passed_at >= since)
    if scopes is not None:
        query = query.where(MilestonePassed.scope.in_(sorted(set(scopes))))
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(MilestonePassed.passed_at, MilestonePassed.id))
        return [Passed(scope, milestone, at) for scope, milestone, at in rows]

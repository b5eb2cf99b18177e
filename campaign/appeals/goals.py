"""Goals and milestones of a campaign, and of the whole network (the reserved slug ``all``).

An appeal keeps its own on its row (``campaign.appeals.registry.edit_appeal``); a campaign's
and the network's live in ``scope_goals``, one row per scope (``campaign:torture``, ``all``).
The same rules hold for both (``campaign.appeals.milestones``): a milestone below one or a goal
under a milestone already passed is refused, milestones already passed when set are recorded
as passed and never announced, and a goal with a stretch step moves on when it is reached.
Every ingest process reads these with ``every_scope`` and watches the summed totals.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, insert, select, update

from campaign.appeals import milestones as rules
from campaign.errors import BadRequest, NotFound
from campaign.storage.models import EVERY_CAMPAIGN, NETWORK, Appeal, Campaign, ScopeGoal, Tally, utcnow


@dataclass(frozen=True)
class ScopeGoals:
    """A campaign's (or everything's) goal, milestones and stretch step."""

    scope: str  # "campaign:torture" or "all"
    goal: int | None = None
    milestones: tuple[int, ...] = ()
    stretch_step: int | None = None

    @property
    def campaign(self) -> str:
        """The campaign's slug (``all`` for the whole network)."""
        return self.scope.removeprefix("campaign:")

    @property
    def marks(self) -> tuple[int, ...]:
        return rules.marks(self.milestones, self.goal, self.stretch_step)


def edit(
    engine: Engine,
    campaign: str,
    *,
    goal: int | None = None,
    milestones: list[int] | None = None,
    stretch_step: int | None = None,
) -> dict[str, tuple[object, object]]:
    """Change a campaign's (``all``: the network's) goal, milestones or stretch step; what changed.

    None leaves a value as it is; goal 0, an empty list and step 0 remove it.
    """
    wanted: dict[str, object] = {}
    if goal is not None:
        if goal < 0:
            raise BadRequest("goal: must be a positive number (0 removes the goal)")
        wanted["goal"] = goal or None
    if milestones is not None:
        wanted["milestones"] = rules.check(milestones) or None
    if rules.check_step(stretch_step) is not None:
        wanted["stretch_step"] = stretch_step or None
    scope = rules.campaign_scope(campaign)
    changed: dict[str, tuple[object, object]] = {}
    with engine.begin() as connection:
        total = scope_total(connection, campaign)
        row = connection.execute(select(ScopeGoal).where(ScopeGoal.scope == scope)).first()
        before: dict[str, object] = {
            "goal": row.goal if row else None,
            "milestones": row.milestones if row else None,
            "stretch_step": row.stretch_step if row else None,
        }
        after = {**before, **wanted}
        marks = after["milestones"]
        rules.record_passed(connection, scope, marks if isinstance(marks, list) else [], total)
        goal_now = rules.stretched(_int(after["goal"]), _int(after["stretch_step"]), total)
        after["goal"] = goal_now
        rules.check_goal(goal_now, rules.passed(connection, scope))
        changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
        if changed:
            values = {**after, "scope": scope, "updated_at": utcnow()}
            if row is None:
                connection.execute(insert(ScopeGoal).values(**values))
            else:
                connection.execute(update(ScopeGoal).where(ScopeGoal.scope == scope).values(**values))
    return changed


def get(engine: Engine, campaign: str) -> ScopeGoals:
    """A campaign's goals (none set: an empty one); an unknown campaign is a NotFound."""
    scope = rules.campaign_scope(campaign)
    with engine.connect() as connection:
        _check_campaign(connection, campaign)
        row = connection.execute(select(ScopeGoal).where(ScopeGoal.scope == scope)).first()
    return _goals(row) if row is not None else ScopeGoals(scope)


def every_scope(engine: Engine) -> dict[str, ScopeGoals]:
    """Every campaign's and the network's goals, by scope: what the ingest processes watch."""
    with engine.connect() as connection:
        return {row.scope: _goals(row) for row in connection.execute(select(ScopeGoal))}


def scope_total(connection: Connection, campaign: str) -> int:
    """The database's total of a campaign's appeals (``all``: of every appeal)."""
    _check_campaign(connection, campaign)
    query = select(func.coalesce(func.sum(Tally.count), 0)).where(
        Tally.kind == "total", Tally.appeal_id != NETWORK
    )
    if campaign != EVERY_CAMPAIGN:
        members = select(Appeal.id).join(Campaign, Campaign.id == Appeal.campaign_id)
        query = query.where(Tally.appeal_id.in_(members.where(Campaign.slug == campaign)))
    return int(connection.scalar(query) or 0)


def _check_campaign(connection: Connection, campaign: str) -> None:
    if campaign == EVERY_CAMPAIGN:
        return
    if connection.scalar(select(Campaign.id).where(Campaign.slug == campaign)) is None:
        raise NotFound(f"no campaign {campaign!r}")


def _goals(row: object) -> ScopeGoals:
    return ScopeGoals(
        row.scope,  # type: ignore[attr-defined]
        row.goal,  # type: ignore[attr-defined]
        tuple(row.milestones or ()),  # type: ignore[attr-defined]
        row.stretch_step,  # type: ignore[attr-defined]
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None

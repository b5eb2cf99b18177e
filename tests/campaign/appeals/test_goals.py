"""Goals and milestones of a campaign and of all: refused with a reason, stretch goals that move once."""

from __future__ import annotations

import pytest

from campaign.appeals import goals, milestones
from campaign.appeals import registry as appeals
from campaign.errors import BadRequest, NotFound
from campaign.runtime import Runtime

pytestmark = pytest.mark.usefixtures("hassan")


def test_a_campaigns_goals_are_set_read_and_changed(runtime: Runtime) -> None:
    assert goals.get(runtime.engine, "torture") == goals.ScopeGoals("campaign:torture")
    changed = goals.edit(runtime.engine, "torture", goal=50000, milestones=[25000, 10000, 10000])
    assert changed == {"goal": (None, 50000), "milestones": (None, [10000, 25000])}
    assert goals.edit(runtime.engine, "torture", goal=50000) == {}
    found = goals.get(runtime.engine, "torture")
    assert (found.goal, found.milestones, found.marks) == (50000, (10000, 25000), (10000, 25000))
    goals.edit(runtime.engine, "all", milestones=[100000], stretch_step=5000, goal=200000)
    assert goals.every_scope(runtime.engine)["all"].marks == (100000, 200000), "a stretch goal is announced"
    assert goals.edit(runtime.engine, "torture", milestones=[]) == {"milestones": ([10000, 25000], None)}


def test_bad_goals_and_milestones_are_refused_with_a_reason(runtime: Runtime) -> None:
    with pytest.raises(BadRequest, match="milestone -1: must be a positive number"):
        goals.edit(runtime.engine, "torture", milestones=[-1])
    with pytest.raises(BadRequest, match="stretch step -5: must be a positive number"):
        goals.edit(runtime.engine, "all", stretch_step=-5)
    with pytest.raises(BadRequest, match="stretch step -5"):
        appeals.edit_appeal(runtime.engine, "hassan", stretch_step=-5)
    with pytest.raises(NotFound, match="no campaign 'nowhere'"):
        goals.edit(runtime.engine, "nowhere", goal=10)
    assert milestones.claim(runtime.engine, "campaign:torture", 300)
    with pytest.raises(BadRequest, match="goal 200: under milestone 300, which the total has passed"):
        goals.edit(runtime.engine, "torture", goal=200)
    assert goals.get(runtime.engine, "torture").goal is None, "nothing was saved"


def test_a_reached_stretch_goal_moves_on_once(runtime: Runtime) -> None:
    goals.edit(runtime.engine, "torture", goal=100, stretch_step=50)
    assert milestones.claim(runtime.engine, "campaign:torture", 100)
    assert not milestones.claim(runtime.engine, "campaign:torture", 100)
    assert goals.get(runtime.engine, "torture").goal == 150
    appeals.edit_appeal(runtime.engine, "hassan", stretch_step=2500)
    assert milestones.claim(runtime.engine, "appeal:hassan", 10000)
    hassan = appeals.get_appeal(runtime.engine, "hassan")
    assert (hassan.goal, hassan.public()["milestones"]) == (12500, "12500")
    assert milestones.claim(runtime.engine, "appeal:hassan", 5000), "a milestone that is not the goal"
    assert appeals.get_appeal(runtime.engine, "hassan").goal == 12500


def test_a_goal_set_under_the_total_moves_on_by_whole_steps() -> None:
    assert milestones.stretched(100, 50, 99) == 100
    assert milestones.stretched(100, 50, 100) == 150
    assert milestones.stretched(100, 50, 260) == 300
    assert milestones.stretched(100, None, 260) == 100


def test_milestones_typed_in_a_form_are_read_or_named() -> None:
    assert milestones.parse("25 000, 10000;\n50.000, 10'000,") == [10000, 25000, 50000]
    assert milestones.parse("  ") == []
    with pytest.raises(BadRequest, match="milestone 'ten thousand': not a whole number"):
        milestones.parse("5000, ten thousand")
    with pytest.raises(BadRequest, match="milestone -5: must be a positive number"):
        milestones.parse("-5")

"""``campaign campaign``: a campaign's goal and milestones, and the whole network's (``all``).

The ingest processes read them within seconds (``campaign.appeals.goals``) and announce each
milestone passed exactly once on the campaign's (or ``all``'s) event stream.
"""

from __future__ import annotations

from typing import Annotated

import typer

from campaign.appeals import goals
from cli.common import (
    GoalOption,
    MilestonesOption,
    NoMilestonesOption,
    StretchStepOption,
    console,
    goal_shown,
    open_engine,
)

campaign_app = typer.Typer(help="Campaigns (and 'all', the whole network): goals and milestones.")


def add_to(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign", no_args_is_help=True)


@campaign_app.command("edit")
def campaign_edit(
    slug: Annotated[str, typer.Argument(help="The campaign's slug, or 'all' for the whole network.")],
    goal: GoalOption = None,
    milestone: MilestonesOption = None,
    no_milestones: NoMilestonesOption = False,
    stretch_step: StretchStepOption = None,
) -> None:
    """Set a campaign's goal, milestones or stretch step (only what is given)."""
    changed = goals.edit(
        open_engine(),
        slug,
        goal=goal,
        milestones=[] if no_milestones else milestone,
        stretch_step=stretch_step,
    )
    if not changed:
        console.print(f"campaign [bold]{slug}[/] unchanged")
        return
    for name, (_, after) in changed.items():
        console.print(f"{name.replace('_', ' ')}: {goal_shown(name, after)}", highlight=False)
    console.print(f"updated campaign [bold]{slug}[/]")


@campaign_app.command("show")
def campaign_show(
    slug: Annotated[str, typer.Argument(help="The campaign's slug, or 'all' for the whole network.")],
) -> None:
    """Show a campaign's goal, milestones and stretch step."""
    found = goals.get(open_engine(), slug)
    for name in ("goal", "milestones", "stretch_step"):
        console.print(f"{name.replace('_', ' ')}: {goal_shown(name, getattr(found, name))}", highlight=False)

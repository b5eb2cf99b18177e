"""What the command modules share: the consoles, opening the database or the runtime, and
reading dates and times typed on the command line (a wrong one is one clear line naming it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine

from campaign.errors import BadRequest
from campaign.runtime import Runtime
from campaign.settings import get_settings
from campaign.storage import db

# The options an appeal and a campaign share for their goal and milestones.
GoalOption = Annotated[int | None, typer.Option(help="Signatures aimed for; 0 removes the goal.")]
MilestonesOption = Annotated[
    list[int] | None,
    typer.Option("--milestone", help="A total whose passing is announced once (repeat it; replaces them)."),
]
NoMilestonesOption = Annotated[bool, typer.Option("--no-milestones", help="Remove the milestones.")]
StretchStepOption = Annotated[
    int | None, typer.Option(help="Move the goal on by this many when it is reached; 0 stops it.")
]

console = Console()
errors = Console(stderr=True)


def open_engine() -> Engine:
    """The database, migrated: for commands that need no Redis."""
    engine = db.create_db_engine(get_settings().resolved_database_url)
    db.upgrade(engine)
    return engine


def open_runtime(migrate: bool = True) -> Runtime:
    """Database, Redis and the number vault: for commands that change what screens show."""
    return Runtime.open(get_settings(), migrate=migrate)


def parse_when(text: str | None, what: str) -> datetime | None:
    """An ISO date or time; without a zone it is UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{what} {text!r} is not an ISO date or time (e.g. 2008-03-01T14:00+03:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_day(text: str | None, what: str) -> date | None:
    """A day such as 2008-01-31."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"--{what} {text!r} is not a date such as 2008-01-31") from None


def parse_day_or_when(text: str | None, what: str) -> date | datetime | None:
    """A day (YYYY-MM-DD, read in the organisation's zone) or an ISO time."""
    if text is not None and len(text.strip()) == 10:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            pass
    return parse_when(text, what)


def goal_shown(name: str, value: object) -> str:
    """A goal, milestones or stretch step as a command prints it."""
    if isinstance(value, list | tuple):
        return ", ".join(f"{m:,}" for m in value) or "(none)"
    if isinstance(value, int) and value:
        return f"{value:,} when the goal is reached" if name == "stretch_step" else f"{value:,}"
    return "(none)"

"""What the command modules share: the consoles, opening the database or the runtime, and
reading dates and times typed on the command line (a wrong one is one clear line naming it)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rich.console import Console
from sqlalchemy import Engine

from campaign.errors import BadRequest
from campaign.runtime import Runtime
from campaign.settings import get_settings
from campaign.storage import db

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

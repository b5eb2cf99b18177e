"""The audit log: one call records who did what, shown to admins.

Callers pass the actor (a dashboard user name, or ``cli_actor()`` for the command line)
and a short action word such as ``login``, ``alert.send``, ``outcome.record``, ``export``,
``delivery``, ``supporter.forget``.  Details must never contain a phone number.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from campaign.storage.models import AuditEntry, utcnow


def cli_actor() -> str:
    """The actor of a command typed at a shell: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry in some containers
        return "cli"


def record(
    target: Engine | Session,
    actor: str,
    action: str,
    subject: str = "",
    detail: Mapping[str, object] | None = None,
) -> None:
    """Append one entry; within a Session it commits with the caller's transaction."""
    statement = insert(AuditEntry).values(
        at=utcnow(), actor=actor[:120], action=action[:64], subject=subject[:200], detail=dict(detail or {})
    )
    if isinstance(target, Session):
        target.execute(statement)
        return
    with target.begin() as connection:
        connection.execute(statement)


def recent(engine: Engine, *, limit: int = 200, since: datetime | None = None) -> list[AuditEntry]:
    """The latest entries, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    with Session(engine) as session:
        return list(session.scalars(query))


def search(
    engine: Engine,
    *,
    actions: Sequence[str] = (),
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[AuditEntry]:
    """Entries matching every filter given (actor: part of the name), newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actions:
        query = query.where(AuditEntry.action.in_(list(actions)))
    if actor:
        query = query.where(AuditEntry.actor.contains(actor, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    with Session(engine) as session:
        return list(session.scalars(query))


def actions(engine: Engine) -> list[str]:
    """The action words recorded so far, for a filter's choices."""
    with engine.connect() as connection:
        return list(connection.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))

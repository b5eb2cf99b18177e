"""API tokens for machine clients (the events API); only a SHA-256 of each token is kept."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from campaign.errors import BadRequest, NotFound
from campaign.storage.models import ApiToken, utcnow

PREFIX = "cmp_"


@dataclass(frozen=True)
class TokenInfo:
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(engine: Engine, name: str) -> str:
    """Make a token; the clear token is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise BadRequest("token name: 1 to 100 characters, e.g. 'website'")
    token = PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        if connection.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
            raise BadRequest(f"a token named {name!r} exists already")
        connection.execute(insert(ApiToken).values(name=name, token_hash=_digest(token), created_at=utcnow()))
    return token


def verify(engine: Engine, token: str) -> str | None:
    """The name of a valid, unrevoked token, or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    with engine.begin() as connection:
        row = connection.execute(
            select(ApiToken.id, ApiToken.name).where(
                ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            return None
        connection.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
        return str(row.name)


def revoke(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        done = connection.execute(
            update(ApiToken)
            .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
    if not done:
        raise NotFound(f"no active token named {name!r}")


def listing(engine: Engine) -> list[TokenInfo]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ApiToken.name, ApiToken.created_at, ApiToken.revoked_at, ApiToken.last_used_at).order_by(
                ApiToken.name
            )
        )
        return [TokenInfo(*row) for row in rows]

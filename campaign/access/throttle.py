"""Slowing down password guessing: failed logins counted per user name and per client.

The counts live in the database (table ``login_throttle``), so they hold across page
reruns, browser tabs, dashboard processes and restarts.  A few failures are free (people
mistype); after that each failure locks the key for twice as long as the one before, from
30 seconds up to 15 minutes.  A quiet hour forgives everything.  A client (one address)
gets more free failures than a user name, since a whole campaign room may share one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from campaign.storage.models import LoginThrottle

FREE = {"user": 5, "client": 20}
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)
FORGIVEN_AFTER = timedelta(hours=1)


def user_key(name: str) -> str:
    return f"user:{name.strip().lower()[:64]}"


def client_key(address: str) -> str:
    return f"client:{address[:120]}"


def locked_until(engine: Engine, keys: list[str], now: datetime) -> datetime | None:
    """The moment the last of these keys unlocks, if any of them is locked now."""
    with engine.connect() as connection:
        until = [
            moment
            for moment in connection.scalars(
                select(LoginThrottle.locked_until).where(
                    LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now
                )
            )
            if moment is not None
        ]
    return max(until) if until else None


def lock_for(kind: str, failures: int) -> timedelta | None:
    """How long a key is locked after its n-th failure in a row; None while failures are free."""
    over = failures - FREE[kind] - 1
    if over < 0:
        return None
    return min(FIRST_LOCK * (2 ** min(over, 16)), LONGEST_LOCK)


def failed(engine: Engine, keys: list[str], now: datetime) -> datetime | None:
    """Count one failure against each key; the moment they unlock, if this failure locked them."""
    until: list[datetime] = []
    for key in keys:
        for _ in range(2):  # a concurrent first failure may insert the row between our read and write
            try:
                until_key = _fail_one(engine, key, now)
            except IntegrityError:
                continue
            if until_key is not None:
                until.append(until_key)
            break
    return max(until) if until else None


def _fail_one(engine: Engine, key: str, now: datetime) -> datetime | None:
    kind = key.split(":", 1)[0]
    with engine.begin() as connection:
        row = connection.execute(
            select(LoginThrottle.failures, LoginThrottle.last_failure_at)
            .where(LoginThrottle.key == key)
            .with_for_update()
        ).first()
        failures = 1 if row is None or now - row.last_failure_at > FORGIVEN_AFTER else row.failures + 1
        lock = lock_for(kind, failures)
        until = now + lock if lock is not None else None
        values = {"failures": failures, "last_failure_at": now, "locked_until": until}
        if row is None:
            connection.execute(insert(LoginThrottle).values(key=key, **values))
        else:
            connection.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(**values))
    return until


def cleared(engine: Engine, keys: list[str]) -> None:
    """Forget the failures of these keys (after a successful login)."""
    with engine.begin() as connection:
        connection.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))


def failures(engine: Engine, key: str) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key)) or 0)

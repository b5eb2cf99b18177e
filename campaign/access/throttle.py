"""Slowing down password guessing without letting anyone lock a real user out.

Failed logins are counted per (user name, client address), per client and per user name, in
the database (table ``login_throttle``), so the counts hold across page reruns, browser
tabs, dashboard processes and restarts.  A few failures are free (people mistype).

- A (name, client) pair and a client are *locked* after that, each failure twice as long as
  the one before, from 30 seconds up to 15 minutes: a guesser locks only itself.
- A user name is never locked (anyone could lock anyone, the admin included, by guessing
  from elsewhere, and one guess per unlock window would keep them out for ever).  Past its
  free failures each check of that name is only *delayed*, by at most ``LONGEST_DELAY``, and
  the admins are told once (an audit entry ``login.alert``).  The right password always
  passes, after the delay.

A quiet hour forgives everything.  A client gets more free failures than a pair, since a
whole campaign room may share one address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from campaign.storage.models import LoginThrottle

FREE = {"pair": 5, "client": 20, "user": 10}
LOCKING = frozenset({"pair", "client"})  # a user name is only ever delayed
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)
FIRST_DELAY = 0.25  # seconds, doubling with each failure past the free ones
LONGEST_DELAY = 4.0
FORGIVEN_AFTER = timedelta(hours=1)


def user_key(name: str) -> str:
    return f"user:{name.strip().lower()[:64]}"


def client_key(address: str) -> str:
    return f"client:{address[:120]}"


def pair_key(name: str, address: str) -> str:
    return f"pair:{name.strip().lower()[:64]}@{address[:120]}"


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
    """How long a key is locked after its n-th failure in a row; None while free (or a user name)."""
    over = failures - FREE[kind] - 1
    if over < 0 or kind not in LOCKING:
        return None
    return min(FIRST_LOCK * (2 ** min(over, 16)), LONGEST_LOCK)


def delay_for(failures: int) -> float:
    """Seconds to wait before checking a password for a name with this many recent failures."""
    over = failures - FREE["user"]
    if over <= 0:
        return 0.0
    return min(FIRST_DELAY * (2 ** min(over - 1, 16)), LONGEST_DELAY)


def recent_failures(engine: Engine, key: str, now: datetime) -> int:
    """Failures of this key within the forgiving hour."""
    with engine.connect() as connection:
        row = connection.execute(
            select(LoginThrottle.failures, LoginThrottle.last_failure_at).where(LoginThrottle.key == key)
        ).first()
    if row is None or now - row.last_failure_at > FORGIVEN_AFTER:
        return 0
    return int(row.failures)


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

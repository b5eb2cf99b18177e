"""Dashboard sessions that outlast one Streamlit session: a signed cookie, a row per login.

A login makes a random token; the browser keeps it in a signed, HttpOnly, ``SameSite=Lax``
cookie (``dashboard.cookies`` sets it) and the ``user_sessions`` table keeps only its
SHA-256, with the user and the user's session stamp at that moment.  Each new Streamlit
session (a reload, a second tab, a shared link) resumes the user from the cookie while

- the row exists: logging out deletes it;
- it has not expired (``CAMPAIGN_SESSION_HOURS`` after the login);
- the user still exists with the same session stamp: a password reset, a role change or a
  new single sign-on identity changes the stamp, removing the user removes the row.

The signature (HMAC-SHA256 under a key derived from the secret key) lets a forged or
mangled cookie be refused before any database read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from campaign import audit
from campaign.access.users import UserInfo, by_id
from campaign.storage.models import UserSession, utcnow

COOKIE = "campaign_session"
SEEN_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often per session


@dataclass(frozen=True)
class Resumed:
    """What a session cookie is worth now: the user, or why there is none."""

    user: UserInfo | None
    ended: str = ""  # why a session that existed has ended ("" when valid or unknown)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signing_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"campaign/session-cookie/v1", hashlib.sha256).digest()


def sign(token: str, secret_key: str) -> str:
    """The cookie's value: the token and its signature."""
    mac = hmac.new(_signing_key(secret_key), token.encode(), hashlib.sha256).digest()
    return f"{token}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign(value: str | None, secret_key: str) -> str | None:
    """The token in a cookie value, or None when it is missing, mangled or not signed by us."""
    if not value or value.count(".") != 1:
        return None
    token = value.split(".", 1)[0]
    return token if token and hmac.compare_digest(sign(token, secret_key), value) else None


def start(
    engine: Engine, user: UserInfo, *, hours: float, client: str = "", now: datetime | None = None
) -> str:
    """Open a session for a user who just logged in; the token goes into the cookie only."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(delete(UserSession).where(UserSession.expires_at <= now))
        connection.execute(
            insert(UserSession).values(
                token_hash=_hash(token),
                user_id=user.id,
                stamp=user.session_stamp,
                created_at=now,
                expires_at=now + timedelta(hours=hours),
                last_seen_at=now,
                client=client[:64],
            )
        )
    return token


def resume(engine: Engine, token: str, *, now: datetime | None = None) -> Resumed:
    """The user a session token stands for now; an expired or outdated session is deleted (audited)."""
    now = now or utcnow()
    with engine.connect() as connection:
        row = connection.execute(
            select(
                UserSession.id,
                UserSession.user_id,
                UserSession.stamp,
                UserSession.expires_at,
                UserSession.last_seen_at,
            ).where(UserSession.token_hash == _hash(token))
        ).first()
    if row is None:
        return Resumed(None)
    user = by_id(engine, row.user_id)
    if row.expires_at <= now:
        reason = "expired"
    elif user is None:
        reason = "user removed"
    elif user.session_stamp != row.stamp:
        reason = "password, role or identity changed"
    else:
        if now - row.last_seen_at >= SEEN_EVERY:
            with engine.begin() as connection:
                connection.execute(
                    update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
                )
        return Resumed(user)
    with engine.begin() as connection:
        connection.execute(delete(UserSession).where(UserSession.id == row.id))
    audit.record(
        engine, "system", "session.ended", user.name if user else str(row.user_id), {"reason": reason}
    )
    return Resumed(None, reason)


def holds(engine: Engine, token: str, *, now: datetime | None = None) -> bool:
    """The session is still open: not logged out and not expired (tabs already open check this)."""
    now = now or utcnow()
    with engine.connect() as connection:
        found = connection.scalar(
            select(UserSession.id).where(UserSession.token_hash == _hash(token), UserSession.expires_at > now)
        )
    return found is not None


def end(engine: Engine, token: str) -> bool:
    """Log out: delete the session at once (every tab holding its cookie is logged out)."""
    with engine.begin() as connection:
        return (
            connection.execute(delete(UserSession).where(UserSession.token_hash == _hash(token))).rowcount > 0
        )


def count(engine: Engine, user: UserInfo) -> int:
    """Open (unexpired) sessions of a user."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(UserSession.id).where(UserSession.user_id == user.id, UserSession.expires_at > utcnow())
        ).all()
    return len(rows)

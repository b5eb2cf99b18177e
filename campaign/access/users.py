"""Dashboard users: names, roles, argon2 password hashes, and logging in.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``); a hash made with
older parameters is replaced at the next successful login.  Logging in is slowed by
``campaign.access.throttle`` and every attempt, good or bad, is written to the audit log (never
the password).  A user may instead carry an e-mail address, which the first single sign-on
with that address verified binds to the identity provider's issuer and subject.

A dashboard session holds the user's ``session_stamp`` from when it began; resetting the
password, changing the role or removing the user changes it (or the user is gone), and the
dashboard's guard ends every session whose stamp no longer matches at its next run.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, Row, Select, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from campaign import audit, files
from campaign.access import roles as access
from campaign.access import throttle
from campaign.errors import BadRequest, ConfigurationError, NotFound, Unauthorized
from campaign.storage.models import User, UserSession, utcnow

log = logging.getLogger("campaign.users")

HASHER = PasswordHasher()
NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 10


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so they take as long as known ones.

    Made on first use: hashing costs a quarter of a second, which every command would pay at start.
    """
    return HASHER.hash(secrets.token_urlsafe(16))


# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: str
    email: str | None
    created_at: datetime
    last_login_at: datetime | None
    has_password: bool
    id: int = 0
    session_epoch: int = 0
    sso_bound: bool = False  # single sign-on has bound this user to an identity (issuer + subject)

    @property
    def session_stamp(self) -> str:
        """What a dashboard session keeps of this user: it changes when their access does.

        The id and the moment of creation are in it so that a user removed and added again
        under the same name (SQLite may even give the same id again) does not inherit the old
        sessions.
        """
        return f"{self.id}.{self.created_at.isoformat()}.{self.session_epoch}"


class LoginRefused(Unauthorized):
    """A refused login; ``retry_at`` is set while the name or client is locked out."""

    def __init__(self, message: str, retry_at: datetime | None = None):
        super().__init__(message, code="login_refused")
        self.retry_at = retry_at


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME.fullmatch(name):
        raise BadRequest(f"user name {name!r}: 1 to 64 of a-z 0-9 . _ @ -, starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise BadRequest("password: at most 1024 characters")
    return password


def _check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if not EMAIL.fullmatch(email) or len(email) > 254:
        raise BadRequest(f"e-mail {email!r} is not an address")
    return email


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def add(
    engine: Engine,
    name: str,
    role: str,
    password: str | None,
    *,
    email: str | None = None,
    actor: str,
) -> UserInfo:
    """Add a user with a password, or with only an e-mail for single sign-on."""
    name, role, email = check_name(name), access.check_role(role), _check_email(email)
    if password is None and email is None:
        raise BadRequest("a user needs a password or an e-mail address for single sign-on")
    hashed = HASHER.hash(check_password(password)) if password is not None else None
    try:
        with engine.begin() as connection:
            if connection.scalar(select(User.id).where(User.name == name)) is not None:
                raise BadRequest(f"a user named {name!r} exists already")
            connection.execute(
                insert(User).values(
                    name=name, role=role, password_hash=hashed, email=email, created_at=utcnow()
                )
            )
    except IntegrityError:
        raise BadRequest(f"a user with the name {name!r} or e-mail {email!r} exists already") from None
    audit.record(engine, actor, "user.add", name, {"role": role, "sso": email is not None})
    return get(engine, name)


def get(engine: Engine, name: str) -> UserInfo:
    found = find(engine, name)
    if found is None:
        raise NotFound(f"no user named {name!r}")
    return found


def find(engine: Engine, name: str) -> UserInfo | None:
    with engine.connect() as connection:
        row = connection.execute(_columns().where(User.name == name.strip().lower())).first()
    return _info(row) if row else None


def by_id(engine: Engine, user_id: int) -> UserInfo | None:
    with engine.connect() as connection:
        row = connection.execute(_columns().where(User.id == user_id)).first()
    return _info(row) if row else None


def by_email(engine: Engine, email: str) -> UserInfo | None:
    with engine.connect() as connection:
        row = connection.execute(_columns().where(User.email == email.strip().lower())).first()
    return _info(row) if row else None


def listing(engine: Engine) -> list[UserInfo]:
    with engine.connect() as connection:
        rows = connection.execute(_columns().order_by(User.name)).all()
    return [_info(row) for row in rows]


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(User)) or 0)


_Columns = tuple[str, str, str | None, datetime, datetime | None, str | None, int, int, str | None]


def _columns() -> Select[*_Columns]:
    return select(
        User.name,
        User.role,
        User.email,
        User.created_at,
        User.last_login_at,
        User.password_hash,
        User.id,
        User.session_epoch,
        User.sso_subject,
    )


def _info(row: Row[*_Columns]) -> UserInfo:
    name, role, email, created_at, last_login_at, password_hash, user_id, epoch, subject = row
    return UserInfo(
        name,
        role,
        email,
        created_at,
        last_login_at,
        has_password=password_hash is not None,
        id=user_id,
        session_epoch=epoch,
        sso_bound=subject is not None,
    )


def remove(engine: Engine, name: str, *, actor: str) -> None:
    """Remove a user; their open dashboard sessions end at their next run."""
    name = name.strip().lower()
    with engine.begin() as connection:
        user = connection.execute(select(User.role).where(User.name == name)).first()
        if user is None:
            raise NotFound(f"no user named {name!r}")
        if user.role == "admin" and _admins(connection) <= 1:
            raise BadRequest(f"{name!r} is the last admin; make another admin first")
        user_id = select(User.id).where(User.name == name).scalar_subquery()
        connection.execute(delete(UserSession).where(UserSession.user_id == user_id))
        connection.execute(delete(User).where(User.name == name))
    audit.record(engine, actor, "user.remove", name)


def set_role(engine: Engine, name: str, role: str, *, actor: str) -> None:
    name, role = name.strip().lower(), access.check_role(role)
    with engine.begin() as connection:
        user = connection.execute(select(User.role).where(User.name == name)).first()
        if user is None:
            raise NotFound(f"no user named {name!r}")
        if user.role == "admin" and role != "admin" and _admins(connection) <= 1:
            raise BadRequest(f"{name!r} is the last admin; make another admin first")
        if role != user.role:  # a session opened under the old role ends
            connection.execute(
                update(User).where(User.name == name).values(role=role, session_epoch=User.session_epoch + 1)
            )
    audit.record(
        engine, actor, "user.role", name, {"from": user.role, "to": role, "sessions_ended": role != user.role}
    )


def set_password(engine: Engine, name: str, password: str, *, actor: str) -> None:
    """Set a new password; every open dashboard session of the user ends at its next run."""
    name = name.strip().lower()
    hashed = HASHER.hash(check_password(password))
    with engine.begin() as connection:
        done = connection.execute(
            update(User)
            .where(User.name == name)
            .values(password_hash=hashed, session_epoch=User.session_epoch + 1)
        ).rowcount
    if not done:
        raise NotFound(f"no user named {name!r}")
    throttle.cleared(engine, [throttle.user_key(name)])
    audit.record(engine, actor, "user.passwd", name, {"sessions_ended": True})


def _admins(connection: Connection) -> int:
    return int(connection.scalar(select(func.count()).select_from(User).where(User.role == "admin")) or 0)


def authenticate(
    engine: Engine,
    name: str,
    password: str,
    client: str,
    now: datetime | None = None,
    *,
    wait: Callable[[float], None] = time.sleep,
) -> UserInfo:
    """The user whose name and password these are, or ``LoginRefused`` saying why (and until when).

    ``client`` is the address the login came from, as the deployment's trusted proxies tell
    it; an empty one is refused rather than counted in a bucket every such login would share.
    """
    now = now or utcnow()
    name = name.strip().lower()[:64]
    if not client:
        raise LoginRefused("this login's address is unknown; ask the operator to check the proxy settings")
    locking = [throttle.pair_key(name, client), throttle.client_key(client)]
    detail = {"client": client}
    locked = throttle.locked_until(engine, locking, now)
    if locked is not None:
        audit.record(engine, name or "?", "login.refused", name, {**detail, "reason": "locked"})
        raise LoginRefused(_locked_message(locked, now), retry_at=locked)
    name_key = throttle.user_key(name)
    delay = throttle.delay_for(throttle.recent_failures(engine, name_key, now))
    if delay:  # guesses at this name from many places: each check costs the guesser time
        wait(delay)
    with engine.connect() as connection:
        row = connection.execute(select(User.password_hash).where(User.name == name)).first()
    stored = row.password_hash if row is not None else None
    if not _verified(stored, password):
        reason = "wrong password" if row is not None else "unknown user"
        locked = throttle.failed(engine, [*locking, name_key], now)
        audit.record(engine, name or "?", "login.failed", name, {**detail, "reason": reason})
        if throttle.recent_failures(engine, name_key, now) == throttle.FREE["user"] + 1:
            _alert_admins(engine, name, client)
        if locked is not None:
            raise LoginRefused(_locked_message(locked, now), retry_at=locked)
        raise LoginRefused("wrong user name or password")
    assert stored is not None
    changes: dict[str, object] = {"last_login_at": now}
    if HASHER.check_needs_rehash(stored):
        changes["password_hash"] = HASHER.hash(password)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.name == name).values(**changes))
    throttle.cleared(engine, [locking[0], name_key])
    audit.record(engine, name, "login", name, {**detail, "method": "password"})
    return get(engine, name)


def _alert_admins(engine: Engine, name: str, client: str) -> None:
    """Many failed logins for one name: tell the admins (audit log, and the log for alerting)."""
    log.warning(
        "many failed logins for user name %r (latest from %s); its checks are now delayed", name, client
    )
    audit.record(
        engine,
        "system",
        "login.alert",
        name,
        {"client": client, "failures": throttle.FREE["user"] + 1, "within": "1 hour"},
    )


def single_sign_on(
    engine: Engine,
    claims: Mapping[str, object],
    client: str,
    *,
    domains: Sequence[str] = (),
    now: datetime | None = None,
) -> UserInfo:
    """The user an identity provider's ID-token claims belong to, or ``LoginRefused`` saying why.

    A user is bound to the provider's issuer and subject (``iss``, ``sub``), which the provider
    never reassigns, unlike an e-mail address.  Only the first login binds, matching the
    ``email`` claim to a user's address, and only when the provider says the address is
    verified (``email_verified``) and it is in one of ``domains`` (when any are given).  Every
    later login matches on issuer and subject alone: the same e-mail from another subject or
    another provider is refused.  Each refusal and each binding is audited.
    """
    now = now or utcnow()
    issuer, subject = _claim(claims, "iss"), _claim(claims, "sub")
    email = _claim(claims, "email").lower()
    detail: dict[str, object] = {"client": client, "method": "sso", "issuer": issuer[:255]}

    def refuse(reason: str, message: str, name: str = "") -> LoginRefused:
        """Audit a refusal (by whoever claims the e-mail; of the user it names, if any)."""
        audit.record(engine, email or "?", "login.failed", name or email, {**detail, "reason": reason})
        return LoginRefused(message)

    if not issuer or not subject:
        raise refuse("no issuer or subject", "the identity provider did not say who this is (no iss or sub)")
    if len(issuer) > 255 or len(subject) > 255:
        raise refuse("identity too long", "the identity provider's issuer or subject is too long")
    with engine.connect() as connection:
        row = connection.execute(
            _columns().where(User.sso_issuer == issuer, User.sso_subject == subject)
        ).first()
    user = _info(row) if row else None
    if user is None:
        user = _bind(engine, issuer, subject, email, claims.get("email_verified"), domains, refuse)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.id == user.id).values(last_login_at=now))
    audit.record(engine, user.name, "login", user.name, detail)
    return user


def _bind(
    engine: Engine,
    issuer: str,
    subject: str,
    email: str,
    verified: object,
    domains: Sequence[str],
    refuse: Callable[..., LoginRefused],
) -> UserInfo:
    """The first single sign-on of a user: bind the user with this verified e-mail to this identity."""
    nobody = "this account has no access here: ask an admin to add you"
    if not email:
        raise refuse("no e-mail claim", "the identity provider sent no e-mail address")
    if not (verified is True or (isinstance(verified, str) and verified.strip().lower() == "true")):
        raise refuse("e-mail not verified", f"{email}: the identity provider has not verified this address")
    domain = email.rpartition("@")[2]
    if domains and domain not in domains:
        raise refuse("e-mail domain not allowed", f"{email}: addresses at {domain} have no access here")
    user = by_email(engine, email)
    if user is None:
        raise refuse("no such sso user", nobody)
    if user.sso_bound:  # the address moved to another account, or someone claims it: never rebind
        log.warning("single sign-on for user %r from another identity refused (issuer %s)", user.name, issuer)
        raise refuse("another identity", nobody, user.name)
    try:
        with engine.begin() as connection:
            bound = connection.execute(
                update(User)
                .where(User.id == user.id, User.sso_subject.is_(None))
                .values(sso_issuer=issuer, sso_subject=subject)
            ).rowcount
    except IntegrityError:  # this identity was bound to another user a moment ago
        bound = 0
    if not bound:
        raise refuse("another identity", nobody, user.name)
    audit.record(engine, user.name, "user.sso_bind", user.name, {"issuer": issuer, "subject": subject})
    return get(engine, user.name)


def _claim(claims: Mapping[str, object], name: str) -> str:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) else ""


def forget_sso_identity(engine: Engine, name: str, *, actor: str) -> None:
    """Unbind a user's single sign-on identity; the next verified login binds again.

    For a user whose account at the identity provider was replaced.  Their open sessions end.
    """
    name = name.strip().lower()
    with engine.begin() as connection:
        done = connection.execute(
            update(User)
            .where(User.name == name)
            .values(sso_issuer=None, sso_subject=None, session_epoch=User.session_epoch + 1)
        ).rowcount
    if not done:
        raise NotFound(f"no user named {name!r}")
    audit.record(engine, actor, "user.sso_reset", name, {"sessions_ended": True})


def _verified(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _locked_message(until: datetime, now: datetime) -> str:
    seconds = max(int((until - now).total_seconds()) + 1, 1)
    wait = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
    return f"too many failed attempts: try again after {until:%H:%M:%S} UTC (in {wait})"


def first_admin(engine: Engine, password_file: Path) -> str | None:
    """On a fresh install (no users at all) make ``admin`` with a generated password.

    The password is written to ``password_file`` (readable by its owner only) and returned
    once; None when any user exists already.
    """
    if count(engine):
        return None
    password = generate_password()
    try:
        add(engine, "admin", "admin", password, actor="setup")
    except BadRequest:  # another process made it a moment ago
        return None
    try:
        files.write_private(password_file, f"admin\n{password}\n")
    except OSError as error:  # e.g. a link planted where the file goes (ELOOP)
        raise ConfigurationError(
            f"{password_file}: cannot write the first admin's password ({error.strerror})"
        ) from None
    return password

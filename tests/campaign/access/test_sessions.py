"""Dashboard sessions that last across reloads (issue 17, item 1), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from campaign import audit
from campaign.access import sessions, users
from campaign.runtime import Runtime

PASSWORD = "correct horse battery"
KEY = "a secret key for the tests"
NOON = datetime.fromisoformat("2026-12-01T12:00:00+00:00")


def test_a_session_resumes_its_user_until_it_expires(runtime: Runtime) -> None:
    user = users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    token = sessions.start(runtime.engine, user, hours=12, client="10.0.0.1", now=NOON)
    resumed = sessions.resume(runtime.engine, token, now=NOON + timedelta(hours=11, minutes=59))
    assert resumed.user is not None and resumed.user.name == "amina"
    assert sessions.resume(runtime.engine, "not a token", now=NOON).user is None
    late = sessions.resume(runtime.engine, token, now=NOON + timedelta(hours=12))
    assert (late.user, late.ended) == (None, "expired")
    assert sessions.resume(runtime.engine, token, now=NOON).user is None, "an expired session is gone"
    (ended,) = audit.search(runtime.engine, actions=["session.ended"])
    assert (ended.subject, ended.detail) == ("amina", {"reason": "expired"})


def test_logging_out_ends_the_session_at_once(runtime: Runtime) -> None:
    user = users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    token = sessions.start(runtime.engine, user, hours=12, now=NOON)
    other = sessions.start(runtime.engine, user, hours=12, now=NOON)  # another browser
    assert sessions.end(runtime.engine, token) is True
    assert sessions.resume(runtime.engine, token, now=NOON).user is None
    assert sessions.end(runtime.engine, token) is False
    assert sessions.resume(runtime.engine, other, now=NOON).user is not None


def test_a_password_reset_or_a_role_change_ends_every_session(runtime: Runtime) -> None:
    user = users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    bram = users.add(runtime.engine, "bram", "staff", PASSWORD, actor="test")
    first = sessions.start(runtime.engine, user, hours=12, now=NOON)
    second = sessions.start(runtime.engine, user, hours=12, now=NOON)
    theirs = sessions.start(runtime.engine, bram, hours=12, now=NOON)
    users.set_password(runtime.engine, "amina", "another long one", actor="test")
    assert sessions.resume(runtime.engine, first, now=NOON).ended == "password, role or identity changed"
    assert sessions.resume(runtime.engine, second, now=NOON).user is None
    assert sessions.resume(runtime.engine, theirs, now=NOON).user is not None, "someone else's stays"
    again = sessions.start(runtime.engine, users.get(runtime.engine, "amina"), hours=12, now=NOON)
    users.set_role(runtime.engine, "amina", "lead", actor="test")
    assert sessions.resume(runtime.engine, again, now=NOON).user is None


def test_removing_the_user_ends_their_sessions_even_under_the_same_name(runtime: Runtime) -> None:
    user = users.add(runtime.engine, "amina", "lead", PASSWORD, actor="test")
    token = sessions.start(runtime.engine, user, hours=12, now=NOON)
    users.remove(runtime.engine, "amina", actor="test")
    users.add(runtime.engine, "amina", "lead", PASSWORD, actor="test")
    assert sessions.resume(runtime.engine, token, now=NOON).user is None


def test_only_a_cookie_signed_with_the_key_names_a_token() -> None:
    value = sessions.sign("token123", KEY)
    assert sessions.unsign(value, KEY) == "token123"
    assert sessions.unsign(value, "another key") is None
    assert sessions.unsign("token124" + value[8:], KEY) is None
    for bad in (None, "", "token123", "a.b.c", "." + value.split(".")[1]):
        assert sessions.unsign(bad, KEY) is None


def test_an_open_page_sees_a_logout_elsewhere_and_the_end_of_the_session(runtime: Runtime) -> None:
    user = users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    token = sessions.start(runtime.engine, user, hours=1, now=NOON)
    assert sessions.holds(runtime.engine, token, now=NOON + timedelta(minutes=59))
    assert not sessions.holds(runtime.engine, token, now=NOON + timedelta(hours=1))
    sessions.end(runtime.engine, token)
    assert not sessions.holds(runtime.engine, token, now=NOON)

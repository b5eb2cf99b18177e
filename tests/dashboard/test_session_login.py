"""Under AppTest: a form login opens a session record and offers its cookie; logging out in
another tab, or the record expiring, ends the login of a page already open (issue 17)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from campaign import audit
from campaign.access import sessions, users
from campaign.runtime import Runtime
from campaign.settings import Settings
from dashboard import guard
from tests.dashboard.test_access_pages import PASSWORD, app, log_in_form

pytestmark = pytest.mark.usefixtures("hassan")


def logged_in(runtime: Runtime) -> AppTest:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    at = log_in_form(app().run(), "amina", PASSWORD)
    assert at.session_state[guard.USER] == "amina"
    return at


def test_a_form_login_opens_a_session_and_hands_its_cookie_over(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    at = logged_in(runtime)
    token = at.session_state[guard.SESSION]
    user = users.get(runtime.engine, "amina")
    assert sessions.resume(runtime.engine, token).user == user
    assert sessions.count(runtime.engine, user) == 1
    scripts = [e.proto.body for e in at.get("html") if "fetch(" in e.proto.body]
    assert len(scripts) == 1 and "/_campaign/session" in scripts[0] and token not in scripts[0]
    at.run()
    assert not [e for e in at.get("html") if "fetch(" in e.proto.body], "the code is sent once"


def test_logging_out_elsewhere_ends_an_open_page(dashboard_env: Settings, runtime: Runtime) -> None:
    at = logged_in(runtime)
    sessions.end(runtime.engine, at.session_state[guard.SESSION])  # /logout in another tab
    at.run()
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    (ended,) = audit.search(runtime.engine, actions=["session.ended"])
    assert ended.detail == {"reason": "logged out elsewhere or expired"}

"""Access control under AppTest: each role sees exactly its pages, the login form refuses
wrong passwords and slows repeated failures, screen links open their one page until revoked.

A browser asking for ``/admin`` sends the page's hash (Streamlit derives it from the
url_path); ``at._page_hash`` is where AppTest keeps that request, so ``open_path`` sets it
the way the browser's address does.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
import streamlit as st
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from campaign import audit
from campaign.access import roles as access
from campaign.access import screens, throttle, users
from campaign.runtime import Runtime
from campaign.settings import Settings
from dashboard import guard
from tests.cli.test_cli_access import campaign
from tests.conftest import ROOT, post_twilio, twilio_form
from tests.dashboard.conftest import sign_in

APP = str(ROOT / "dashboard" / "app.py")
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.usefixtures("hassan")


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30)


def navigation(at: AppTest) -> set[str]:
    """The url_paths of the pages this run's st.navigation registered."""
    return {info["url_pathname"] for info in at._registered_pages.values() if "url_pathname" in info}


def open_path(at: AppTest, url_path: str) -> AppTest:
    at._page_hash = calc_hash(url_path)
    at.run()
    assert not at.exception, at.exception
    return at


def text(at: AppTest) -> str:
    parts = (
        [e.proto.body for e in at.get("html")] + [e.value for e in at.markdown] + [e.value for e in at.title]
    )
    parts += [e.label for e in at.tabs]
    return "\n".join(str(p) for p in parts)


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    (table,) = [d.value for d in at.dataframe if column in d.value.columns]
    return table


def log_in_form(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login-name").input(name)
    at.text_input(key="login-password").input(password)
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, at.exception
    return at


# Hidden pages every logged-in user has: "" (the default: the start page at "/") and log-out.
ALWAYS = {"", "logout"}
BUILT = {"live", "on-air", "map", "outcomes", "history", "messages", "appeals", "admin"}


@pytest.mark.parametrize(
    ("role", "pages"),
    [
        ("viewer", {"live", "on-air"}),
        ("staff", {"live", "on-air", "map", "outcomes", "history"}),
        ("lead", {"live", "on-air", "map", "outcomes", "history", "messages", "appeals"}),
        ("admin", {"live", "on-air", "map", "outcomes", "history", "messages", "appeals", "admin"}),
    ],
)
def test_each_role_sees_exactly_its_pages(dashboard_env: Settings, role: str, pages: set[str]) -> None:
    at = app()
    sign_in(at, role)
    at.run()
    assert not at.exception, at.exception
    assert navigation(at) == pages | ALWAYS
    assert pages == set(access.pages_for(role)) & BUILT, "the one table in campaign.access.roles decides"


def test_roles_include_the_ones_below() -> None:
    assert access.pages_for("viewer") == ["live", "on-air"]
    assert set(access.pages_for("staff")) == {"live", "on-air", "map", "outcomes", "history"}
    assert set(access.pages_for("lead")) == set(access.pages_for("staff")) | {"messages", "appeals"}
    assert set(access.pages_for("admin")) == set(access.PAGES)
    assert not access.may_see("admin", "no-such-page"), "a page not in the table is nobody's"


@pytest.mark.parametrize(("role", "path"), [("viewer", "map"), ("viewer", "outcomes"), ("staff", "admin")])
def test_a_forbidden_address_shows_none_of_its_data(
    dashboard_env: Settings, runtime: Runtime, role: str, path: str
) -> None:
    users.add(runtime.engine, "victim", "staff", PASSWORD, actor="test")  # a name only Admin lists
    at = app()
    sign_in(at, role)
    at.run()
    open_path(at, path)
    shown = text(at)
    assert "Audit log" not in shown and "victim" not in shown, "no admin data"
    assert '<h1 class="sf-h">' not in shown, "no staff page (Map, Outcomes) ran"
    assert 'class="sf-h sf-home"' in shown, "the visitor's start page ran instead"


@pytest.mark.parametrize("path", ["live", "on-air", "map", "admin"])
def test_nobody_gets_the_login_form_at_every_address(dashboard_env: Settings, path: str) -> None:
    at = open_path(app(), path)
    assert navigation(at) == {"", *access.PAGES}
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.get("plotly_chart") and not at.get("bidi_component") and not at.tabs


def test_the_login_form_opens_the_page_asked_for(dashboard_env: Settings, runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "admin", PASSWORD, actor="test")
    at = open_path(app(), "admin")
    log_in_form(at, "Amina ", PASSWORD)  # names are case- and space-insensitive
    assert at.session_state[guard.USER] == "amina"
    assert "Audit log" in text(at), "the admin page itself, at the address asked for"
    entry = audit.search(runtime.engine, actions=["login"])[0]
    assert (entry.actor, entry.detail["method"]) == ("amina", "password")


def test_a_wrong_password_is_refused(dashboard_env: Settings, runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    at = log_in_form(open_path(app(), "map"), "amina", "wrong horse battery")
    assert guard.USER not in at.session_state
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    assert navigation(at) == {"", *access.PAGES}
    (entry,) = audit.search(runtime.engine, actions=["login.failed"])
    assert entry.detail == {"client": "127.0.0.1", "reason": "wrong password"}
    assert "wrong horse" not in str(entry.detail) + entry.subject, "never the password"


def test_repeated_failures_lock_this_browser_and_say_until_when(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    at = open_path(app(), "map")
    for _ in range(throttle.FREE["pair"]):
        log_in_form(at, "amina", "not it at all")
        assert [e.value for e in at.error] == ["Wrong user name or password."]
    log_in_form(at, "amina", "still not it")
    (message,) = [e.value for e in at.error]
    assert re.fullmatch(
        r"Too many failed attempts\. Try again after \d\d:\d\d:\d\d \(Europe/Amsterdam\)\.", message
    )
    pair = throttle.pair_key("amina", "127.0.0.1")
    assert throttle.failures(runtime.engine, pair) == throttle.FREE["pair"] + 1
    # This address is locked for this name: the right password from here waits too, beyond the
    # session (the name itself is never locked: from elsewhere it gets in).
    again = log_in_form(open_path(app(), "map"), "amina", PASSWORD)
    assert guard.USER not in again.session_state
    assert again.error[0].value.startswith("Too many failed attempts")
    assert audit.search(runtime.engine, actions=["login.refused"])[0].detail["reason"] == "locked"


def test_a_screen_link_opens_its_page_without_login(
    dashboard_env: Settings, client: TestClient, runtime: Runtime
) -> None:
    for i, sender in enumerate(["+31612345678", "+32470123456"]):
        assert post_twilio(client, twilio_form(f"SMs{i}", sender, "JA")).status_code == 200
    token = screens.create(runtime.engine, "RTL studio 2", appeal="hassan", actor="test")
    at = app()
    at.query_params["token"] = token
    at.query_params["appeal"] = "kenya"  # the token decides what the screen shows
    at.query_params["theme"] = "green"
    open_path(at, "on-air")
    assert navigation(at) == {""}, "a screen link opens one page (its default) and nothing else"
    (counter,) = [e for e in at.main if getattr(e, "type", "") == "bidi_component"]
    assert '"value": 2' in counter.proto.json and '"theme": "green"' in counter.proto.json
    assert "Stop the torture of Hassan" in counter.proto.json

    screens.revoke(runtime.engine, "RTL studio 2", actor="test")
    st.cache_data.clear()  # the dashboard checks a link at most every 3 s; the test does not wait
    at.run()
    assert not at.exception
    assert navigation(at) == {"", *access.PAGES}
    assert not [e for e in at.main if getattr(e, "type", "") == "bidi_component"]
    assert "revoked" in at.error[0].value


def test_a_live_screen_link_does_not_open_on_air(dashboard_env: Settings, runtime: Runtime) -> None:
    token = screens.create(runtime.engine, "wall", page="live", campaign="torture", actor="test")
    at = app()
    at.query_params["token"] = token
    open_path(at, "on-air")
    assert navigation(at) == {""}
    assert not [e for e in at.main if getattr(e, "type", "") == "bidi_component"], "Live ran, not On air"
    assert "Stop the torture of Hassan" in text(at)


def test_a_removed_user_is_logged_out(dashboard_env: Settings, runtime: Runtime) -> None:
    at = app()
    sign_in(at, "staff")
    at.run()
    assert "map" in navigation(at)
    users.remove(runtime.engine, "test-staff", actor="test")
    st.cache_data.clear()
    at.run()
    assert navigation(at) == {"", *access.PAGES}
    assert guard.USER not in at.session_state


# Issue 14, finding 11: a password reset, a role change or a removal left the user's open
# sessions running. Each now ends at the session's next run, without waiting for a cache.
def logged_in_staff(runtime: Runtime) -> AppTest:
    at = app()
    sign_in(at, "staff")
    open_path(at, "map")
    assert "map" in navigation(at)
    return at


def assert_logged_out(at: AppTest, runtime: Runtime, reason: str) -> None:
    at.run()
    assert not at.exception, at.exception
    assert navigation(at) == {"", *access.PAGES}, "the login form, at every address"
    assert guard.USER not in at.session_state and guard.STAMP not in at.session_state
    (ended,) = audit.search(runtime.engine, actions=["session.ended"])
    assert ended.subject == "test-staff" and ended.detail == {"reason": reason}


def test_a_password_reset_on_the_command_line_ends_the_open_session(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    at = logged_in_staff(runtime)
    reset = campaign(
        dashboard_env, "user", "passwd", "test-staff", "--password-stdin", input="a new long one\n"
    )
    assert reset.returncode == 0, reset.stderr
    assert_logged_out(at, runtime, "password, role or identity changed")
    assert audit.search(runtime.engine, actions=["user.passwd"])[0].detail == {"sessions_ended": True}
    # The new password opens a new session, which lasts.
    again = log_in_form(open_path(app(), "map"), "test-staff", "a new long one")
    assert "map" in navigation(again)
    again.run()
    assert again.session_state[guard.USER] == "test-staff"


def test_a_role_change_ends_the_open_session(dashboard_env: Settings, runtime: Runtime) -> None:
    at = logged_in_staff(runtime)
    users.set_role(runtime.engine, "test-staff", "viewer", actor="test")
    assert_logged_out(at, runtime, "password, role or identity changed")


def test_the_same_role_again_or_another_users_reset_ends_nothing(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    at = logged_in_staff(runtime)
    users.set_role(runtime.engine, "test-staff", "staff", actor="test")
    users.add(runtime.engine, "bram", "staff", PASSWORD, actor="test")
    users.set_password(runtime.engine, "bram", "another long one", actor="test")
    at.run()
    assert not audit.search(runtime.engine, actions=["session.ended"])
    assert "map" in navigation(at) and at.session_state[guard.USER] == "test-staff"


def test_a_removal_ends_the_open_session_at_once(dashboard_env: Settings, runtime: Runtime) -> None:
    at = logged_in_staff(runtime)
    users.remove(runtime.engine, "test-staff", actor="test")
    assert_logged_out(at, runtime, "user removed")


def test_a_user_removed_and_added_again_does_not_inherit_the_old_session(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    at = logged_in_staff(runtime)
    users.remove(runtime.engine, "test-staff", actor="test")
    users.add(runtime.engine, "test-staff", "admin", PASSWORD, actor="test")
    assert_logged_out(at, runtime, "password, role or identity changed")


def test_changing_ones_own_password_ends_the_other_sessions_only(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    elsewhere = app()
    admin = sign_in(elsewhere, "admin")
    open_path(elsewhere, "admin")
    here = app()
    sign_in(here, "admin")
    open_path(here, "admin")
    here.selectbox(key="user-change-name").select(admin)
    here.text_input(key="user-change-password").input("a new long one")
    here.button(key="FormSubmitter:user-change-Apply").click()
    here.run()
    assert not here.exception, here.exception
    here.run()
    assert "admin" in navigation(here), "the session that changed it goes on"
    elsewhere.run()
    assert guard.USER not in elsewhere.session_state, "the other session ends"
    assert users.authenticate(runtime.engine, admin, "a new long one", "10.0.0.1").name == admin


# Issue 14, finding 6, through the login page: st.user holds the ID token's claims.
SSO = {"redirect_uri": "https://screens.example.org/oauth2callback", "cookie_secret": "x" * 32}


def sso_visit(claims: dict[str, object]) -> AppTest:
    at = app()
    at.secrets["auth"] = SSO
    at.user = {"is_logged_in": True, **claims}
    return open_path(at, "map")


def test_single_sign_on_binds_on_the_first_login_and_refuses_another_subject(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    users.add(runtime.engine, "amina", "staff", None, email="amina@example.org", actor="test")
    first = {"iss": "https://login.example.org", "sub": "1001", "email": "amina@example.org"}
    unverified = sso_visit(first | {"email_verified": False})
    assert guard.USER not in unverified.session_state
    assert "not verified" in unverified.error[0].value

    verified = sso_visit(first | {"email_verified": True})
    assert verified.session_state[guard.USER] == "amina" and "map" in navigation(verified)
    assert users.get(runtime.engine, "amina").sso_bound

    other = sso_visit(first | {"sub": "2002", "email_verified": True})  # the same address, another account
    assert guard.USER not in other.session_state
    assert "no access here" in other.error[0].value
    assert audit.search(runtime.engine, actions=["login.failed"])[0].detail["reason"] == "another identity"


def test_admin_page_adds_users_and_screens_and_shows_the_audit_log(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    at = app()
    admin = sign_in(at, "admin")
    at.run()
    open_path(at, "admin")
    at.text_input(key="user-add-name").input("bram")
    at.selectbox(key="user-add-role").select("lead")
    at.text_input(key="user-add-password").input(PASSWORD)
    at.button(key="FormSubmitter:user-add-Add user").click()
    at.run()
    assert not at.exception, at.exception
    assert users.get(runtime.engine, "bram").role == "lead"

    at.text_input(key="screen-add-name").input("NOS studio")
    at.selectbox(key="screen-add-appeal").select("hassan")
    at.button(key="FormSubmitter:screen-add-Add screen").click()
    at.run()
    assert not at.exception, at.exception
    (links,) = [c.value for c in at.code]
    token = re.search(r"token=(scr_[\w-]+)", links).group(1)  # type: ignore[union-attr]
    assert screens.verify(runtime.engine, token).appeal == "hassan"  # type: ignore[union-attr]
    assert f"/overlay/hassan?token={token}" in links

    shown = audit.search(runtime.engine, actor=admin)
    assert [e.action for e in shown][:2] == ["screen.add", "user.add"]
    at.multiselect(key="audit-actions").select("user.add")
    at.run()
    table = table_with(at, "action")
    assert set(table["action"]) == {"user.add"} and "bram" in set(table["subject"])
    settings_table = table_with(at, "setting")
    secret = settings_table[settings_table["setting"] == "CAMPAIGN_SECRET_KEY"]["value"].item()
    assert secret == "set" and "test-secret-key" not in settings_table.to_string()

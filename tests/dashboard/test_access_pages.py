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


# Hidden pages every logged-in user has: "" (the default: a copy of Live at "/") and log-out.
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
    assert 'class="cr-card' in shown, "the visitor's default page (Live) ran instead"


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

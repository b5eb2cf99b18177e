"""A rotating wall screen under AppTest: the player and its frames' addresses, a rotating
token's frames pinned to its playlist, and wrong lists refused in words, never a traceback.

That the screen really changes page by itself is seen in Chromium
(``tests/browser/test_rotating_screen_browser.py``).
"""

from __future__ import annotations

import json
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from campaign.access import rotation, screens
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.dashboard.conftest import sign_in
from tests.dashboard.test_access_pages import app, navigation, open_path

pytestmark = pytest.mark.usefixtures("hassan", "kenya")


def player(at: AppTest) -> dict[str, object] | None:
    """The player's settings (frames' addresses, titles, ms per page), if the page drew one."""
    for element in at.get("html"):
        found = re.search(r"const \{ urls, titles, every \} = (\{.*?\});", element.proto.body)
        if found:
            return dict(json.loads(found.group(1)))
    return None


def test_the_address_alone_sets_up_the_rotation(dashboard_env: Settings) -> None:
    at = app()
    sign_in(at, "staff")
    at.query_params["rotate"] = "live:hassan,map:campaign:kenya,on-air:campaign:torture"
    at.query_params["every"] = "20"
    at.query_params["theme"] = "light"
    open_path(at, "live")
    assert player(at) == {
        "urls": [
            "live?appeal=hassan&theme=light&slot=0&embed=true",
            "map?campaign=kenya&theme=light&slot=1&embed=true",
            "on-air?campaign=torture&theme=light&slot=2&embed=true",
        ],
        "titles": ["live:hassan", "map:campaign:kenya", "on-air:campaign:torture"],
        "every": 20000,
    }
    assert not at.error
    assert "Stop the torture of Hassan" not in str([e.proto.body for e in at.get("html")]), "no board beneath"


@pytest.mark.parametrize(
    ("rotate", "every", "problem"),
    [
        ("live:hassan,charts", "20", "no page 'charts'"),
        ("live:nobody", "20", "'live:nobody': no appeal 'nobody'"),
        ("on-air:campaign:nowhere", "20", "no campaign 'nowhere'"),
        ("live:hassan", "1", "5 to 3600, not '1'"),
        ("live,map", "20", "your role does not see the map page"),
        ("live:![x](x.png)", "20", "'![x](x.png)' is not a slug"),
    ],
)
def test_a_wrong_rotation_says_what_is_wrong(
    dashboard_env: Settings, rotate: str, every: str, problem: str
) -> None:
    at = app()
    sign_in(at, "viewer")
    at.query_params["rotate"] = rotate
    at.query_params["every"] = every
    open_path(at, "live")
    assert player(at) is None
    (error,) = at.error
    shown = error.value.replace("\\", "")  # as it reads: Markdown's escapes
    assert "This rotating screen cannot start" in shown and problem in shown


def test_a_rotating_token_plays_its_own_list_and_shows_only_its_entries(
    dashboard_env: Settings, runtime: Runtime
) -> None:
    playlist = rotation.parse("live:hassan,on-air:campaign:torture", 15)
    token = screens.create(runtime.engine, "Lobby", rotate=playlist, actor="test")
    at = app()
    at.query_params["token"] = token
    at.query_params["rotate"] = "live:kenya"  # the token decides what the screen shows
    open_path(at, "live")
    assert navigation(at) == {"", "on-air"}, "a rotating token opens the pages of its list, no others"
    assert player(at) == {
        "urls": [f"live?token={token}&slot=0&embed=true", f"on-air?token={token}&slot=1&embed=true"],
        "titles": ["live:hassan", "on-air:campaign:torture"],
        "every": 15000,
    }

    frame = app()
    frame.query_params["token"] = token
    frame.query_params["slot"] = "1"
    frame.query_params["campaign"] = "kenya"  # not in the list: the entry's scope wins
    open_path(frame, "on-air")
    (counter,) = [e for e in frame.main if getattr(e, "type", "") == "bidi_component"]
    assert '"goal": 10000' in counter.proto.json, "the torture campaign's goal (hassan's), not kenya's (none)"

    wall = app()
    wall.query_params["token"] = token
    wall.query_params["slot"] = "1"  # an on-air entry: the live page shows its own entry instead
    wall.query_params["appeal"] = "kenya"
    open_path(wall, "live")
    assert player(wall) is None
    shown = "\n".join(str(e.proto.body) for e in wall.get("html"))
    assert "Stop the torture of Hassan" in shown and "Reach Out for Kenya" not in shown


def test_a_revoked_rotating_token_ends_the_rotation(dashboard_env: Settings, runtime: Runtime) -> None:
    token = screens.create(runtime.engine, "Lobby", rotate=rotation.parse("live:hassan,on-air"), actor="test")
    at = app()
    at.query_params["token"] = token
    open_path(at, "live")
    assert player(at) is not None
    screens.revoke(runtime.engine, "Lobby", actor="test")
    st.cache_data.clear()  # the dashboard checks a link at most every 3 s; the test does not wait
    at.run()
    assert not at.exception
    assert player(at) is None and "revoked" in at.error[0].value

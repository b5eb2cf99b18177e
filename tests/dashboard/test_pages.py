"""One AppTest per page: no exception, and the figures shown are the ones sent in."""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.conftest import ROOT, post_twilio, twilio_form
from tests.dashboard.conftest import sign_in

APP = str(ROOT / "dashboard" / "app.py")
SENDERS = ["+31612345678", "+31612345679", "+32470123456", "+4915112345678", "+254712345678"]

pytestmark = pytest.mark.usefixtures("hassan", "kenya")


def sign(client: TestClient, runtime: Runtime) -> None:
    for i, sender in enumerate(SENDERS):
        assert post_twilio(client, twilio_form(f"SMd{i}", sender, "JA")).status_code == 200
    post_twilio(client, twilio_form("SMk", SENDERS[0], "JA KENYA"))
    runtime.live.refresh(runtime.engine, runtime.vault)  # as the ingest keeper does at start


def page(path: str | None = "pages/live.py", role: str = "staff", **query: str) -> AppTest:
    """A page as a logged-in user of ``role`` sees it (Live unless told; "/" is the start page)."""
    at = AppTest.from_file(APP, default_timeout=30)
    sign_in(at, role)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    if path:
        at.switch_page(path)
        at.run()
    assert not at.exception, at.exception
    return at


def html(at: AppTest) -> str:
    return "\n".join(element.proto.body for element in at.get("html"))


def test_live_shows_the_appeal_figures(dashboard_env: Settings, client: TestClient, runtime: Runtime) -> None:
    sign(client, runtime)
    shown = html(page(appeal="hassan"))
    assert re.search(r'class="cr-v">5<', shown), "five signatures for Hassan"
    assert "Stop the torture of Hassan" in shown
    assert "+31 6 ••• ••• 78" in shown and "612345678" not in shown
    assert "Netherlands" in shown and "Europe/Amsterdam" in shown


def test_live_for_a_campaign_and_everything(
    dashboard_env: Settings, client: TestClient, runtime: Runtime
) -> None:
    sign(client, runtime)
    assert re.search(r'class="cr-v">1<', html(page(campaign="kenya")))
    assert re.search(r'class="cr-v">6<', html(page()))


def test_live_names_an_unknown_appeal(dashboard_env: Settings, client: TestClient, runtime: Runtime) -> None:
    sign(client, runtime)
    assert "nobody" in html(page(appeal="nobody"))


def counter_data(at: AppTest) -> dict[str, object]:
    (component,) = [e for e in at.main if getattr(e, "type", "") == "bidi_component"]
    return dict(json.loads(component.proto.json))


def test_on_air_shows_one_number(dashboard_env: Settings, client: TestClient, runtime: Runtime) -> None:
    sign(client, runtime)
    data = counter_data(page("pages/on_air.py", appeal="hassan", theme="green"))
    assert data == {
        "value": 5,
        "label": "Stop the torture of Hassan",
        "goal": 10000,
        "theme": "green",
        "stale": False,
        "notice": "",
    }
    campaign = counter_data(
        page("pages/on_air.py", campaign="torture", label="Sign now: text JA to 4777", goal="0")
    )
    assert (campaign["value"], campaign["label"], campaign["goal"]) == (5, "Sign now: text JA to 4777", None)
    # campaign=all is the whole network, as on the ingest's /overlay/campaigns/all
    assert counter_data(page("pages/on_air.py", campaign="all"))["value"] == 6


def test_on_air_keeps_its_number_when_redis_is_away(
    dashboard_env: Settings, client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign(client, runtime)
    at = page("pages/on_air.py", appeal="hassan")
    assert counter_data(at)["value"] == 5
    import streamlit as st

    from campaign.settings import get_settings

    monkeypatch.setenv("CAMPAIGN_REDIS_URL", "redis://127.0.0.1:1/0")  # Redis stops answering
    get_settings.cache_clear()
    st.cache_data.clear()
    at.run()
    assert not at.exception
    data = counter_data(at)
    assert (data["value"], data["stale"]) == (5, True)
    # Only the marker changes on air: not the label, the goal, or a false "not found".
    assert (data["label"], data["goal"], data["notice"]) == ("Stop the torture of Hassan", 10000, "")

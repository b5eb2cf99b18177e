"""Dashboard pages under AppTest, reading the test's own database and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from campaign.access import users
from campaign.settings import Settings, get_settings
from campaign.storage.db import create_db_engine
from dashboard import guard
from tests.conftest import backend_env


@pytest.fixture(autouse=True)
def no_pages_folder_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run pages as ``campaign dashboard`` does (dashboard/serve.py): only through app.py.

    AppTest re-detects Streamlit's old ``pages/`` folder rule on every run, which would run
    a page asked for by its address directly, without the navigation and its login check.
    """
    original = PagesManager.__init__

    def init(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def dashboard_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the dashboard's settings (read once per process) at this test's backend."""
    for name, value in {
        **backend_env(settings),
        "CAMPAIGN_TIMEZONE": "Europe/Amsterdam",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield get_settings()
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def sign_in(at: AppTest, role: str) -> str:
    """Log this AppTest session in as a user of ``role`` (made on first use), as the login form does."""
    engine = create_db_engine(get_settings().resolved_database_url)
    name = f"test-{role}"
    user = users.find(engine, name) or users.add(engine, name, role, "correct horse battery", actor="test")
    engine.dispose()
    at.session_state[guard.USER] = name
    at.session_state[guard.STAMP] = user.session_stamp
    return name

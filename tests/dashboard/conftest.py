"""Dashboard pages under AppTest, reading the test's own database and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st

from campaign.settings import Settings, get_settings


@pytest.fixture
def dashboard_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the dashboard's settings (read once per process) at this test's backend."""
    for name, value in {
        "CAMPAIGN_DATA_DIR": str(settings.data_dir),
        "CAMPAIGN_DATABASE_URL": settings.resolved_database_url,
        "CAMPAIGN_REDIS_URL": settings.redis_url,
        "CAMPAIGN_SECRET_KEY": settings.secret_key,
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

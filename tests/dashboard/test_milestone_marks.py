"""Milestones on the Live screen's heading (the last hour's) and on History's time chart."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from campaign.appeals import milestones
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import utcnow
from tests.campaign.history.test_history import seeded, utc  # noqa: F401 - the fixture
from tests.dashboard.test_pages import html, page, sign
from tests.dashboard.test_staff_pages import chart

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.usefixtures("hassan", "kenya")
def test_live_names_the_milestones_of_the_last_hour(
    dashboard_env: Settings, client: TestClient, runtime: Runtime
) -> None:
    sign(client, runtime)
    lately = utcnow() - timedelta(minutes=3)
    assert milestones.claim(runtime.engine, "appeal:hassan", 5, at=lately)
    assert milestones.claim(runtime.engine, "appeal:hassan", 2, at=lately - timedelta(hours=2))
    assert milestones.claim(runtime.engine, "campaign:kenya", 1, at=lately)
    shown = html(page(appeal="hassan"))
    assert f"★ 5 reached {lately.astimezone(AMSTERDAM):%H:%M}</span>" in shown
    assert "2 reached" not in shown, "older than an hour"
    assert "1 reached" not in shown, "another campaign's"
    everything = html(page())
    assert "5 reached" in everything and "· hassan" in everything and "· kenya" in everything


def test_history_marks_milestones_on_the_time_chart(dashboard_env: Settings, seeded: Runtime) -> None:  # noqa: F811
    assert milestones.claim(seeded.engine, "appeal:hassan", 3, at=utc(27, 20, 40))
    over_time = chart(page("pages/history.py"), "chart-over-time")
    labels = [a["text"] for a in over_time["layout"]["annotations"] if a.get("text")]
    assert "★ 3 reached 21:40" in labels, "in Amsterdam time, beside the TV moments"
    assert any(shape["line"]["dash"] == "dot" for shape in over_time["layout"]["shapes"])
    kenya = chart(page("pages/history.py", campaign="kenya"), "chart-over-time")
    assert not [a for a in kenya["layout"]["annotations"] if "reached" in a.get("text", "")]

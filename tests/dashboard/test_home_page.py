"""The start page at "/" (issue 17, item 2): a logged-in user's navigation, today's figures
and the appeals that need a lead, instead of the bare wall screen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from campaign.appeals.registry import AppealSummary
from campaign.settings import Settings
from dashboard.start import needing_attention
from tests.dashboard.conftest import sign_in
from tests.dashboard.test_access_pages import APP, text

pytestmark = pytest.mark.usefixtures("hassan")


def links(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.get("page_link")]


def test_a_lead_lands_on_the_start_page_with_their_navigation(dashboard_env: Settings) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    sign_in(at, "lead")
    at.run()
    assert not at.exception, at.exception
    shown = text(at)
    assert 'class="sf-h sf-home"' in shown and "test-lead · lead" in shown
    assert 'class="cr-card' not in shown, "not the wall screen"
    assert "Today" in shown and [m.label for m in at.metric][:2] == ["Signatures", "SMS network members"]
    assert "Appeals needing attention" in shown
    assert {"Map", "History", "Messages", "Appeals", "Live"} <= set(links(at))
    assert "Admin" not in links(at)


def test_a_viewer_gets_only_the_screens(dashboard_env: Settings) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    sign_in(at, "viewer")
    at.run()
    assert not at.exception, at.exception
    assert set(links(at)) == {"Home", "Live", "On air", "Log out test-viewer"}
    assert not at.metric, "no figures beyond the screens a viewer may see"
    assert "Appeals needing attention" not in text(at)


def summary(
    slug: str,
    *,
    goal: int | None = None,
    signatures: int = 0,
    keywords: tuple[str, ...] = ("X",),
    status: str = "open",
) -> AppealSummary:
    return AppealSummary(
        slug,
        "torture",
        slug.title(),
        "",
        list(keywords),
        goal,
        status,
        [],
        signatures,
        datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_appeals_needing_attention_are_open_ones_at_their_goal_or_unsignable() -> None:
    appeals = [
        summary("done", goal=100, signatures=100),
        summary("closed", goal=10, signatures=50, status="closed"),
        summary("silent", keywords=()),
        summary("fine", goal=100, signatures=99),
    ]
    assert [(a.slug, reason.split(":")[0]) for a, reason in needing_attention(appeals)] == [
        ("done", "goal of 100 reached"),
        ("silent", "no keyword and not featured"),
    ]

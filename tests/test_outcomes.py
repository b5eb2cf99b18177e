"""Outcomes and what the appeals achieved, against figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from campaign import appeals, outcomes
from campaign.errors import BadRequest
from campaign.models import Appeal
from campaign.runtime import Runtime

OPENED = datetime(2020, 1, 1, tzinfo=UTC)

# slug, campaign, country, outcome kind (None: still waiting), days to outcome
SEED = [
    ("a1", "torture", "TN", "released", 10),
    ("a2", "torture", "TN", "no-change", 30),
    ("a3", "torture", "EG", "death-sentence-commuted", 20),
    ("a4", "kenya", "KE", "worsened", 5),
    ("a5", "kenya", "KE", "reappeared", 40),
    ("a6", "kenya", "KE", None, None),
]


@pytest.fixture
def seeded(runtime: Runtime) -> Runtime:
    for slug, campaign, country, kind, days in SEED:
        appeals.add_appeal(runtime.engine, slug=slug, title=slug.upper(), campaign=campaign, country=country)
        with runtime.engine.begin() as connection:
            connection.execute(update(Appeal).where(Appeal.slug == slug).values(opened_at=OPENED))
        if kind:
            outcomes.record(runtime.engine, slug, kind, occurred_at=OPENED + timedelta(days=days))
    return runtime


def test_statistics_match_hand_computed_figures(seeded: Runtime) -> None:
    table = outcomes.frame(seeded.engine)
    assert outcomes.good_share(table) == pytest.approx(3 / 5)
    by_campaign = outcomes.good_share(table, "campaign").set_index("campaign")  # type: ignore[union-attr]
    assert by_campaign.loc["torture", "share"] == pytest.approx(2 / 3)
    assert by_campaign.loc["kenya", "share"] == pytest.approx(1 / 2)
    by_country = outcomes.good_share(table, "country").set_index("country")  # type: ignore[union-attr]
    assert by_country.loc["EG", "share"] == 1.0 and by_country.loc["TN", "share"] == 0.5
    assert table.set_index("slug").loc["a3", "days_to_outcome"] == pytest.approx(20)
    assert table["days_to_outcome"].median() == pytest.approx(20)
    waiting = outcomes.waiting_longest(table, now=OPENED + timedelta(days=100))
    assert list(waiting["slug"]) == ["a6"] and waiting.iloc[0]["days_waiting"] == pytest.approx(100)


def test_recording_moves_the_appeal_on(seeded: Runtime) -> None:
    assert seeded.recorder.directory().by_slug["a1"].status == "outcome"
    assert seeded.recorder.directory().by_slug["a6"].status == "open"


@pytest.mark.parametrize(
    ("kind", "when", "message"),
    [
        ("vanished", None, "not one of"),
        ("released", datetime.now(UTC) + timedelta(days=2), "future"),
        ("released", OPENED - timedelta(days=2), "before the appeal was opened"),
    ],
)
def test_bad_outcomes_are_refused(seeded: Runtime, kind: str, when: datetime | None, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        outcomes.record(seeded.engine, "a6", kind, occurred_at=when)

"""Outcomes and what the appeals achieved, against figures computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from campaign.appeals import outcomes
from campaign.appeals import registry as appeals
from campaign.errors import BadRequest
from campaign.runtime import Runtime
from campaign.storage.models import Appeal

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


NAIROBI = ZoneInfo("Africa/Nairobi")  # UTC+3: its day starts at 21:00 UTC the day before
TODAY_OPENED = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)  # 17:05 in Nairobi, the last day of a month
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 30, 21, 0, 30, tzinfo=UTC)  # 00:00:30 on 1 December in Nairobi


@pytest.mark.parametrize(
    ("day", "now", "expected"),
    [
        # the opening day, recorded that afternoon: the opening itself, not noon before it
        (date(2026, 11, 30), datetime(2026, 11, 30, 14, 30, tzinfo=UTC), TODAY_OPENED),
        # the opening day, recorded later: noon is before the opening, so the opening
        (date(2026, 11, 30), datetime(2026, 12, 3, 9, tzinfo=UTC), TODAY_OPENED),
        # today, just after midnight in Nairobi: now, never a noon still to come
        (date(2026, 12, 1), JUST_AFTER_MIDNIGHT, JUST_AFTER_MIDNIGHT),
        # a past day after the opening: noon in the organisation's zone
        (date(2026, 12, 1), datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 1, 12, tzinfo=NAIROBI)),
    ],
)  # fmt: skip
def test_a_day_becomes_a_moment_between_the_opening_and_now(
    day: date, now: datetime, expected: datetime
) -> None:
    assert outcomes.outcome_moment(day, opened=TODAY_OPENED, zone=NAIROBI, now=now) == expected


@pytest.mark.parametrize(
    ("day", "now", "message"),
    [
        (date(2026, 11, 29), datetime(2026, 11, 30, 15, tzinfo=UTC), "before the appeal was opened"),
        # 23:30 UTC on the 30th is already the 1st in Nairobi: the 2nd is still the future
        (date(2026, 12, 2), datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "future"),
    ],
)
def test_a_day_outside_the_appeal_is_refused(day: date, now: datetime, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        outcomes.outcome_moment(day, opened=TODAY_OPENED, zone=NAIROBI, now=now)


@pytest.mark.parametrize("hour", [0, 11, 12, 23])
def test_news_on_the_opening_day_is_recorded_at_any_hour(runtime: Runtime, hour: int) -> None:
    opened = datetime(2026, 12, 31, hour, 0, 30, tzinfo=UTC)
    appeals.add_appeal(runtime.engine, slug="lina", title="Lina", campaign="torture", country="TN")
    with runtime.engine.begin() as connection:
        connection.execute(update(Appeal).where(Appeal.slug == "lina").values(opened_at=opened))
    now = opened + timedelta(minutes=20)
    recorded = outcomes.record(runtime.engine, "lina", "released", occurred_at=now.date(), zone=UTC, now=now)
    assert opened <= recorded.occurred_at <= now

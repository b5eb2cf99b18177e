"""Social events: stored once, tallied per campaign, equal in Redis and the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaign.activity import social
from campaign.activity.social import SocialInput
from campaign.errors import BadRequest, NotFound
from campaign.live.rebuild import recount_campaigns
from campaign.live.reconcile import reconcile
from campaign.runtime import Runtime
from tests.conftest import flush_redis

pytestmark = pytest.mark.usefixtures("kenya")
NOW = datetime(2008, 2, 27, 20, 0, tzinfo=UTC)


def event(external_id: str, kind: str = "join", platform: str = "facebook", **extra: object) -> SocialInput:
    return SocialInput(
        platform=platform, kind=kind, external_id=external_id, occurred_at=NOW, campaign="kenya", **extra
    )  # type: ignore[arg-type]


def test_events_are_stored_once_and_tallied(runtime: Runtime) -> None:
    first = social.record(runtime.engine, [event("j1"), event("j2"), event("j2"), event("p1", "post")])
    assert (first.stored, first.duplicates) == (3, 1)
    assert first.tallies == {"kenya": {"social:facebook:join": 2, "social:facebook:post": 1}}
    again = social.record(runtime.engine, [event("j1"), event("ph1", "photo", "flickr")])
    assert (again.stored, again.duplicates) == (1, 1)
    runtime.live.apply_campaigns(first.tallies)
    runtime.live.apply_campaigns(again.tallies)
    figures = runtime.live.campaign_figures("kenya")
    assert figures.social == {"facebook": {"join": 2, "post": 1}, "flickr": {"photo": 1}}


def test_share_of_visits_from_social_media(runtime: Runtime) -> None:
    visits = [
        event(f"v{i}", "visit", "web", attributes={"referrer": "facebook" if i < 3 else "direct"})
        for i in range(20)
    ]
    result = social.record(runtime.engine, visits)
    runtime.live.apply_campaigns(result.tallies)
    figures = runtime.live.campaign_figures("kenya")
    assert figures.visits == {"facebook": 3, "direct": 17}
    assert figures.visits_from_social == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (event("x", platform="myspace"), "platform 'myspace'"),
        (event("x", kind="poke"), "kind 'poke'"),
        (event(""), "external_id"),
        (SocialInput("facebook", "join", "x", NOW), "give the campaign or the appeal"),
        (SocialInput("facebook", "join", "x", NOW.replace(tzinfo=None), campaign="kenya"), "time zone"),
        (
            SocialInput("facebook", "join", "x", datetime.now(UTC) + timedelta(hours=1), campaign="kenya"),
            "future",
        ),
        (event("x", country="Kenya"), "two-letter"),
        (event("x", attributes={"blob": "x" * 5000}), "attributes"),
    ],
)
def test_bad_events_are_refused_with_the_reason(runtime: Runtime, item: SocialInput, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        social.record(runtime.engine, [item])


def test_unknown_campaign(runtime: Runtime) -> None:
    with pytest.raises(NotFound, match="no campaign 'nope'"):
        social.record(runtime.engine, [SocialInput("facebook", "join", "x", NOW, campaign="nope")])


def test_accounts_map_pages_to_campaigns(runtime: Runtime) -> None:
    social.link_account(runtime.engine, "kenya", "facebook", "1234567890", "Reach Out for Kenya")
    assert social.campaign_of_account(runtime.engine, "facebook", "1234567890") == "kenya"
    assert social.campaign_of_account(runtime.engine, "facebook", "999") is None


def test_reconcile_rebuilds_campaign_figures(runtime: Runtime) -> None:
    result = social.record(runtime.engine, [event(f"j{i}") for i in range(4)])
    runtime.live.apply_campaigns(result.tallies)
    flush_redis(runtime.redis)
    reconcile(runtime.engine, runtime.live, runtime.vault)
    assert runtime.live.campaign_figures("kenya").social == {"facebook": {"join": 4}}
    assert sum(recount_campaigns(runtime.engine).values()) == 4

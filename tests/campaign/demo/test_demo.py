"""The demo a new user sees: appeals, Kenya's social activity and demonstrations, outcomes."""

from __future__ import annotations

from campaign.activity import demonstrations
from campaign.appeals import outcomes
from campaign.demo import seed as demo
from campaign.live.reconcile import reconcile
from campaign.runtime import Runtime


def test_demo_seed_tells_both_stories(runtime: Runtime) -> None:
    added = demo.seed(runtime.engine, "4777")
    assert {"hassan", "kenya", "amal"} <= set(added)
    assert demo.seed(runtime.engine, "4777") == []  # only into an empty database
    assert runtime.recorder.directory().featured == {
        "4777": runtime.recorder.directory().by_slug["hassan"].id
    }
    places = demonstrations.listing(runtime.engine, "kenya")
    assert len({p["country"] for p in places}) == 11
    table = outcomes.frame(runtime.engine)
    share = outcomes.good_share(table)
    assert share is not None and 0.3 < share < 0.7
    reconcile(runtime.engine, runtime.live, runtime.vault)
    kenya = runtime.live.campaign_figures("kenya")
    assert kenya.social["facebook"]["join"] == 420
    assert kenya.visits_from_social is not None and 0.1 < kenya.visits_from_social < 0.2

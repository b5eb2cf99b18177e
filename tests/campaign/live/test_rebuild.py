"""A rebuild of the live view from the database never undoes an edit made while it ran."""

from __future__ import annotations

import time

from campaign.appeals import registry as appeals
from campaign.appeals.registry import AppealSummary
from campaign.live.keys import META_VERSION, appeal_key
from campaign.runtime import Runtime


def test_a_rebuild_never_brings_back_what_an_edit_changed_while_it_ran(
    runtime: Runtime, hassan: AppealSummary
) -> None:
    engine, live = runtime.engine, runtime.live
    # A rebuild takes its version, then reads its snapshot of the database ...
    as_of = int(live.redis.incr(META_VERSION))
    snapshot = appeals.get_appeal(engine, "hassan").public()
    # ... meanwhile a lead makes the appeal private (the edit commits, then publishes) ...
    appeals.edit_appeal(engine, "hassan", title="Hassan (name withheld)", private=True)
    assert live.publish_appeal(appeals.get_appeal(engine, "hassan").public())
    # ... and the rebuild then writes its older snapshot: kept out.
    assert not live.publish_appeal(snapshot, as_of=as_of)
    figures = live.figures("hassan")
    assert figures is not None and figures.private and figures.title == "Hassan (name withheld)"
    # A rebuild that reads the database after the edit writes what it holds.
    live.refresh(engine, runtime.vault)
    figures = live.figures("hassan")
    assert figures is not None and figures.private and figures.title == "Hassan (name withheld)"
    # Two rebuilds: the one that began first, with the older snapshot, cannot win.
    first = int(live.redis.incr(META_VERSION))
    before_reopening = appeals.get_appeal(engine, "hassan").public()
    appeals.edit_appeal(engine, "hassan", private=False)
    live.refresh(engine, runtime.vault, force=True)
    assert not live.publish_appeal(before_reopening, as_of=first)
    figures = live.figures("hassan")
    assert figures is not None and not figures.private


def test_a_rebuild_never_drops_a_second_counted_after_its_snapshot(
    runtime: Runtime, hassan: AppealSummary
) -> None:
    """The rate of the last minute: a signature whose write landed while a rebuild read the
    database has added its second to Redis, and a routine rebuild must not take it away."""
    live = runtime.live
    key = appeal_key("hassan", "seconds")
    now = int(time.time())
    live.redis.hset(key, mapping={str(now): 2})  # as the newer commit's own write left it
    live.refresh(runtime.engine, runtime.vault)  # its snapshot holds none of them
    assert live.redis.hgetall(key) == {str(now): "2"}
    figures = live.figures("hassan")
    assert figures is not None and figures.last_minute == 2
    # A forced rebuild (campaign reconcile --fix) makes Redis equal to the database.
    live.refresh(runtime.engine, runtime.vault, force=True)
    assert live.redis.hgetall(key) == {}

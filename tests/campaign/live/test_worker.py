"""Background workers: a Redis Streams consumer group, stalled entries claimed, low figures raised."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy import insert

from campaign.inbound.recorder import BatchResult
from campaign.live.keys import WORK_GROUP, WORK_STREAM, appeal_key
from campaign.live.worker import Worker
from campaign.runtime import Runtime
from campaign.storage import shards
from campaign.storage.models import NETWORK, Tally
from tests.campaign.inbound.test_recorder import sms
from tests.conftest import flush_redis

pytestmark = pytest.mark.usefixtures("hassan")


def commit(runtime: Runtime, count: int, start: int = 0, *, write_redis: bool = True) -> BatchResult:
    """What the ingest's group commit does: announce, commit, then copy the figures to Redis."""
    runtime.live.queue_work()
    result = runtime.recorder.record(
        [sms(runtime, f"+3166{i:07d}", "JA", f"SMq{i}") for i in range(start, start + count)]
    )
    if write_redis:
        runtime.live.apply(result.changes)
    return result


def test_each_commit_queues_work_that_one_worker_takes(runtime: Runtime) -> None:
    runtime.live.ensure_work_group()
    commit(runtime, 3)
    commit(runtime, 2, start=3)
    assert runtime.live.work_backlog() == {"pending": 0, "unread": 2}
    first, second = Worker(runtime, "first", settle=0), Worker(runtime, "second", settle=0)
    assert first.run_once(block_ms=10) == 2
    assert second.run_once(block_ms=10) == 0  # each entry goes to one worker of the group
    assert runtime.live.work_backlog() == {"pending": 0, "unread": 0}
    assert first.fixed == 0  # Redis had every figure already


def test_a_stalled_workers_entries_are_claimed_by_another(runtime: Runtime) -> None:
    runtime.live.ensure_work_group()
    commit(runtime, 4)
    taken = runtime.live.read_work("dead", 10, 10)  # read, then the worker dies before acknowledging
    assert len(taken) == 1
    assert runtime.live.work_backlog()["pending"] == 1
    # A second of grace: "not yet stalled" must hold even on a loaded machine.
    survivor = Worker(runtime, "survivor", claim_after=1.0, settle=0)
    assert survivor.run_once(block_ms=10) == 0  # not yet stalled long enough; nothing new either
    time.sleep(1.1)
    assert survivor.run_once(block_ms=10) == 1
    assert survivor.claimed == 1
    assert runtime.live.work_backlog() == {"pending": 0, "unread": 0}
    assert runtime.redis.xpending(WORK_STREAM, WORK_GROUP)["pending"] == 0


def test_an_ingest_killed_between_commit_and_redis_write_is_repaired(runtime: Runtime) -> None:
    runtime.live.ensure_work_group()
    commit(runtime, 5)
    commit(runtime, 3, start=5, write_redis=False)  # the process died right after its commit
    assert runtime.live.total("hassan") == 5
    worker = Worker(runtime, "w", settle=0)
    while worker.run_once(block_ms=10):
        pass
    assert worker.fixed >= 1
    assert runtime.live.total("hassan") == 8
    figures = runtime.live.figures("hassan")
    assert figures is not None and figures.channels == {"sms": 8}


def test_a_figure_whose_writer_is_still_on_its_way_is_not_reported(runtime: Runtime) -> None:
    commit(runtime, 2)
    late = commit(runtime, 2, start=2, write_redis=False)
    threading.Timer(0.1, runtime.live.apply, args=(late.changes,)).start()  # lands within the grace
    assert runtime.live.refresh_appeals(runtime.engine, ["hassan"], grace=0.5) == []
    assert runtime.live.total("hassan") == 4


def test_the_group_comes_back_after_redis_lost_everything(runtime: Runtime) -> None:
    worker = Worker(runtime, "w", settle=0)
    commit(runtime, 1)
    assert worker.run_once(block_ms=10) == 1
    runtime.redis.delete(WORK_STREAM)  # as after a restart without persistence
    assert worker.run_once(block_ms=10) == 0  # NOGROUP noticed, group made again next time
    commit(runtime, 1, start=1)
    assert worker.run_once(block_ms=10) == 1
    assert runtime.redis.hget(appeal_key("hassan", "tally"), "total") == "2"


def test_a_rebuild_cut_by_a_flush_is_not_marked_ready(runtime: Runtime) -> None:
    token = runtime.live.begin_rebuild()
    flush_redis(runtime.redis)  # Redis loses everything halfway through the rebuild
    with pytest.raises(redis.WatchError):
        runtime.live.mark_ready(token, "2026-12-01T00:00:00+00:00")
    assert not runtime.live.is_ready()  # so the keeper rebuilds again on its next tick
    runtime.live.mark_ready(runtime.live.begin_rebuild(), "2026-12-01T00:00:00+00:00")
    assert runtime.live.is_ready()


MEMBERS = (NETWORK, "members", "")


def members_on(runtime: Runtime, *on_shards: int) -> None:
    rows = [{"appeal_id": NETWORK, "kind": "members", "key": "", "shard": s, "count": 1} for s in on_shards]
    with runtime.engine.begin() as connection:
        connection.execute(insert(Tally), rows)


def test_a_worker_folds_counter_shards_on_its_cadence(runtime: Runtime) -> None:
    members_on(runtime, 0, 2, 5)
    worker = Worker(runtime, "w", settle=0, fold_every=3600)
    assert worker.fold_when_due() == 2  # due at start
    members_on(runtime, 3)
    assert worker.fold_when_due() == 0  # not again before the hour is up
    assert worker.folded == 2
    with runtime.engine.connect() as connection:
        assert shards.figures(connection, Tally.__table__, [MEMBERS]) == {MEMBERS: 4}

"""Background workers: a Redis Streams consumer group, stalled entries claimed, low figures raised."""

from __future__ import annotations

import time

import pytest

from campaign.live import WORK_GROUP, WORK_STREAM, appeal_key
from campaign.runtime import Runtime
from campaign.worker import Worker
from tests.test_store import sms

pytestmark = pytest.mark.usefixtures("hassan")


def sign(runtime: Runtime, count: int, start: int = 0) -> None:
    """Record signatures and copy them to Redis, as the ingest does after its commit."""
    result = runtime.recorder.record(
        [sms(runtime, f"+3166{i:07d}", "JA", f"SMq{i}") for i in range(start, start + count)]
    )
    runtime.live.apply(result.changes)


def test_each_commit_queues_work_that_one_worker_takes(runtime: Runtime) -> None:
    runtime.live.ensure_work_group()
    sign(runtime, 3)
    sign(runtime, 2, start=3)
    assert runtime.live.work_backlog() == {"pending": 0, "unread": 2}
    first, second = Worker(runtime, "first"), Worker(runtime, "second")
    assert first.run_once(block_ms=10) == 2
    assert second.run_once(block_ms=10) == 0  # each entry goes to one worker of the group
    assert runtime.live.work_backlog() == {"pending": 0, "unread": 0}


def test_a_stalled_workers_entries_are_claimed_by_another(runtime: Runtime) -> None:
    runtime.live.ensure_work_group()
    sign(runtime, 4)
    taken = runtime.live.read_work("dead", 10, 10)  # read, then the worker dies before acknowledging
    assert len(taken) == 1
    assert runtime.live.work_backlog()["pending"] == 1
    survivor = Worker(runtime, "survivor", claim_after=0.2)
    assert survivor.run_once(block_ms=10) == 0  # not yet stalled long enough; nothing new either
    time.sleep(0.3)
    assert survivor.run_once(block_ms=10) == 1
    assert survivor.claimed == 1
    assert runtime.live.work_backlog() == {"pending": 0, "unread": 0}
    assert runtime.redis.xpending(WORK_STREAM, WORK_GROUP)["pending"] == 0


def test_the_worker_raises_figures_left_low_by_a_cut_off_write(runtime: Runtime) -> None:
    runtime.live.ensure_work_group()
    sign(runtime, 5)
    # An ingest killed between its commit and its Redis write: the database moved, Redis did not.
    lost = runtime.recorder.record([sms(runtime, f"+3167{i:07d}", "JA", f"SMz{i}") for i in range(3)])
    assert lost.changes.tallies["hassan"]["total"] == 8
    runtime.redis.hset(appeal_key("hassan", "tally"), "total", 5)
    sign(runtime, 0)  # nothing new
    runtime.live.redis.xadd(WORK_STREAM, {"appeals": "hassan"})
    worker = Worker(runtime, "w")
    while worker.run_once(block_ms=10):
        pass
    assert worker.fixed >= 1
    assert runtime.live.total("hassan") == 8


def test_the_group_comes_back_after_redis_lost_everything(runtime: Runtime) -> None:
    worker = Worker(runtime, "w")
    sign(runtime, 1)
    assert worker.run_once(block_ms=10) == 1
    runtime.redis.delete(WORK_STREAM)  # as after a restart without persistence
    assert worker.run_once(block_ms=10) == 0  # NOGROUP noticed, group made again next time
    sign(runtime, 1, start=1)
    assert worker.run_once(block_ms=10) == 1

"""Group commit: requests arriving together share one database transaction.

Each webhook hands its parsed texts to ``submit`` and waits; one writer takes whatever
has queued up while the previous transaction ran, commits it as one batch, and answers
every waiting request.  Under load, batches grow and the cost of a durable commit is
shared; at rest, a lone request is committed at once.

Before the commit, one entry on the workers' stream announces it (see campaign.live.worker);
after the commit the tally values go to Redis before the requests are answered, so a
client that reads the API after its 2xx sees its own signature.  Once Redis fails, the
writer stops waiting for it: the keeper rebuilds the live view from the database when
Redis answers again.  If the database cannot be reached, the batch goes to the durable
spool instead; only if that fails too is the answer a 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis
from sqlalchemy.exc import DBAPIError, OperationalError

from campaign.errors import Unavailable
from campaign.inbound.message import InboundSms, TextResult
from campaign.inbound.recorder import BatchResult
from campaign.inbound.spool import Spool
from campaign.live.changes import LiveChanges
from campaign.runtime import Runtime
from campaign.storage import db
from ingest.metrics import Metrics

log = logging.getLogger("campaign.ingest")

MAX_BATCH = 500


@dataclass
class _Entry:
    messages: list[InboundSms]
    future: asyncio.Future[list[TextResult]] = field(repr=False)


class GroupCommitter:
    def __init__(
        self, runtime: Runtime, spool: Spool, max_batch: int = MAX_BATCH, metrics: Metrics | None = None
    ):
        self.runtime = runtime
        self.spool = spool
        self.max_batch = max_batch
        self.metrics = metrics or Metrics()
        self.metrics.probes.add(
            "campaign_commit_queue_requests",
            "Webhook requests waiting for the group committer.",
            lambda: self._queue.qsize(),
        )
        self.metrics.probes.add(
            "campaign_spool_files", "Batches in the durable spool, waiting for the database.", self._backlog
        )
        self.metrics.probes.add(
            "campaign_spool_set_aside_files",
            "Spool files set aside for a person: unreadable, or refused by the database.",
            lambda: len(self.spool.set_aside()),
        )
        self.live_stale = True  # build the live view from the database at start
        self.redis_down = False  # while true, commits do not wait for Redis
        self._queue: asyncio.Queue[_Entry] = asyncio.Queue()
        self._db = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self._redis = ThreadPoolExecutor(1, thread_name_prefix="live-writer")
        self._tasks: list[asyncio.Task[None]] = []

    async def submit(self, messages: list[InboundSms]) -> list[TextResult]:
        future: asyncio.Future[list[TextResult]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Entry(messages, future))
        return await future

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="group-commit"),
            asyncio.create_task(self._keeper_loop(), name="live-keeper"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._db.shutdown(wait=True)
        self._redis.shutdown(wait=True)

    # -- the writer ---------------------------------------------------------------------------
    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].messages)
            while size < self.max_batch and not self._queue.empty():
                entry = self._queue.get_nowait()
                batch.append(entry)
                size += len(entry.messages)
            messages = [m for entry in batch for m in entry.messages]
            try:
                outcomes = await loop.run_in_executor(self._db, self._commit, messages)
            except Exception as error:  # answer every waiting request, whatever went wrong
                for entry in batch:
                    if not entry.future.done():
                        entry.future.set_exception(error)
                continue
            start = 0
            for entry in batch:
                end = start + len(entry.messages)
                if not entry.future.done():
                    entry.future.set_result(outcomes[start:end])
                start = end

    def _backlog(self) -> int:
        return len(self.spool.pending())

    def _commit(self, messages: list[InboundSms]) -> list[TextResult]:
        if not self.redis_down:
            self._announce()
        try:
            start = time.perf_counter()
            result: BatchResult = self.runtime.recorder.record(messages)
            self.metrics.timed("database", "commit", time.perf_counter() - start)
            self.metrics.batch.observe(len(messages))
            if not self.redis_down:
                self._apply_live(result.changes)
            return result.outcomes
        except (OperationalError, DBAPIError) as error:
            if db.refused(error):
                raise
            log.warning("database unavailable (%s); spooling %d texts", _brief(error), len(messages))
        try:
            self.spool.append(messages)
        except OSError as error:
            log.error("spool failed too (%s); answering 503", error)
            raise Unavailable("storage is unavailable; please retry") from None
        return self.runtime.recorder.offline_outcomes(messages)

    # -- Redis --------------------------------------------------------------------------------
    def _announce(self) -> None:
        """Tell the workers a commit is coming, so they check Redis after it even if we die."""
        try:
            self.runtime.live.queue_work()
        except (redis.RedisError, OSError) as error:
            log.warning("Redis unavailable (%s); live figures will catch up", error)
            self.live_stale = self.redis_down = True

    def _apply_live(self, changes: LiveChanges) -> None:
        try:
            start = time.perf_counter()
            self.runtime.live.apply(changes)
            self.metrics.timed("redis", "apply", time.perf_counter() - start)
        except (redis.RedisError, OSError) as error:
            if not self.redis_down:
                log.warning("Redis unavailable (%s); live figures will catch up", error)
            self.live_stale = self.redis_down = True

    def _refresh_live(self) -> None:
        runtime = self.runtime
        try:
            start = time.perf_counter()
            ready = runtime.live.is_ready()
            self.metrics.timed("redis", "ping", time.perf_counter() - start)
            if self.live_stale or not ready:
                runtime.live.refresh(runtime.engine, runtime.vault)
                if self.live_stale:
                    log.info("live figures rebuilt from the database")
                self.live_stale = self.redis_down = False
        except redis.WatchError:
            # another process rebuilt at the same time: Redis is up, so commits keep writing
            # their figures to it, and the next tick rebuilds again
            self.live_stale, self.redis_down = True, False
        except (redis.RedisError, OSError):
            self.live_stale = self.redis_down = True
        except (OperationalError, DBAPIError):
            pass  # the database is away; try again on the next tick

    def _drain_spool(self) -> tuple[int, LiveChanges, bool]:
        """Write up to one batch of spooled texts: how many, their figures, whether the database went away."""
        merged = LiveChanges()
        written = 0

        def record(messages: list[InboundSms]) -> None:
            nonlocal written
            result = self.runtime.recorder.record(messages)
            written += len(messages)
            for scope, values in result.changes.tallies.items():
                merged.tallies[scope].update(values)
            merged.signed.extend(result.changes.signed)

        if not self.redis_down:
            self._announce()  # as for a webhook's commit: the workers check Redis even if we die
        try:
            self.spool.drain(record, batch=self.max_batch, limit=self.max_batch, refused=db.refused)
        except (OperationalError, DBAPIError):
            return written, merged, True  # what committed before it went away still goes to Redis
        return written, merged, False

    async def _drain(self) -> None:
        """Empty the spool one batch per turn of the writer, so live webhooks wait for one batch at most."""
        loop = asyncio.get_running_loop()
        total = 0
        while self.spool.pending():
            written, changes, away = await loop.run_in_executor(self._db, self._drain_spool)
            if written:
                total += written
                await loop.run_in_executor(self._redis, self._apply_live, changes)
            if away or not written:
                break  # the database is away, another process is draining, or all was set aside
        if total:
            log.info("wrote %d spooled texts to the database", total)

    async def _keeper_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._drain()
                await loop.run_in_executor(self._redis, self._refresh_live)
            except Exception:  # the keeper must outlive any one failure
                log.exception("live keeper tick failed")
            await asyncio.sleep(1.0)


def _brief(error: BaseException) -> str:
    return str(getattr(error, "orig", error)).strip().splitlines()[0][:200]

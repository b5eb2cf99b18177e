"""Background workers: work that follows a commit but need not hold up the provider's answer.

Before each batch's commit the ingest appends one entry to a Redis stream.  ``campaign
worker`` processes share that stream through one consumer group: each entry goes to one
worker, stays pending until that worker acknowledges it, and is claimed by another worker
(XAUTOCLAIM) once it has been pending longer than ``CAMPAIGN_WORK_CLAIM_AFTER`` seconds, so
a worker killed mid-batch loses nothing.  Work is idempotent, since an entry may run twice.

The work today: a moment after the commit (``SETTLE``), make sure Redis shows what the
database committed, raising figures still low.  That covers an ingest process killed
between its commit and its Redis write, which no later write of that process repairs.  The
2xx never waits for a worker: the database commit comes first, always.  Every ``FOLD_EVERY``
seconds a worker also folds counter shards back into shard 0 (``campaign.storage.folding``),
a bounded amount per run, so tallies and History hours do not stay spread over many rows,
and deletes the minute tallies past their window (``campaign.live.minute_tallies``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import redis
from sqlalchemy.exc import DBAPIError, OperationalError

from campaign.live import minute_tallies
from campaign.runtime import Runtime
from campaign.storage import folding

log = logging.getLogger("campaign.worker")

BATCH = 200  # entries taken at once
BLOCK_MS = 1000  # how long a read waits for new entries
SETTLE = 1.0  # seconds after an entry before its commit is taken as done (or not happening)
FOLD_EVERY = 300.0  # seconds between folds of the counter shards
FOLD_BUDGET = 20_000  # rows folded at most per run: a bounded pause in the worker's loop


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        name: str,
        claim_after: float = 5.0,
        batch: int = BATCH,
        settle: float = SETTLE,
        fold_every: float = FOLD_EVERY,
    ):
        self.runtime = runtime
        self.settle = settle
        self.name = name
        self.claim_after_ms = int(claim_after * 1000)
        self.batch = batch
        self.done = 0  # entries acknowledged by this worker
        self.claimed = 0  # entries taken over from stalled workers
        self.fixed = 0  # figures found low in Redis and raised
        self.folded = 0  # shard rows folded into shard 0
        self.pruned = 0  # minute tallies deleted past their window
        self.fold_every = fold_every
        self._next_fold = time.monotonic()  # the first fold right after start
        self._group_ready = False

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; outages of Redis or the database only pause it."""
        log.info("worker %s started", self.name)
        while not stop.is_set():
            try:
                self.fold_when_due()
                self.run_once()
            except (redis.RedisError, OSError) as error:
                self._group_ready = False  # Redis may come back empty: make the group again
                log.warning("Redis unavailable (%s); retrying", error)
                stop.wait(1.0)
            except (OperationalError, DBAPIError) as error:
                log.warning("database unavailable (%s); retrying", type(error).__name__)
                stop.wait(1.0)
        log.info("worker %s stopped: %d entries done, %d claimed", self.name, self.done, self.claimed)

    def fold_when_due(self) -> int:
        """Fold counter shards if ``fold_every`` has passed since the last fold; rows folded.

        Minute tallies past their window are deleted first (nothing reads them; no use folding them).
        """
        if time.monotonic() < self._next_fold:
            return 0
        self._next_fold = time.monotonic() + self.fold_every  # an outage waits a full period too
        pruned = minute_tallies.prune(self.runtime.engine)
        if pruned:
            self.pruned += pruned
            log.info("deleted %d minute tally row(s) past the live window", pruned)
        folded = sum(folding.fold(self.runtime.engine, budget=FOLD_BUDGET).values())
        if folded:
            self.folded += folded
            log.info("folded %d counter shard row(s) into shard 0", folded)
        return folded

    def run_once(self, block_ms: int = BLOCK_MS) -> int:
        """Take stalled entries first, else wait for new ones; process and acknowledge them."""
        live = self.runtime.live
        if not self._group_ready:
            live.ensure_work_group()
            self._group_ready = True
        try:
            entries = live.claim_stalled_work(self.name, self.claim_after_ms, self.batch)
            self.claimed += len(entries)
            if not entries:
                entries = live.read_work(self.name, self.batch, block_ms)
        except redis.ResponseError as error:
            if not str(error).startswith(("NOGROUP", "UNBLOCKED")):
                raise
            self._group_ready = False  # the stream is gone (Redis restarted empty): make it again
            return 0
        if not entries:
            return 0
        newest = max(int(entry_id.split("-")[0]) for entry_id, _ in entries) / 1000
        time.sleep(max(0.0, newest + self.settle - time.time()))  # the entry is written before its commit
        named = [fields.get("appeals", "*") for _, fields in entries]
        appeals = None if "*" in named else {s for value in named for s in value.split(",") if s}
        low = live.refresh_appeals(self.runtime.engine, appeals)
        if low:
            self.fixed += len(low)
            log.info("raised %d low figure(s) to the database's: %s", len(low), "; ".join(low[:5]))
        live.ack_work([entry_id for entry_id, _ in entries])
        self.done += len(entries)
        return len(entries)


def serve(runtime: Runtime, name: str, claim_after: float) -> None:
    """Run one worker in this process until SIGTERM or Ctrl-C."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Worker(runtime, name, claim_after)
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()

"""The sender: texts due in the outbox go out through the provider, at a set rate.

One round: claim up to ``concurrency`` due texts in one transaction (status ``sending``,
the sender's id, the time), send them concurrently, each start paced by the rate limit,
then write every result in one transaction.  The claim takes the due texts of the ``reply``
lane first (answers to a supporter's own text: thank-yous, HELP, confirmations), oldest
first, and fills the round with ``bulk`` texts (alerts, outcome messages) only when no reply
is due: bulk gets the rate the replies leave, and a reply waits at most about one round
however large the alert in front of it.  On PostgreSQL the claim skips rows another
sender holds (``FOR UPDATE SKIP LOCKED``), so several senders share the outbox; SQLite has
one writer at a time and is meant for one sender.

**At most once.**  A text the sender has claimed but whose result it has not written may
or may not have reached the provider (killed mid-request, or after the provider's answer).
Sending it again could text the person twice, so a claim left behind by a stopped sender is
never resent by itself: once its ``CAMPAIGN_SEND_LEASE`` has run out, a running sender marks
it ``unknown``, and the Messages page lists it for a lead to resend or leave.  At most one
round's texts (``concurrency``) are at stake per crash; everything not claimed is sent on
restart.

The opt-out is checked in the claim, a moment before sending: a STOP that came after the
text was queued cancels it.  A thank-you is written in the claim too, with the appeal's
count at that moment.  Temporary errors (429, 5xx, timeouts) are retried with exponential
backoff up to ``CAMPAIGN_SEND_MAX_ATTEMPTS``; a 429 also slows the whole sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, case, func, select, update

from campaign.inbound import replies
from campaign.inbound.directory import Directory, current_version, load
from campaign.logs import mask_phones
from campaign.messaging.outbox import DESPITE_OPT_OUT, IN_DOUBT, LANES, mark_opted_out
from campaign.messaging.providers.base import SendResult, SmsProvider
from campaign.messaging.segments import segments
from campaign.storage import shards
from campaign.storage.models import OutboxMessage, Supporter, Tally, utcnow
from campaign.supporters.phones import PhoneVault

log = logging.getLogger("campaign.sender")

MAX_BACKOFF = 600.0
IDLE_HORIZON = 5.0  # --until-idle waits for retries due this soon, not for later texts


class RateLimiter:
    """Spaces the starts of sends ``1/rate`` seconds apart; a 429 halves the pace for a while.

    ``rate`` 0 means no limit (until a provider throttles).  After a throttle the pace comes
    back by 10 % per second without one.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.factor = 1.0
        self.clock = clock
        self._next = 0.0
        self._paused_until = 0.0
        self._last_throttle = 0.0
        self._lock = asyncio.Lock()

    @property
    def pace(self) -> float:
        """Current texts per second (0: unlimited)."""
        self._recover()
        return self.rate * self.factor

    async def acquire(self) -> None:
        async with self._lock:
            now = self.clock()
            start = max(now, self._next, self._paused_until)
            pace = self.pace
            if pace > 0:
                self._next = start + 1.0 / pace
            elif self.factor < 1.0:  # unlimited, but throttled recently: 50/s until it recovers
                self._next = start + 1.0 / (50 * self.factor)
            if start > now:
                await asyncio.sleep(start - now)

    def throttled(self, wait: float | None) -> None:
        now = self.clock()
        self._paused_until = max(self._paused_until, now + (wait if wait is not None else 1.0))
        self.factor = max(self.factor / 2, 1 / 64)
        self._last_throttle = now

    def _recover(self) -> None:
        if self.factor < 1.0:
            calm = self.clock() - self._last_throttle
            if calm > 1.0:
                self.factor = min(1.0, self.factor * (1.1 ** int(calm)))
                self._last_throttle = self.clock() - (calm - int(calm))


@dataclass
class Claimed:
    id: int
    kind: str
    lane: str
    supporter_id: int
    appeal_id: int | None
    body: str
    phone_encrypted: str | None


@dataclass
class SendTotals:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    in_doubt: int = 0
    by_error: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.sent:,} sent, {self.retried:,} to retry, {self.failed:,} failed, "
            f"{self.cancelled:,} cancelled (opted out), {self.in_doubt:,} in doubt"
        )


def masked_error(error: str) -> str:
    """A provider's error as kept and shown: ``provider status code: message``, numbers masked.

    Providers quote the number in their messages ("The 'To' number +31612345678 is not a
    valid phone number"); only its masked form is kept.  The leading status and code stay.
    """
    head, colon, message = error.partition(": ")
    return head + colon + mask_phones(message) if colon else mask_phones(error)


def backoff(attempts: int, base: float, asked: float | None = None) -> float:
    """Seconds before the next try: base, 2x, 4x, ... capped, with jitter; at least what was asked."""
    delay = min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF) * random.uniform(0.8, 1.2)
    return max(delay, asked or 0.0)


class OutboxSender:
    def __init__(
        self,
        engine: Engine,
        vault: PhoneVault,
        provider: SmsProvider,
        *,
        yes_words: tuple[str, ...] = (),
        rate: float = 30.0,
        concurrency: int = 8,
        max_attempts: int = 8,
        lease: float = 120.0,
        backoff_base: float = 2.0,
        worker_id: str | None = None,
    ):
        self.engine = engine
        self.vault = vault
        self.provider = provider
        self.yes_words = yes_words
        self.limiter = RateLimiter(rate)
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.lease = lease
        self.backoff_base = backoff_base
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(24):06x}"
        self.totals = SendTotals()
        self._directory: Directory | None = None
        self.sqlite = engine.dialect.name == "sqlite"

    # -- the loop ---------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None, *, until_idle: bool = False) -> SendTotals:
        """Send until ``stop`` is set (with ``until_idle``: until nothing is due in the next 5 s)."""
        stop = stop or asyncio.Event()
        self.totals.in_doubt += await asyncio.to_thread(self.settle_abandoned)
        last_settle = time.monotonic()
        while not stop.is_set():
            handled = await self.round()
            if time.monotonic() - last_settle > self.lease / 2:
                self.totals.in_doubt += await asyncio.to_thread(self.settle_abandoned)
                last_settle = time.monotonic()
            if handled:
                continue
            wait = await asyncio.to_thread(self.seconds_to_next)
            if until_idle and (wait is None or wait > IDLE_HORIZON):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(wait if wait is not None else 1.0, 1.0))
        return self.totals

    async def round(self) -> int:
        """Claim, send and record one round; returns how many texts were claimed."""
        claimed = await asyncio.to_thread(self.claim, self.concurrency)
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._send(item) for item in claimed))
        await asyncio.to_thread(self.record, list(zip(claimed, results, strict=True)))
        return len(claimed)

    async def _send(self, item: Claimed) -> SendResult | None:
        if item.phone_encrypted is None:
            return SendResult.permanent("the supporter's number was erased")
        try:
            number = self.vault.decrypt(item.phone_encrypted)
        except ValueError as error:
            return SendResult.permanent(str(error))
        await self.limiter.acquire()
        try:
            result = await self.provider.send(number, item.body, str(item.id))
        except Exception as error:  # a provider's bug must not stop the sender
            log.exception("provider %s failed on text %s", self.provider.name, item.id)
            result = SendResult.temporary(f"{type(error).__name__} in the provider")
        if result.throttled:
            self.limiter.throttled(result.retry_after)
        return result

    # -- the database -------------------------------------------------------------------------------
    def claim(self, limit: int) -> list[Claimed]:
        """Claim up to ``limit`` due texts: the reply lane's first, then bulk texts to fill the round."""
        now = utcnow()
        table = OutboxMessage.__table__.c
        claim = update(OutboxMessage).values(
            status="sending",
            claimed_by=self.worker_id,
            claimed_at=now,
            attempts=table.attempts + 1,
            provider=self.provider.name,
            updated_at=now,
            # A thank-you being sent no longer absorbs new JAs: they get their own.
            dedupe_key=case((table.kind == "thank_you", None), else_=table.dedupe_key),
        )
        with self.engine.begin() as connection:
            ids: list[int] = []
            for lane in LANES:
                room = limit - len(ids)
                if room <= 0:
                    break
                # One index range of ix_outbox_lane_due per lane, however many wait in the other.
                picked = OutboxMessage.__table__.alias("due")  # an alias: not correlated
                due = (
                    select(picked.c.id)
                    .where(picked.c.status == "queued", picked.c.lane == lane, picked.c.scheduled_at <= now)
                    .order_by(picked.c.scheduled_at, picked.c.id)
                    .limit(room)
                )
                if self.sqlite:
                    # One statement, so the transaction starts as a write: a read first could not
                    # become a write once another process (ingest) has committed in between.
                    ids += connection.scalars(
                        claim.where(table.id.in_(due.scalar_subquery()), table.status == "queued").returning(
                            table.id
                        )
                    )
                else:
                    # PostgreSQL: lock the due rows other senders have not locked, then claim them.
                    # (Inside "UPDATE ... WHERE id IN (subquery)" the LIMIT may be re-run per row.)
                    locked = list(connection.scalars(due.with_for_update(skip_locked=True)))
                    if locked:
                        connection.execute(claim.where(table.id.in_(locked)))
                    ids += locked
            if not ids:
                return []
            found = connection.execute(
                select(
                    table.id,
                    table.kind,
                    table.lane,
                    table.scheduled_at,
                    table.supporter_id,
                    table.appeal_id,
                    table.template,
                    table.language,
                    table.body,
                    Supporter.phone_encrypted,
                    Supporter.opted_out,
                )
                .join(Supporter, Supporter.id == table.supporter_id)
                .where(table.id.in_(ids))
            ).all()
            # Sent in this order (the rate limiter is first come, first served): replies first.
            rows = sorted(found, key=lambda r: (LANES.index(r.lane), r.scheduled_at, r.id))
            stopped = [r.id for r in rows if r.opted_out and r.kind not in DESPITE_OPT_OUT]
            if stopped:
                connection.execute(
                    update(OutboxMessage)
                    .where(table.id.in_(stopped))
                    .values(status="cancelled", error="opted out before sending", updated_at=now)
                )
                self.totals.cancelled += len(stopped)
            live = [r for r in rows if r.id not in set(stopped)]
            thanks = [r for r in live if r.kind == "thank_you" and r.appeal_id is not None]
            bodies: dict[int, str] = {}
            if thanks:
                directory = self._load_directory(connection)
                wanted = {(r.appeal_id, "total", "") for r in thanks}
                totals = {
                    a: n for (a, _, _), n in shards.figures(connection, Tally.__table__, wanted).items()
                }
                for r in thanks:
                    appeal = directory.by_id.get(r.appeal_id)
                    if appeal is None:
                        continue
                    count = int(totals.get(r.appeal_id, 0))
                    if r.template == "already_signed":
                        bodies[r.id] = replies.already_signed(appeal.words, count, r.language)
                    else:
                        bodies[r.id] = replies.thank_you(appeal.words, count, r.language)
                for message_id, body in bodies.items():
                    connection.execute(
                        update(OutboxMessage)
                        .where(table.id == message_id)
                        .values(body=body, segments=segments(body))
                    )
        return [
            Claimed(
                r.id, r.kind, r.lane, r.supporter_id, r.appeal_id, bodies.get(r.id, r.body), r.phone_encrypted
            )
            for r in live
        ]

    def _load_directory(self, connection: Any) -> Directory:
        if self._directory is None or self._directory.version != current_version(connection):
            self._directory = load(connection, self.yes_words)
        return self._directory

    def record(self, results: list[tuple[Claimed, SendResult | None]]) -> None:
        now = utcnow()
        table = OutboxMessage.__table__.c
        # Still ours: sending, or marked unknown after a lease this sender overran (its result
        # settles the doubt).  A text a lead has resent meanwhile is no longer claimed by us.
        mine = (table.status.in_(("sending", "unknown")), table.claimed_by == self.worker_id)
        with self.engine.begin() as connection:
            attempts = dict(
                connection.execute(
                    select(table.id, table.attempts).where(table.id.in_([c.id for c, _ in results]))
                ).all()
            )
            for item, result in results:
                if result is None:
                    continue
                where = update(OutboxMessage).where(table.id == item.id, *mine)
                if result.outcome == "sent":
                    connection.execute(
                        where.values(
                            status="sent",
                            provider_message_id=result.provider_message_id,
                            sent_at=now,
                            updated_at=now,
                            error=None,
                            claimed_by=None,
                        )
                    )
                    if item.kind == "alert" and item.appeal_id is not None:
                        # Now that it reached them, their bare JA signs this appeal.
                        connection.execute(
                            update(Supporter)
                            .where(Supporter.id == item.supporter_id)
                            .values(latest_alert_appeal_id=item.appeal_id)
                        )
                    self.totals.sent += 1
                    continue
                error = masked_error(result.error or result.outcome)
                tries = int(attempts.get(item.id, 1))
                if result.outcome == "temporary" and tries < self.max_attempts:
                    later = now + timedelta(seconds=backoff(tries, self.backoff_base, result.retry_after))
                    connection.execute(
                        where.values(
                            status="queued", scheduled_at=later, error=error, claimed_by=None, updated_at=now
                        )
                    )
                    self.totals.retried += 1
                    continue
                if result.outcome == "temporary":
                    error = f"gave up after {tries} tries: {error}"
                connection.execute(
                    where.values(status="failed", error=error[:300], claimed_by=None, updated_at=now)
                )
                if result.opted_out:
                    mark_opted_out(connection, item.supporter_id, now)
                self.totals.failed += 1
                key = error.split(":")[0]
                self.totals.by_error[key] = self.totals.by_error.get(key, 0) + 1

    def settle_abandoned(self) -> int:
        """Mark texts held past their lease by another sender ``unknown``: in doubt, never resent by itself.

        The sender that held them keeps its name on them (``claimed_by``): if it was only slow,
        its result still settles them.
        """
        now = utcnow()
        table = OutboxMessage.__table__.c
        with self.engine.begin() as connection:
            settled = connection.execute(
                update(OutboxMessage)
                .where(
                    table.status == "sending",
                    table.claimed_by != self.worker_id,
                    table.claimed_at < now - timedelta(seconds=self.lease),
                )
                .values(status="unknown", error=IN_DOUBT, updated_at=now)
            ).rowcount
        if settled:
            log.warning("%d text(s) were held by a sender that stopped; marked unknown (in doubt)", settled)
        return int(settled or 0)

    def seconds_to_next(self) -> float | None:
        """Seconds until the next queued text is due (0 if one is); None when nothing waits."""
        table = OutboxMessage.__table__.c
        with self.engine.connect() as connection:
            firsts = [
                connection.scalar(
                    select(func.min(table.scheduled_at)).where(table.status == "queued", table.lane == lane)
                )
                for lane in LANES
            ]
        first = min((f for f in firsts if f is not None), default=None)
        if first is None:
            return None
        return max((first - utcnow()).total_seconds(), 0.0)

"""The outbox: queuing an alert to a million subscribers, and the sender's throughput.

1. Queue: ``campaign.messaging.alerts.queue`` (one ``INSERT ... SELECT`` with the dedupe key, under the
   unique index and the outbox's indexes) to N subscribed supporters, in seconds; then the
   same alert with two translations, each supporter getting their language's version (a
   third each fr, nl, none: three languages; target under 60 s for a million); against a
   raw ``INSERT ... SELECT`` of the same N supporter ids into a table without indexes.
2. Send: a real ``OutboxSender`` (claim, decrypt, POST, record) through the Twilio provider
   to a local stand-in with no rate limit (``tests.support.sms_fast``), texts per second; against
   bare HTTP POSTs of the same form to the same stand-in at the same concurrency.
3. Lanes: the first 100,000 texts of the alert queued again as one alert, then thank-yous
   falling due one after another while the sender works through it at its configured rate
   (``CAMPAIGN_SEND_RATE``, ``CAMPAIGN_SEND_CONCURRENCY``), through the same stand-in: how late
   each thank-you left beyond its due time (p50, p99, worst), and what the alert got meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Column, Integer, MetaData, Table, delete, func, insert, select, text

from bench import servers
from bench.stack import WEBHOOK_APPEAL, Stack
from campaign.messaging import alerts, outbox
from campaign.messaging.providers.twilio import TwilioSender
from campaign.messaging.sender import OutboxSender
from campaign.storage.models import OutboxMessage, Supporter, utcnow

ACCOUNT_SID = "AC" + "b" * 32
CONCURRENCY = 32
LANES_ALERT = 100_000  # the alert
LANES_REPLIES_PER_SECOND = 5.0  # JAs pouring in: thank-yous falling due during the alert
LANES_TARGET_P99_S = 5.0


@dataclass
class LanesResult:
    alert: int  # bulk texts queued when the thank-yous started falling due
    rate: float  # the sender's configured texts per second (0: none)
    concurrency: int
    seconds: float  # how long the thank-yous kept falling due
    replies: int  # thank-yous due in that time
    late: list[float]  # seconds each sent thank-you left after its due time
    unsent: int  # thank-yous not sent when the run ended
    bulk_sent: int  # alert texts sent in the same run
    run_seconds: float

    def percentile(self, share: float) -> float:
        if not self.late:
            return float("inf")
        ordered = sorted(self.late)
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99) if not self.unsent else float("inf")

    @property
    def bulk_per_second(self) -> float:
        return self.bulk_sent / self.run_seconds if self.run_seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "rate": self.rate,
            "concurrency": self.concurrency,
            "seconds": self.seconds,
            "replies": self.replies,
            "unsent": self.unsent,
            "late_p50_seconds": round(self.p50, 3),
            "late_p99_seconds": round(self.p99, 3) if self.p99 != float("inf") else None,
            "late_max_seconds": round(max(self.late), 3) if self.late else None,
            "bulk_sent": self.bulk_sent,
            "bulk_per_second": round(self.bulk_per_second, 1),
        }


LANGUAGES = ("fr", "nl", None)
TRANSLATIONS = {
    "fr": "Hassan risque la torture. Répondez JA pour exiger sa sécurité.",
    "nl": "Hassan loopt gevaar op marteling. Antwoord JA om zijn veiligheid te eisen.",
}


@dataclass
class OutboxResult:
    subscribers: int
    queue_seconds: float
    languages_queue_seconds: float  # the same alert with two translations: three languages
    languages_plan_seconds: float  # its preview: recipients and segments per language
    raw_queue_seconds: float
    texts: int
    send_seconds: float
    sent: int
    raw_posts_seconds: float
    lanes: LanesResult | None = None

    @property
    def queue_per_second(self) -> float:
        return self.subscribers / self.queue_seconds if self.queue_seconds else 0.0

    @property
    def send_per_second(self) -> float:
        return self.sent / self.send_seconds if self.send_seconds else 0.0

    @property
    def raw_posts_per_second(self) -> float:
        return self.texts / self.raw_posts_seconds if self.raw_posts_seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "lanes": self.lanes.as_json() if self.lanes is not None else None,
            "queue_per_second": round(self.queue_per_second),
            "send_per_second": round(self.send_per_second, 1),
            "raw_posts_per_second": round(self.raw_posts_per_second, 1),
        }


def run(stack: Stack, subscribers: int, texts: int, lanes_seconds: float = 20.0) -> OutboxResult:
    engine = stack.runtime.engine
    _add_subscribers(stack, subscribers, texts)
    plan = alerts.plan(engine, WEBHOOK_APPEAL)
    began = time.perf_counter()
    queued = alerts.queue(engine, plan, "bench")
    queue_seconds = time.perf_counter() - began
    assert queued.queued == subscribers, (queued.queued, subscribers)
    languages_seconds, languages_plan_seconds = _queue_in_languages(stack, queued.batch, subscribers)
    raw_queue_seconds = _raw_queue(stack)

    # Send: only the first ``texts`` stay queued (they hold real encrypted numbers).
    with engine.begin() as connection:
        connection.execute(
            OutboxMessage.__table__.update()
            .where(OutboxMessage.supporter_id > _nth_id(connection, texts))
            .values(status="cancelled", error="bench: beyond the send sample")
        )
    with servers.sms_standin(stack) as standin:
        settings = stack.settings.model_copy(
            update={
                "sms_provider": "twilio",
                "twilio_account_sid": ACCOUNT_SID,
                "twilio_api_url": standin.url,
                "twilio_auth_token": "bench",
            }
        )
        raw_posts_seconds = asyncio.run(_raw_posts(standin.url, texts))
        provider = TwilioSender(settings)
        sender = OutboxSender(
            engine, stack.runtime.vault, provider, rate=0, concurrency=CONCURRENCY, max_attempts=3
        )

        async def send() -> float:
            began = time.perf_counter()
            try:
                await sender.run(until_idle=True)
            finally:
                await provider.aclose()
            return time.perf_counter() - began

        send_seconds = asyncio.run(send())
        lanes_result = _lanes(stack, settings, lanes_seconds)
    return OutboxResult(
        subscribers=subscribers,
        queue_seconds=queue_seconds,
        languages_queue_seconds=languages_seconds,
        languages_plan_seconds=languages_plan_seconds,
        raw_queue_seconds=raw_queue_seconds,
        texts=texts,
        send_seconds=send_seconds,
        sent=sender.totals.sent,
        raw_posts_seconds=raw_posts_seconds,
        lanes=lanes_result,
    )


def _lanes(stack: Stack, settings: Any, seconds: float) -> LanesResult:
    """Thank-yous falling due while a 100,000-text alert is being sent at the configured rate."""
    engine = stack.runtime.engine
    table = OutboxMessage.__table__.c
    with engine.begin() as connection:
        # The alert's first 100,000 texts, queued again: a fresh alert, all due now.
        last = _nth_id(connection, min(LANES_ALERT, _count(connection)))
        now = utcnow()
        connection.execute(
            OutboxMessage.__table__.update()
            .where(table.kind == "alert", table.supporter_id <= last)
            .values(status="queued", scheduled_at=now, sent_at=None, claimed_by=None, error=None)
        )
        alert = int(
            connection.scalar(
                select(func.count()).where(OutboxMessage.kind == "alert", OutboxMessage.status == "queued")
            )
            or 0
        )
        appeal_id = int(
            connection.scalar(select(OutboxMessage.appeal_id).where(table.kind == "alert").limit(1))
        )
        supporters = list(
            connection.scalars(
                select(Supporter.id).order_by(Supporter.id.desc()).limit(int(seconds * 10) + 10)
            )
        )
        # JAs keep coming: one thank-you due every 1/LANES_REPLIES_PER_SECOND s, from 1 s on.
        start = now + timedelta(seconds=1.0)
        replies = int(seconds * LANES_REPLIES_PER_SECOND)
        for i in range(replies):
            due = start + timedelta(seconds=i / LANES_REPLIES_PER_SECOND)
            thanks = outbox.ThankYou(supporters[i], appeal_id, "thank_you", None, "Thank you")
            outbox.queue_thank_yous(connection, [thanks], delay=0, now=due)
    provider = TwilioSender(settings)
    sender = OutboxSender(
        engine,
        stack.runtime.vault,
        provider,
        rate=stack.settings.send_rate,
        concurrency=stack.settings.send_concurrency,
        max_attempts=3,
    )

    async def send() -> float:
        stop = asyncio.Event()
        began = time.perf_counter()
        task = asyncio.create_task(sender.run(stop))
        await asyncio.sleep(1.0 + seconds + 5.0)  # the last one's due time and a margin
        stop.set()
        try:
            await task
        finally:
            await provider.aclose()
        return time.perf_counter() - began

    run_seconds = asyncio.run(send())
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.status, table.scheduled_at, table.sent_at).where(
                table.kind == "thank_you",
                table.supporter_id.in_(supporters[:replies]),
                table.scheduled_at >= start,
            )
        ).all()
        bulk_sent = int(
            connection.scalar(
                select(func.count()).where(
                    OutboxMessage.kind == "alert",
                    OutboxMessage.sent_at >= now,
                    OutboxMessage.status == "sent",
                )
            )
            or 0
        )
    late = [(r.sent_at - r.scheduled_at).total_seconds() for r in rows if r.status == "sent"]
    return LanesResult(
        alert=alert,
        rate=stack.settings.send_rate,
        concurrency=stack.settings.send_concurrency,
        seconds=seconds,
        replies=len(rows),
        late=late,
        unsent=len(rows) - len(late),
        bulk_sent=bulk_sent,
        run_seconds=run_seconds,
    )


def _count(connection: Any) -> int:
    return int(connection.scalar(select(func.count()).select_from(Supporter)) or 0)


def _queue_in_languages(stack: Stack, first_batch: str, subscribers: int) -> tuple[float, float]:
    """The alert again, in three languages (a third each fr, nl, and the appeal's own text).

    The first queue's rows are deleted first (and vacuumed away on PostgreSQL; not timed), so
    every supporter is queued again.
    Returns the seconds of the queue and of the preview (``plan``).
    """
    engine = stack.runtime.engine
    with engine.begin() as connection:
        connection.execute(delete(OutboxMessage).where(OutboxMessage.batch == first_batch))
    if engine.dialect.name == "postgresql":  # the deleted rows' index entries would slow the unique check
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE outbox"))
    began = time.perf_counter()
    plan = alerts.plan(engine, WEBHOOK_APPEAL, translations=TRANSLATIONS)
    plan_seconds = time.perf_counter() - began
    began = time.perf_counter()
    queued = alerts.queue(engine, plan, "bench")
    seconds = time.perf_counter() - began
    assert queued.queued == subscribers, (queued.queued, subscribers)
    with engine.connect() as connection:
        per_language = dict(
            connection.execute(
                select(OutboxMessage.language, func.count()).group_by(OutboxMessage.language)
            ).all()
        )
    assert set(per_language) == {"fr", "nl", plan.text.language}, per_language
    return seconds, plan_seconds


def _add_subscribers(stack: Stack, subscribers: int, with_numbers: int) -> None:
    """N subscribed supporters, a third each French, Dutch and of no known language; the first
    ``with_numbers`` with real encrypted numbers."""
    vault = stack.runtime.vault
    placeholder = vault.encrypt("+31600000000")
    now = utcnow()
    step = 50_000
    with stack.runtime.engine.begin() as connection:
        for start in range(0, subscribers, step):
            rows = []
            for i in range(start, min(start + step, subscribers)):
                number = f"+3161{i:07d}"
                rows.append(
                    {
                        "phone_hash": f"bench-{i:08d}",
                        "phone_encrypted": vault.encrypt(number) if i < with_numbers else placeholder,
                        "country": "NL",
                        "language": LANGUAGES[i % len(LANGUAGES)],
                        "first_seen_at": now,
                        "subscribed": True,
                        "opted_out": False,
                    }
                )
            connection.execute(insert(Supporter), rows)


def _nth_id(connection: Any, n: int) -> int:
    return int(connection.scalar(select(Supporter.id).order_by(Supporter.id).offset(n - 1).limit(1)))


def _raw_queue(stack: Stack) -> float:
    """The floor: the same supporter ids copied by INSERT ... SELECT into a bare table."""
    engine = stack.runtime.engine
    table = Table("bench_raw_outbox", MetaData(), Column("supporter_id", Integer))
    table.drop(engine, checkfirst=True)
    table.create(engine)
    try:
        began = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO bench_raw_outbox (supporter_id) SELECT id FROM supporters WHERE subscribed")
            )
        seconds = time.perf_counter() - began
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(table))
    finally:
        table.drop(engine, checkfirst=True)
    return seconds


async def _raw_posts(url: str, texts: int) -> float:
    """Bare POSTs of a Twilio form to the stand-in, ``CONCURRENCY`` at a time."""
    endpoint = f"{url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(texts):
        queue.put_nowait(i)
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, "bench")) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                form = {"To": f"+3161{i:07d}", "From": "4777", "Body": "Hassan is at risk of torture."}
                response = await client.post(endpoint, data=form)
                response.raise_for_status()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - began


def report_lines(result: OutboxResult) -> list[tuple[str, str]]:
    return [
        (
            "queue an alert",
            f"{result.queue_seconds:8.2f} s for {result.subscribers:,} subscribers "
            f"({result.queue_per_second:,.0f} rows/s)",
        ),
        (
            "  in three languages",
            f"{result.languages_queue_seconds:8.2f} s for {result.subscribers:,} subscribers "
            f"(fr, nl and the appeal's own text; preview {result.languages_plan_seconds:.2f} s)",
        ),
        (
            "  raw INSERT ... SELECT",
            f"{result.raw_queue_seconds:8.2f} s, same ids into a table without indexes",
        ),
        (
            "sender",
            f"{result.send_per_second:8,.0f} texts/s ({result.sent:,} sent in {result.send_seconds:.2f} s, "
            f"{CONCURRENCY} in flight, no rate limit)",
        ),
        (
            "  bare HTTP POSTs",
            f"{result.raw_posts_per_second:8,.0f} req/s to the same stand-in, {CONCURRENCY} at a time",
        ),
        *(lanes_lines(result.lanes) if result.lanes is not None else []),
    ]


def lanes_lines(lanes: LanesResult) -> list[tuple[str, str]]:
    pace = f"{lanes.rate:g} texts/s" if lanes.rate else "no rate limit"
    oldest_first = f"{lanes.alert / lanes.rate / 60:,.0f} min" if lanes.rate else "the whole alert"
    worst = f"{max(lanes.late):.2f} s" if lanes.late else "-"
    return [
        (
            "replies under an alert",
            f"{lanes.p99:8.2f} s p99 late (p50 {lanes.p50:.2f} s, worst {worst}): "
            f"{lanes.replies:,} thank-yous due over {lanes.seconds:.0f} s "
            f"during a {lanes.alert:,}-text alert, sender at {pace}",
        ),
        (
            "  the alert meanwhile",
            f"{lanes.bulk_per_second:8,.1f} texts/s ({lanes.bulk_sent:,} sent; the rate the replies left)"
            + (f"; {lanes.unsent:,} thank-yous NOT sent" if lanes.unsent else ""),
        ),
        ("  oldest first (before lanes)", f"{oldest_first:>8} a thank-you would have waited behind it"),
    ]

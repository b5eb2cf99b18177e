"""The outbox: queuing an alert to a million subscribers, and the sender's throughput.

1. Queue: ``campaign.messaging.alerts.queue`` (one ``INSERT ... SELECT`` with the dedupe key, under the
   unique index and the outbox's indexes) to N subscribed supporters, in seconds; then the
   same alert with two translations, each supporter getting their language's version (a
   third each fr, nl, none: three languages; target under 60 s for a million); against a
   raw ``INSERT ... SELECT`` of the same N supporter ids into a table without indexes.
2. Send: a real ``OutboxSender`` (claim, decrypt, POST, record) through the Twilio provider
   to a local stand-in with no rate limit (``tests.support.sms_fast``), texts per second; against
   bare HTTP POSTs of the same form to the same stand-in at the same concurrency.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from sqlalchemy import Column, Integer, MetaData, Table, delete, func, insert, select, text

from bench import servers
from bench.stack import WEBHOOK_APPEAL, Stack
from campaign.messaging import alerts
from campaign.messaging.providers.twilio import TwilioSender
from campaign.messaging.sender import OutboxSender
from campaign.storage.models import OutboxMessage, Supporter, utcnow

ACCOUNT_SID = "AC" + "b" * 32
CONCURRENCY = 32
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
            "queue_per_second": round(self.queue_per_second),
            "send_per_second": round(self.send_per_second, 1),
            "raw_posts_per_second": round(self.raw_posts_per_second, 1),
        }


def run(stack: Stack, subscribers: int, texts: int) -> OutboxResult:
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
    )


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
    ]

"""Freshness: how long after a webhook's 2xx the new number reaches an overlay viewer.

The issue's promise is that the on-air number moves within a blink of the text
arriving (target: p99 under 100 ms).  One viewer stays connected to the overlay's
event stream while signed webhooks from new supporters are sent one at a time with
small random gaps, as on a quiet evening; for each, the time from its 2xx answer to
the first event carrying a higher total.  The ingest publishes to Redis before it
answers, so the event may beat the answer: that counts as 0 ms (the number was
already on screen), and how often it happened is reported.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench import servers
from bench.sse import STREAM_PATH, Signer, Viewer, send
from bench.stack import WEBHOOK_APPEAL, Stack

TARGET_P99_MS = 100.0
NUMBER_PREFIX = "+3163"  # new supporters of this section only
EVENT_TIMEOUT = 3.0  # an update slower than this counts as missed
GAP_SECONDS = (0.01, 0.06)


@dataclass
class FreshnessResult:
    webhooks: int
    non_2xx: int
    missed: int  # no event within EVENT_TIMEOUT
    before_answer: int  # the event arrived before the 2xx
    p50_ms: float
    p99_ms: float
    max_ms: float
    send_to_event_p50_ms: float
    send_to_event_p99_ms: float
    answer_p50_ms: float
    answer_p99_ms: float
    endpoints_check: str  # the overlay page and total.txt agree with the stream afterwards
    ingest_log: str = ""  # errors the ingest logged during the section (after the viewer left)
    target_p99_ms: float = TARGET_P99_MS
    samples_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def met(self) -> bool:
        return (
            not self.missed
            and not self.non_2xx
            and self.endpoints_check == "ok"
            and self.p99_ms < self.target_p99_ms
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"met": self.met}


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def run(stack: Stack, count: int, seed: int = 4777) -> FreshnessResult:
    """Start a fresh ingest, connect one viewer, send ``count`` webhooks; measure."""
    with servers.ingest(stack) as server:
        result = asyncio.run(_measure(server.url, stack.screen_token, count, random.Random(seed)))
        time.sleep(0.5)  # whatever the viewer's leaving makes the ingest log
        result.ingest_log = server.log_problems()
        return result


async def _measure(url: str, token: str, count: int, rng: random.Random) -> FreshnessResult:
    viewer = await Viewer.open(url, token)
    signer = Signer(NUMBER_PREFIX)
    fresh: list[float] = []
    from_send: list[float] = []
    answers: list[float] = []
    non_2xx = missed = early = 0
    check = "not reached"
    reading = asyncio.create_task(viewer.follow())
    try:
        last, _ = await asyncio.wait_for(viewer.wait_above(-1), EVENT_TIMEOUT)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await send(client, signer)  # warm the connection and the write path
            last, _ = await asyncio.wait_for(viewer.wait_above(last), EVENT_TIMEOUT)
            for _ in range(count):
                await asyncio.sleep(rng.uniform(*GAP_SECONDS))
                sent = await send(client, signer)
                answers.append((sent.answered_at - sent.sent_at) * 1000)
                if not 200 <= sent.status < 300:
                    non_2xx += 1
                    continue
                try:
                    last, arrived = await asyncio.wait_for(viewer.wait_above(last), EVENT_TIMEOUT)
                except TimeoutError:
                    missed += 1
                    continue
                early += arrived < sent.answered_at
                fresh.append(max(0.0, arrived - sent.answered_at) * 1000)
                from_send.append((arrived - sent.sent_at) * 1000)
            check = await _endpoints(client, token, last)
    finally:
        reading.cancel()
        await viewer.close()
    return FreshnessResult(
        webhooks=count,
        non_2xx=non_2xx,
        missed=missed,
        before_answer=early,
        p50_ms=round(statistics.median(fresh), 3) if fresh else 0.0,
        p99_ms=round(percentile(fresh, 0.99), 3),
        max_ms=round(max(fresh, default=0.0), 3),
        send_to_event_p50_ms=round(statistics.median(from_send), 3) if from_send else 0.0,
        send_to_event_p99_ms=round(percentile(from_send, 0.99), 3),
        answer_p50_ms=round(statistics.median(answers), 3) if answers else 0.0,
        answer_p99_ms=round(percentile(answers, 0.99), 3),
        endpoints_check=check,
        samples_ms=[round(v, 3) for v in fresh],
    )


async def _endpoints(client: httpx.AsyncClient, token: str, streamed: int) -> str:
    """ "ok" when the overlay page is served and total.txt shows the last streamed total."""
    page = await client.get(f"/overlay/{WEBHOOK_APPEAL}", params={"token": token})
    text = await client.get(f"/api/v1/appeals/{WEBHOOK_APPEAL}/total.txt", params={"token": token})
    problems = []
    if page.status_code != 200 or STREAM_PATH not in page.text:
        problems.append(f"overlay page answered {page.status_code} without the stream's address")
    if text.status_code != 200 or text.text.strip() != str(streamed):
        problems.append(
            f"total.txt answered {text.status_code} {text.text.strip()[:40]!r}, stream {streamed}"
        )
    return "; ".join(problems) or "ok"


def report_lines(result: FreshnessResult) -> list[tuple[str, str]]:
    verdict = "meets" if result.met else "MISSES"
    lines = [
        (
            "2xx -> SSE event",
            f"p50 {result.p50_ms:7.2f} ms   p99 {result.p99_ms:7.2f} ms   max {result.max_ms:7.2f} ms"
            f"   target p99 < {result.target_p99_ms:.0f} ms: {verdict}",
        ),
        (
            "  send -> SSE event",
            f"p50 {result.send_to_event_p50_ms:7.2f} ms   p99 {result.send_to_event_p99_ms:7.2f} ms"
            f"   (webhook answer p50 {result.answer_p50_ms:.2f} ms, p99 {result.answer_p99_ms:.2f} ms)",
        ),
        (
            "  webhooks",
            f"{result.webhooks} sent one at a time; {result.before_answer} events arrived before the 2xx"
            f" (counted as 0 ms); {result.missed} missed, {result.non_2xx} not 2xx",
        ),
        ("  overlay, total.txt", f"page served, total.txt = last streamed total: {result.endpoints_check}"),
        ("  ingest log", result.ingest_log),
    ]
    return lines

"""SSE fan-out: one webhook, many overlay viewers on one ingest process, all must see it.

On a campaign night the overlay is open in every studio's broadcast software, on the
wall screens and on supporters' phones; the issue asks that a thousand of them on one
ingest process all show a new total within a second.  The viewers here are raw
asyncio connections on one event loop in the bench process (see ``bench.sse``), so
the bench also reports its own CPU during each round: when the client was busy for
most of the round, the figure is the client's limit, not the server's.  The ingest's
resident memory before and after the viewers connect gives the memory per viewer.

The viewers share the ingest's one event loop with the webhooks, so with a load
generator at hand the section also runs the same webhook burst on the same process
without and then with the viewers connected: the issue sets no target for it, but a
fan-out that starves the write path during a radio call's peak should show up here.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import proc, servers, webhooks
from bench.freshness import percentile
from bench.load import LoadResult
from bench.sse import STREAM_PATH, Signer, Viewer, send
from bench.stack import PUBLIC_URL, SHORT_CODE, TWILIO_TOKEN, Stack

TARGET_SECONDS = 1.0  # every viewer within a second
NUMBER_PREFIX = "+3164"
CONNECT_CONCURRENCY = 100  # connections opened at a time (stays under the listen backlog)
CONNECT_TIMEOUT = 30.0  # for all viewers together
ROUND_TIMEOUT = 10.0  # a viewer without the new total by then counts as missed
ROUND_GAP = 1.0
BURST_RATE = 4000  # pool requests per second of burst: more than the ingest answers


@dataclass
class Burst:
    """A webhook load generator (``Generator.run`` of ``python -m bench``) and its run length."""

    run: Callable[[str, webhooks.Pool, float], LoadResult]
    seconds: float
    workdir: Path

    def pool(self, name: str, prefix: str, size: int) -> webhooks.Pool:
        return webhooks.build_pool(
            self.workdir / name,
            size,
            token=TWILIO_TOKEN,
            public_url=PUBLIC_URL,
            number_prefix=prefix,
            short_code=SHORT_CODE,
        )


@dataclass
class BurstResult:
    """The same webhook burst on the same ingest, without and with the viewers connected."""

    without: dict[str, Any]
    with_viewers: dict[str, Any]
    events_per_viewer_s: float  # totals each viewer received per second during the burst
    client_cpu_share: float  # the bench process (the viewers) during the burst, in cores
    final_check: str  # every viewer ends on the total that total.txt reports

    @property
    def ratio(self) -> float:
        base = self.without["per_second"]
        return self.with_viewers["per_second"] / base if base else 0.0


@dataclass
class Round:
    """One webhook and its arrival at every viewer, in ms from the moment it was sent."""

    answer_ms: float  # the webhook's 2xx
    first_ms: float  # the first viewer: what the write path took; all_ms - first_ms is the fan-out
    all_ms: float  # the last viewer (ROUND_TIMEOUT if some never got it)
    p50_ms: float
    p99_ms: float
    missed: int
    # CPU / wall time of the round, in cores: the bench (client) process, and the ingest
    # (all its threads, so it can pass 100 %; /proc counts in 10 ms ticks, so these are
    # coarse for rounds of tens of ms).  A client near 100 % would be the bottleneck.
    client_cpu_share: float
    server_cpu_share: float


@dataclass
class FanoutResult:
    viewers: int
    connected: int
    connect_s: float
    rss_before_mb: float
    rss_after_mb: float
    rounds: list[Round] = field(default_factory=list)
    burst: BurstResult | None = None
    target_s: float = TARGET_SECONDS
    error: str = ""
    ingest_log: str = ""  # errors the ingest logged, once the viewers left

    @property
    def kb_per_viewer(self) -> float:
        return (self.rss_after_mb - self.rss_before_mb) * 1024 / self.connected if self.connected else 0.0

    @property
    def worst_all_ms(self) -> float:
        return max((r.all_ms for r in self.rounds), default=0.0)

    @property
    def met(self) -> bool:
        return (
            not self.error
            and self.connected == self.viewers
            and bool(self.rounds)
            and all(not r.missed for r in self.rounds)
            and self.worst_all_ms < self.target_s * 1000
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "burst_ratio": round(self.burst.ratio, 4) if self.burst else None,
            "kb_per_viewer": round(self.kb_per_viewer, 2),
            "worst_all_ms": self.worst_all_ms,
            "met": self.met,
        }


# The streams a fan-out can watch: an appeal's, its campaign's (a sum), every appeal's (a sum).
STREAMS = {
    "appeal": STREAM_PATH,
    "campaign": "/api/v1/campaigns/torture/stream",
    "all": "/api/v1/campaigns/all/stream",
}
# The issue asks for a campaign's stream beside an appeal's, in the same run.
DEFAULT_STREAMS = ("appeal", "campaign")
# Each stream's rounds sign from numbers of their own: a number that signed already counts no more.
STREAM_PREFIXES = {"appeal": NUMBER_PREFIX, "campaign": NUMBER_PREFIX + "1", "all": NUMBER_PREFIX + "2"}


def run(
    stack: Stack, viewers: int, rounds: int, burst: Burst | None = None, stream: str = "appeal"
) -> FanoutResult:
    """A fresh ingest, ``viewers`` connected viewers, ``rounds`` webhooks a second apart."""
    path = STREAMS[stream]
    token = stack.screen_token if stream == "appeal" else stack.network_token
    proc.raise_open_files(viewers * 2 + 1024)  # before the ingest starts: it inherits the limit
    pools: list[webhooks.Pool] = []
    if burst is not None:
        size = int(BURST_RATE * burst.seconds)
        pools = [
            burst.pool("fan-warm.pool", "+3166", 2000),
            burst.pool("fan-base.pool", "+3167", size),
            burst.pool("fan-load.pool", "+3168", size),
        ]
    with servers.ingest(stack) as server:
        without = None
        if burst is not None:
            burst.run(server.url, pools[0], 1.0)  # warm-up
            without = burst.run(server.url, pools[1], burst.seconds)
            time.sleep(1.0)  # the last batches commit before the viewers connect
        result = asyncio.run(_measure(server, token, viewers, rounds, path, STREAM_PREFIXES[stream]))
        if burst is not None and without is not None and not result.error:
            result.burst = asyncio.run(_burst_with(server, token, viewers, burst, pools[2], without, path))
        time.sleep(1.0)  # whatever the viewers' leaving makes the ingest log
        result.ingest_log = server.log_problems()
        return result


async def _burst_with(
    server: servers.Server,
    token: str,
    count: int,
    burst: Burst,
    pool: webhooks.Pool,
    without: LoadResult,
    path: str = STREAM_PATH,
) -> BurstResult:
    """Connect the viewers again, run the burst, and check every viewer got the final total."""
    viewers = await asyncio.wait_for(_connect_all(server.url, token, count, path), CONNECT_TIMEOUT)
    tasks = [asyncio.create_task(v.follow()) for v in viewers]
    try:
        await asyncio.wait_for(asyncio.gather(*(v.wait_above(-1) for v in viewers)), CONNECT_TIMEOUT)
        before = [len(v.totals) for v in viewers]
        client_cpu = proc.own_cpu_seconds()
        loaded = await asyncio.to_thread(burst.run, server.url, pool, burst.seconds)
        client_share = (proc.own_cpu_seconds() - client_cpu) / max(loaded.duration_s, 0.001)
        events = sum(len(v.totals) - b for v, b in zip(viewers, before, strict=True)) / count
        await asyncio.sleep(2.0)  # the last commits and their events
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            total_txt = path.removesuffix("/stream") + "/total.txt"
            answer = await client.get(total_txt, params={"token": token})
        final = int(answer.text) if answer.status_code == 200 else -1
        behind = sum(v.totals[-1][0] != final for v in viewers)
        check = "ok" if behind == 0 else f"{behind} viewers not on the final total {final}"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)
    return BurstResult(
        without=without.as_json() | {"output": ""},
        with_viewers=loaded.as_json() | {"output": ""},
        events_per_viewer_s=round(events / max(loaded.duration_s, 0.001), 1),
        client_cpu_share=round(client_share, 3),
        final_check=check,
    )


async def _measure(
    server: servers.Server,
    token: str,
    count: int,
    rounds: int,
    path: str = STREAM_PATH,
    number_prefix: str = NUMBER_PREFIX,
) -> FanoutResult:
    pid = server.process.pid
    rss_before = (proc.rss_bytes(pid) or 0) / 2**20
    viewers: list[Viewer] = []
    tasks: list[asyncio.Task[None]] = []
    result = FanoutResult(count, 0, 0.0, round(rss_before, 1), round(rss_before, 1))
    began = time.perf_counter()
    try:
        try:
            viewers = await asyncio.wait_for(_connect_all(server.url, token, count, path), CONNECT_TIMEOUT)
        except (TimeoutError, OSError) as error:
            result.error = f"connecting {count} viewers: {type(error).__name__} {error}"
            return result
        tasks = [asyncio.create_task(v.follow()) for v in viewers]
        # Every viewer holds its first total (the current figure) before the clock starts.
        await asyncio.wait_for(asyncio.gather(*(v.wait_above(-1) for v in viewers)), CONNECT_TIMEOUT)
        result.connected = len(viewers)
        result.connect_s = round(time.perf_counter() - began, 2)
        await asyncio.sleep(0.5)
        result.rss_after_mb = round((proc.rss_bytes(pid) or 0) / 2**20, 1)
        signer = Signer(number_prefix)
        async with httpx.AsyncClient(base_url=server.url, timeout=ROUND_TIMEOUT) as client:
            for _ in range(rounds):
                result.rounds.append(await _round(client, signer, viewers, pid))
                await asyncio.sleep(ROUND_GAP)
    except (TimeoutError, OSError, httpx.HTTPError) as error:
        result.error = f"{type(error).__name__} {error}"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)
    return result


async def _connect_all(url: str, token: str, count: int, path: str = STREAM_PATH) -> list[Viewer]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> Viewer:
        async with gate:
            return await Viewer.open(url, token, path)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _round(client: httpx.AsyncClient, signer: Signer, viewers: list[Viewer], pid: int) -> Round:
    before = max(v.totals[-1][0] for v in viewers)
    client_cpu, server_cpu = proc.own_cpu_seconds(), proc.cpu_seconds(pid) or 0.0
    sent = await send(client, signer)
    if not 200 <= sent.status < 300:
        raise httpx.HTTPError(f"webhook answered {sent.status}")
    waits = [asyncio.ensure_future(v.wait_above(before)) for v in viewers]
    done, pending = await asyncio.wait(waits, timeout=ROUND_TIMEOUT)
    wall = time.perf_counter() - sent.sent_at
    for waiting in pending:
        waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*pending, return_exceptions=True)
    delays = sorted((w.result()[1] - sent.sent_at) * 1000 for w in done)
    client_share = (proc.own_cpu_seconds() - client_cpu) / wall
    server_share = ((proc.cpu_seconds(pid) or 0.0) - server_cpu) / wall
    return Round(
        answer_ms=round((sent.answered_at - sent.sent_at) * 1000, 2),
        first_ms=round(delays[0], 2) if delays else 0.0,
        all_ms=round(ROUND_TIMEOUT * 1000 if pending else max(delays, default=0.0), 2),
        p50_ms=round(statistics.median(delays), 2) if delays else 0.0,
        p99_ms=round(percentile(delays, 0.99), 2),
        missed=len(pending),
        client_cpu_share=round(client_share, 3),
        server_cpu_share=round(server_share, 3),
    )


def report_lines(result: FanoutResult) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    if result.error:
        lines.append(("error", result.error))
    lines.append(
        (
            "viewers",
            f"{result.connected:,} of {result.viewers:,} connected in {result.connect_s:.1f} s"
            f" (each got the current total first)",
        )
    )
    lines.append(
        (
            "  ingest memory",
            f"RSS {result.rss_before_mb:.1f} MB before, {result.rss_after_mb:.1f} MB with the viewers"
            f" = {result.kb_per_viewer:.1f} kB per viewer",
        )
    )
    for number, one in enumerate(result.rounds, 1):
        lines.append(
            (
                f"  webhook {number}",
                f"all viewers {one.all_ms:7.1f} ms   p50 {one.p50_ms:7.1f} ms   p99 {one.p99_ms:7.1f} ms"
                f"\n{'':25}first {one.first_ms:.1f} ms, 2xx {one.answer_ms:.1f} ms, {one.missed} missed;"
                f" CPU: ingest {one.server_cpu_share:.0%}, bench client {one.client_cpu_share:.0%}",
            )
        )
    verdict = "meets" if result.met else "MISSES"
    lines.append(
        (
            "all viewers, worst",
            f"{result.worst_all_ms:7.1f} ms from sending the webhook"
            f"   target every viewer < {result.target_s:.0f} s: {verdict}",
        )
    )
    if result.burst is not None:
        lines += _burst_lines(result.burst, result.connected)
    lines.append(("ingest log", result.ingest_log))
    return lines


def _burst_lines(burst: BurstResult, viewers: int) -> list[tuple[str, str]]:
    def figures(run: dict[str, Any]) -> str:
        rate, p50, p99 = run["per_second"], run["p50_ms"], run["p99_ms"]
        return f"{rate:>7,.0f} webhooks/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"

    return [
        ("burst, no viewers", figures(burst.without)),
        (
            f"burst, {viewers:,} viewers",
            f"{figures(burst.with_viewers)}   = {burst.ratio:.0%} of the rate without (no target)"
            f"\n{'':25}{burst.events_per_viewer_s:.0f} totals/s to each viewer; bench client"
            f" {burst.client_cpu_share:.0%} of a core; final total on every viewer: {burst.final_check}",
        ),
    ]

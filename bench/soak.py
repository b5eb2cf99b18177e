"""Soak and scale-out: a long run at a fixed rate, and throughput with 1, 2 and 4 ingest processes.

Soak: ``campaign ingest --workers N`` and one ``campaign worker`` take signed webhooks at a
fixed rate (an open-loop sender: requests leave on schedule whether or not earlier ones
were answered, so a slowing server shows as latency, not as a lower rate) for a bounded
time.  It reports throughput, p50/p99 latency per minute and overall, and the resident
memory of every process (ingest processes, worker, Redis, the sender) at the start and at
the end; at the end the database must hold one signature per distinct sender and Redis
the same total.

Scale-out: the load generator at full speed against the ingest served by 1, 2 and 4
processes, and against the minimal endpoint served the same way (the machine's own limit
for that many processes, measured in the same run): requests/s, p99, ours/minimal and
ours(N)/ours(1); on PostgreSQL also the share of moments some transaction waited for a lock,
per table (``bench.locks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import proc, servers, webhooks
from bench.load import LoadResult
from bench.locks import LockSampler, LockWaits
from bench.stack import WEBHOOK_APPEAL, Stack

SCALE_LEVELS = (1, 2, 4)
IN_FLIGHT = 32  # the soak sender's keep-alive connections


# -- soak ---------------------------------------------------------------------------------------------
@dataclass
class SoakResult:
    rate: float
    seconds: float
    processes: int
    sent: int = 0
    answered: int = 0
    non_200: int = 0
    errors: int = 0
    late: int = 0  # requests scheduled more than 100 ms late (the sender itself fell behind)
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    per_minute: list[dict[str, float]] = field(default_factory=list)
    memory_start: dict[str, int] = field(default_factory=dict)  # process -> RSS bytes
    memory_end: dict[str, int] = field(default_factory=dict)
    db_signatures: int = 0
    distinct_senders: int = 0
    redis_total: int = -1

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "rate": self.rate,
            "seconds": round(self.seconds, 1),
            "ingest_processes": self.processes,
            "sent": self.sent,
            "answered": self.answered,
            "non_200": self.non_200,
            "errors": self.errors,
            "late": self.late,
            "throughput": round(self.throughput, 1),
            "p50_ms": round(percentile(ordered, 50) * 1000, 2),
            "p99_ms": round(percentile(ordered, 99) * 1000, 2),
            "max_ms": round((ordered[-1] if ordered else 0.0) * 1000, 2),
            "per_minute": self.per_minute,
            "memory_start": self.memory_start,
            "memory_end": self.memory_end,
            "db_signatures": self.db_signatures,
            "distinct_senders": self.distinct_senders,
            "redis_total": self.redis_total,
        }


def percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return 0.0
    rank = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))
    return ordered[rank]


def memory(stack: Stack, ingest: servers.Server, worker: servers.Server) -> dict[str, int]:
    """RSS of every process of the system, by name."""
    pids: dict[str, int] = {"ingest supervisor": ingest.process.pid}
    children = proc.descendants(ingest.process.pid)
    if children:
        pids |= {f"ingest process {i + 1}": pid for i, pid in enumerate(sorted(children))}
    else:
        pids = {"ingest": ingest.process.pid}
    pids["worker"] = worker.process.pid
    redis_pid = stack.settings.data_dir / "redis" / "redis.pid"
    with contextlib.suppress(OSError, ValueError):
        pids["redis"] = int(redis_pid.read_text().strip())
    pids["bench (sender)"] = os.getpid()
    return {name: rss for name, pid in pids.items() if (rss := proc.rss_bytes(pid)) is not None}


def run_soak(
    stack: Stack,
    pool: webhooks.Pool,
    rate: float,
    seconds: float,
    processes: int,
    on_minute: Callable[[dict[str, float]], None] | None = None,
) -> SoakResult:
    result = SoakResult(rate=rate, seconds=seconds, processes=processes)
    before = webhooks.counts(stack.runtime.engine, WEBHOOK_APPEAL)
    with servers.ingest(stack, processes) as ingest, servers.worker(stack) as worker:
        time.sleep(1.0)  # let every process finish its start
        result.memory_start = memory(stack, ingest, worker)
        asyncio.run(_open_loop(ingest.url, pool, rate, seconds, result, on_minute))
        result.memory_end = memory(stack, ingest, worker)
        after = webhooks.settled(stack, WEBHOOK_APPEAL, 15.0)
        result.db_signatures = after.signatures - before.signatures
        result.distinct_senders = pool.distinct_senders(range(result.sent))
        result.redis_total = webhooks.live_total(stack, WEBHOOK_APPEAL, after.signatures, 10.0)
        problems = ingest.log_problems()
        if problems != "none":
            print(f"  ingest log: {problems}", flush=True)
    return result


async def _open_loop(
    url: str,
    pool: webhooks.Pool,
    rate: float,
    seconds: float,
    result: SoakResult,
    on_minute: Callable[[dict[str, float]], None] | None,
) -> None:
    """Send on schedule over ``IN_FLIGHT`` keep-alive connections; raw HTTP/1.1, so it stays cheap.

    A request waits for a free connection when all are busy; its latency counts from its
    scheduled moment, so time spent queued behind a slow server is measured too (no
    coordinated omission).  An asyncio + httpx client costs too much CPU per request to
    hold even 100/s on a busy 2-core machine; this one costs a few tens of microseconds.
    """
    host, port = url.removeprefix("http://").split(":")
    requests = _read_pool(pool.path, f"{host}:{port}")
    total = min(len(requests), int(rate * seconds))
    queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
    minute: list[float] = []
    minute_errors = 0

    async def connection() -> None:
        nonlocal minute_errors
        reader, writer = await asyncio.open_connection(host, int(port))
        while (item := await queue.get()) is not None:
            request, due = item
            try:
                writer.write(request)
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result.errors += 1
                minute_errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, int(port))
                continue
            elapsed = time.monotonic() - due
            result.answered += 1
            result.latencies.append(elapsed)
            minute.append(elapsed)
            if status != 200:
                result.non_200 += 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(IN_FLIGHT)]
    start = time.monotonic()
    next_minute = start + 60
    for index in range(total):
        due = start + index / rate
        now = time.monotonic()
        if now - due > 0.1:
            result.late += 1
        await asyncio.sleep(max(0.0, due - now))  # always yield, even when behind
        if time.monotonic() >= next_minute:
            _close_minute(result, minute, minute_errors, on_minute)
            minute, minute_errors = [], 0
            next_minute += 60
        queue.put_nowait((requests[index], due))
        result.sent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    result.seconds = time.monotonic() - start
    if minute:
        _close_minute(result, minute, minute_errors, on_minute)


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (uvicorn always sends Content-Length here); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


def _close_minute(
    result: SoakResult,
    latencies: list[float],
    errors: int,
    on_minute: Callable[[dict[str, float]], None] | None,
) -> None:
    ordered = sorted(latencies)
    row = {
        "minute": len(result.per_minute) + 1,
        "answered": len(ordered),
        "errors": errors,
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
    }
    result.per_minute.append(row)
    if on_minute is not None:
        on_minute(row)


def _read_pool(path: Path, host: str) -> list[bytes]:
    """Each pooled request as the bytes sent on the wire."""
    requests = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            signature, body = line.rstrip("\n").split("\t", 1)
            payload = body.encode()
            head = (
                f"POST {webhooks.PATH} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: {webhooks.CONTENT_TYPE}\r\nX-Twilio-Signature: {signature}\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n"
            )
            requests.append(head.encode() + payload)
    return requests


def soak_lines(result: SoakResult) -> list[tuple[str, str]]:
    data = result.as_json()
    check = (
        "ok"
        if data["db_signatures"] == data["distinct_senders"] and not data["errors"] and not data["non_200"]
        else "MISMATCH"
    )
    rows = [
        (
            "throughput",
            f"{data['throughput']:,.1f} req/s answered of {result.rate:,.0f}/s sent"
            f" ({data['answered']:,} in {data['seconds']:.0f} s; {data['non_200']} not 200,"
            f" {data['errors']} errors, {data['late']} sent late)",
        ),
        (
            "latency",
            f"p50 {data['p50_ms']:.1f} ms   p99 {data['p99_ms']:.1f} ms   max {data['max_ms']:.1f} ms",
        ),
        (
            "database check",
            f"{data['db_signatures']:,} new signatures for {data['distinct_senders']:,} distinct senders;"
            f" Redis total {data['redis_total']:,}: {check}",
        ),
    ]
    for name in result.memory_start:
        start = result.memory_start[name] / 2**20
        end = result.memory_end.get(name, 0) / 2**20
        rows.append(
            (f"RSS {name}", f"{start:7.1f} MiB at the start, {end:7.1f} MiB at the end ({end - start:+.1f})")
        )
    return rows


# -- scale-out ---------------------------------------------------------------------------------------
@dataclass
class ScaleLevel:
    processes: int
    ours: LoadResult
    minimal: LoadResult
    lock_waits: LockWaits = field(default_factory=LockWaits)  # during ours, on PostgreSQL

    def as_json(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "ours": self.ours.as_json(),
            "minimal": self.minimal.as_json(),
            "lock_waits": self.lock_waits.as_json(),
            "ours_over_minimal": round(self.ours.per_second / self.minimal.per_second, 4)
            if self.minimal.per_second
            else None,
        }


def run_scaleout(
    stack: Stack,
    run: Callable[[str, webhooks.Pool, float], LoadResult],
    make_pool: Callable[[str, int], webhooks.Pool],
    duration: float,
    levels: tuple[int, ...] = SCALE_LEVELS,
    pool_rate: int = 6000,
) -> list[ScaleLevel]:
    """``run(url, pool, seconds)`` is the bench's load generator at full speed."""
    results = []
    for index, processes in enumerate(levels):
        warmup = make_pool(f"+3168{index}", 2000)
        pool = make_pool(f"+316{index + 2}", int(pool_rate * duration))
        with servers.ingest(stack, processes) as server:
            run(server.url, warmup, 1.0)
            with LockSampler(stack.runtime.engine) as waits:
                ours = _timed(run, server, pool, duration)
        with servers.minimal(stack, processes) as server:
            run(server.url, warmup, 1.0)
            minimal = _timed(run, server, pool, duration)
        results.append(ScaleLevel(processes, ours, minimal, waits))
    return results


def _timed(
    run: Callable[[str, webhooks.Pool, float], LoadResult],
    server: servers.Server,
    pool: webhooks.Pool,
    duration: float,
) -> LoadResult:
    before = server.cpu_seconds()
    result = run(server.url, pool, duration)
    after = server.cpu_seconds()
    if before is not None and after is not None:
        result.server_cpu_s = after - before
    return result


def scale_lines(levels: list[ScaleLevel]) -> list[tuple[str, str]]:
    rows = []
    base = levels[0].ours.per_second if levels else 0.0
    for level in levels:
        ratio = level.ours.per_second / level.minimal.per_second if level.minimal.per_second else 0.0
        scaling = level.ours.per_second / base if base else 0.0
        rows.append(
            (
                f"{level.processes} process(es)",
                f"ours {level.ours.per_second:8,.0f} req/s p99 {level.ours.p99_ms:7.1f} ms | minimal"
                f" {level.minimal.per_second:8,.0f} req/s p99 {level.minimal.p99_ms:6.1f} ms |"
                f" ours/minimal {ratio:6.1%} | ours/ours(1) {scaling:4.2f}x",
            )
        )
        if level.lock_waits.samples:
            rows.append(("  lock waits", level.lock_waits.summary()))
        if level.ours.non_200 or level.ours.socket_errors:
            rows.append(("  note", f"{level.ours.non_200} not 200, {level.ours.socket_errors} socket errors"))
    return rows

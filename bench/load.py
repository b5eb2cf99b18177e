"""Load generators: wrk when installed, else several Python processes with httpx.

On a small machine a Python load generator is slower than the server it measures, so
its figures are a floor, not the server's capacity; wrk (C, one event loop per thread)
is preferred and the output always says which one produced the figures.

Both replay a request pool (see ``bench.webhooks``) split into interleaved slices, one
per wrk thread or Python process, so no request is sent twice unless a slice runs out;
then it starts over (the server sees Twilio retries) and the result says so.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench.webhooks import CONTENT_TYPE, PATH, Pool

MARKER = "BENCH_RESULT "


@dataclass
class LoadResult:
    generator: str
    connections: int
    duration_s: float
    requests: int  # answered requests
    non_200: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    sent_per_slice: list[int] = field(default_factory=list)  # requests issued, by pool slice
    wrapped: bool = False  # some slice ran out of fresh requests and started over
    output: str = ""  # what the generator printed, kept in the JSON
    server_cpu_s: float | None = None  # CPU time the server process used during the run

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s * 1000 / self.requests

    @property
    def per_second(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "per_second": round(self.per_second, 1),
            "server_cpu_ms_per_request": self.server_cpu_ms_per_request,
        }


def wrk_version() -> str | None:
    """wrk's version line, or None when wrk is not installed."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    first = (done.stdout or done.stderr).splitlines()[:1]
    return first[0].split(" [")[0] if first else "wrk"


# Each thread loads its own slice of the pool, formats every request once, and cycles.
# done() prints one JSON line the bench parses; --latency also prints wrk's own table.
LUA = """
local pool_path = %(pool)s
local nthreads = %(threads)d
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  requests = {}
  sent = 0
  bad = 0
  local index = 0
  for line in io.lines(pool_path) do
    if index %% nthreads == id then
      local tab = line:find("\\t", 1, true)
      local headers = {
        ["Content-Type"] = %(content_type)s,
        ["X-Twilio-Signature"] = line:sub(1, tab - 1),
      }
      requests[#requests + 1] = wrk.format("POST", %(path)s, headers, line:sub(tab + 1))
    end
    index = index + 1
  end
end

function request()
  sent = sent + 1
  return requests[(sent - 1) %% #requests + 1]
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests_)
  local per_thread = {}
  local bad_total = 0
  for _, thread in ipairs(threads) do
    per_thread[thread:get("id") + 1] = thread:get("sent")
    bad_total = bad_total + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests": %%d, "duration_us": %%d, "non_200": %%d, "socket_errors": %%d, '
    .. '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, "sent": [%%s]}\\n',
    summary.requests, summary.duration, bad_total, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(per_thread, ", ")))
end
"""


def run_wrk(
    url: str, pool: Pool, *, connections: int, threads: int, duration: float, workdir: Path
) -> LoadResult:
    script = workdir / "bench.lua"
    script.write_text(
        LUA
        % {
            "pool": json.dumps(str(pool.path)),
            "threads": threads,
            "content_type": json.dumps(CONTENT_TYPE),
            "path": json.dumps(PATH),
            "marker": MARKER,
        }
    )
    seconds = max(1, round(duration))
    argv = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--latency",
        f"--script={script}",
        url + PATH,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(lines[-1][len(MARKER) :])
    per_slice_size = [len(range(i, len(pool), threads)) for i in range(threads)]
    return LoadResult(
        generator=f"{wrk_version()} ({threads} threads)",
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        non_200=data["non_200"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        sent_per_slice=data["sent"],
        wrapped=any(s > n for s, n in zip(data["sent"], per_slice_size, strict=True)),
        output=(done.stdout.replace(lines[-1], "").strip() + "\n" + done.stderr).strip(),
    )


# -- the Python fallback ------------------------------------------------------------------------
@dataclass
class _WorkerResult:
    sent: int
    answered: int
    non_200: int
    errors: int
    latencies: list[float]  # seconds, of answered requests
    elapsed: float = 0.0  # from the common start to this worker's last answer


def run_python(url: str, pool: Pool, *, connections: int, processes: int, duration: float) -> LoadResult:
    """Several processes, each an asyncio loop with its share of the connections."""
    start_at = time.time() + 1.0 + 0.2 * processes  # every worker imported and ready by then
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as executor:
        futures = [
            executor.submit(_worker, url, str(pool.path), i, processes, shares[i], start_at, duration)
            for i in range(processes)
        ]
        results: list[_WorkerResult] = [f.result(timeout=duration + 60) for f in futures]
    latencies = sorted(x for r in results for x in r.latencies)
    per_slice_size = [len(range(i, len(pool), processes)) for i in range(processes)]
    sent = [r.sent for r in results]
    return LoadResult(
        generator=f"python asyncio + httpx ({processes} processes)",
        connections=connections,
        duration_s=max(r.elapsed for r in results),
        requests=sum(r.answered for r in results),
        non_200=sum(r.non_200 for r in results),
        socket_errors=sum(r.errors for r in results),
        p50_ms=_percentile(latencies, 50) * 1000,
        p90_ms=_percentile(latencies, 90) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] if latencies else 0.0) * 1000,
        sent_per_slice=sent,
        wrapped=any(s > n for s, n in zip(sent, per_slice_size, strict=True)),
    )


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return 0.0
    rank = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))
    return ordered[rank]


def _worker(
    url: str,
    pool_path: str,
    slice_index: int,
    slices: int,
    concurrency: int,
    start_at: float,
    duration: float,
) -> _WorkerResult:
    requests: list[tuple[str, bytes]] = []
    with open(pool_path, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            if index % slices == slice_index:
                signature, body = line.rstrip("\n").split("\t", 1)
                requests.append((signature, body.encode()))
    return asyncio.run(_drive(url, requests, concurrency, start_at, duration))


async def _drive(
    url: str, requests: list[tuple[str, bytes]], concurrency: int, start_at: float, duration: float
) -> _WorkerResult:
    import httpx

    result = _WorkerResult(0, 0, 0, 0, [])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10.0) as client:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        deadline = time.monotonic() + duration
        started = time.monotonic()

        async def connection() -> None:
            while time.monotonic() < deadline:
                signature, body = requests[result.sent % len(requests)]
                result.sent += 1
                headers = {"Content-Type": CONTENT_TYPE, "X-Twilio-Signature": signature}
                began = time.perf_counter()
                try:
                    response = await client.post(PATH, content=body, headers=headers)
                except httpx.HTTPError:
                    result.errors += 1
                    continue
                result.latencies.append(time.perf_counter() - began)
                result.answered += 1
                if response.status_code != 200:
                    result.non_200 += 1

        await asyncio.gather(*(connection() for _ in range(concurrency)))
        result.elapsed = time.monotonic() - started
    return result

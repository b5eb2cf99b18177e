"""``python -m bench [--quick | --smoke] [--only SECTIONS] [--postgres URL]``: the benchmark in one command.

1. Signed Twilio webhooks per second, p50 and p99, against the real ``campaign ingest``
   process; afterwards the database must hold one signature per distinct sender.
2. The same load against a minimal ASGI endpoint served the same way; ours / minimal; the
   server CPU per request of both, and the floor under ours: the minimal endpoint's CPU plus
   the library steps no signed webhook can skip, timed on the same requests (``bench/floor.py``).
3. CSV import rows per second against a raw bulk insert of the same rows; ours / raw; the
   ceiling over ours: the library steps of each line on every core at the raw insert speed.
4. Freshness: a webhook's 2xx to the new total in the overlay's event stream, p50/p99.
5. SSE fan-out: 1,000 overlay viewers on one ingest; one webhook reaches all of them.
6. Dashboard CPU per open live screen (headless Chromium on ``/live``).
7. History queries over generated years of signatures, p50/p95 with and without rollups,
   on SQLite and PostgreSQL (``bench/history.py``; its own databases, removed afterwards).
8. ``--only soak``: a bounded soak at a fixed rate (10 min; quick 60 s) with memory of every
   process at start and end; ``--only scaleout``: 1, 2 and 4 ingest processes against the
   minimal endpoint served the same way, with lock waits per table sampled from ``pg_locks``
   on PostgreSQL (``bench/locks.py``).  Neither runs by default.
9. The outbox: queuing an alert to 1,000,000 subscribers (seconds, against a raw INSERT ...
   SELECT), again in three languages (each supporter their language's version), the sender's
   texts per second against bare POSTs to the same provider stand-in, and how late thank-yous
   leave while a 100,000-text alert is sent at the configured rate (p99 against 5 s).
10. Folding counter shards: a day's worth of tally and rollup rows in every shard folded into
   shard 0 (rows per second, against writing the same rows), sums checked (``bench/fold.py``).

A full run takes about three minutes, ``--quick`` (smaller sizes) about one and a half.
``--smoke`` runs every section with tiny sizes (about a minute; CI runs it so the bench
cannot silently rot): figures are printed, nothing is asserted about speed.
``--only live`` runs 4-6 only.  Results are printed and written as JSON to bench/results/.

A section that crashes (an exception) or cannot finish (its viewers or screens never got
there, a database check that does not add up) is reported and the others still run; the
exit status is then 1.  A figure below its target never changes the exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    fanout,
    floor,
    fold,
    freshness,
    history,
    imports,
    load,
    outbox,
    report,
    screens,
    servers,
    soak,
    webhooks,
)
from bench.stack import IMPORT_APPEAL, PUBLIC_URL, SHORT_CODE, TWILIO_TOKEN, WEBHOOK_APPEAL, Stack, open_stack
from campaign.inbound import importer

FLOOR_ANSWER = "Thank you! You and 12,345 others stand with Hassan. Reply STOP to opt out."  # TwiML timed
WEBHOOK_TARGET = 0.40  # ours >= 40 % of the minimal endpoint (the ingest issue)
WEBHOOK_CPU_TARGET_MS = 0.25  # server CPU per durable signed webhook (the hot-row issue)
IMPORT_TARGET = 0.50  # import >= 50 % of a raw bulk insert
# Requests per second no 2-core machine reaches on the real ingest; the pool holds this
# many per second of the run so every request stays distinct.
POOL_RATE = 6000
WARMUP_SECONDS = 1
WARMUP_POOL = 4000
FANOUT_BURST_SECONDS = 5.0  # at most; --duration when shorter
SECTIONS = (
    "webhooks", "import", "freshness", "fanout", "screens", "history", "outbox", "fold", "soak", "scaleout",
)  # fmt: skip
DEFAULT_SECTIONS = SECTIONS[:8]  # the soak and scale-out run only when named: they take minutes
GROUPS = {"live": ("freshness", "fanout", "screens"), "all": DEFAULT_SECTIONS}
QUEUE_TARGET_S = 60.0  # seconds to queue an alert to a million subscribers, at most
LANGUAGES_QUEUE_TARGET_S = 60.0  # the same in three languages (issue 13), under
SENDER_TARGET = 0.30  # the sender keeps >= 30 % of bare POSTs to the same stand-in


def sections(text: str) -> list[str]:
    """``--only webhooks,live`` -> the named sections, groups expanded, in run order."""
    named: set[str] = set()
    for name in (part.strip() for part in text.split(",") if part.strip()):
        if name not in SECTIONS and name not in GROUPS:
            choices = ", ".join((*SECTIONS, *GROUPS))
            raise argparse.ArgumentTypeError(f"unknown section {name!r} (choose from {choices})")
        named.update(GROUPS.get(name, (name,)))
    return [name for name in SECTIONS if name in named]


def streams(text: str) -> list[str]:
    """``--stream appeal,campaign`` -> the named fan-out streams, in the order given."""
    named = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in named if name not in fanout.STREAMS]
    if unknown or not named:
        named_wrong = ", ".join(map(repr, unknown)) or repr(text)
        raise argparse.ArgumentTypeError(
            f"unknown stream {named_wrong} (choose from {', '.join(fanout.STREAMS)})"
        )
    return named


def levels(text: str) -> list[int]:
    try:
        values = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of numbers: {text!r}") from None
    if len(values) < 2 or values[0] < 0:
        raise argparse.ArgumentTypeError("at least two levels, none negative, e.g. 0,1,5")
    return values


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes everywhere (~90 s)")
    size.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes everywhere (~1 min): does every section still run to the end? (CI)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on this PostgreSQL server (a scratch database is created and dropped); "
        "default: a SQLite file in a temporary data dir",
    )
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--duration", type=float, help="seconds per load run (default 10, quick 3)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--processes", type=int, default=4, help="Python generator processes (default 4)")
    parser.add_argument("--rows", type=int, help="CSV rows to import (default 50,000, quick 10,000)")
    parser.add_argument(
        "--only",
        type=sections,
        default=list(DEFAULT_SECTIONS),
        metavar="SECTIONS",
        help=f"comma list of sections to run: {', '.join(SECTIONS)}, or live (= freshness,fanout,screens)",
    )
    parser.add_argument("--fresh-webhooks", type=int, help="freshness: webhooks sent (default 200, quick 50)")
    parser.add_argument("--viewers", type=int, help="fan-out: SSE viewers (default 1,000, quick 300)")
    parser.add_argument(
        "--rounds", type=int, help="fan-out: webhooks sent to the viewers (default 5, quick 3)"
    )
    parser.add_argument(
        "--stream",
        type=streams,
        default=list(fanout.DEFAULT_STREAMS),
        metavar="STREAMS",
        help="fan-out: comma list of the streams the viewers watch, in turn: appeal (its own), campaign"
        " (its campaign's sum), all (every appeal's); the burst runs with the first"
        f" (default {','.join(fanout.DEFAULT_STREAMS)})",
    )
    parser.add_argument(
        "--screens", type=levels, help="open live screens per level (default 0,1,5, quick 0,1,3)"
    )
    parser.add_argument(
        "--window", type=float, help="screens: seconds measured per level (default 20, quick 8)"
    )
    parser.add_argument(
        "--trickle", type=float, default=20.0, help="screens: webhooks per second (default 20)"
    )
    parser.add_argument("--soak-seconds", type=float, help="soak: seconds (default 600, quick 60)")
    parser.add_argument(
        "--soak-rate", type=float, default=100.0, help="soak: webhooks per second (default 100)"
    )
    parser.add_argument(
        "--soak-processes", type=int, help="soak: ingest processes (default 1 on SQLite, 2 with --postgres)"
    )
    parser.add_argument(
        "--history-rows",
        type=int,
        help="history: signatures generated (default 1,000,000, quick 200,000; the issue's 10,000,000"
        " with python -m bench.history)",
    )
    parser.add_argument(
        "--subscribers",
        type=int,
        help="outbox: subscribers an alert is queued to (default 1,000,000, quick 100,000)",
    )
    parser.add_argument(
        "--texts", type=int, help="outbox: texts the sender sends (default 5,000, quick 1,000)"
    )
    args = parser.parse_args()

    def size(full: Any, quick: Any, smoke: Any) -> Any:
        return smoke if args.smoke else quick if args.quick else full

    args.soak_seconds = args.soak_seconds or size(600.0, 60.0, 5.0)
    args.soak_processes = args.soak_processes or (2 if args.postgres else 1)  # SQLite: one writer
    args.subscribers = args.subscribers or size(1_000_000, 100_000, 2_000)
    args.texts = min(args.texts or size(5_000, 1_000, 200), args.subscribers)
    args.lanes_seconds = size(20.0, 10.0, 2.0)
    args.duration = args.duration or size(10.0, 3.0, 1.0)
    args.rows = args.rows or size(50_000, 10_000, 1_000)
    args.fresh_webhooks = args.fresh_webhooks or size(200, 50, 10)
    args.viewers = args.viewers or size(1000, 300, 20)
    args.rounds = args.rounds or size(5, 3, 1)
    args.screens = args.screens or size([0, 1, 5], [0, 1, 3], [0, 1])
    args.window = args.window or size(20.0, 8.0, 2.0)
    args.history_rows = args.history_rows or size(1_000_000, 200_000, 5_000)
    args.history_repeats = size(5, 3, 1)
    args.fold_keys = size(5_000, 1_000, 50)
    args.fold_hours = size(2_000, 500, 20)
    return args


class Generator:
    """The chosen load generator with the run's fixed settings."""

    def __init__(self, args: argparse.Namespace, workdir: Path):
        wrk = load.wrk_version()
        if args.generator == "wrk" and wrk is None:
            raise SystemExit("wrk is not installed: apt-get install -y wrk")
        self.use_wrk = wrk is not None and args.generator != "python"
        self.args = args
        self.workdir = workdir
        if self.use_wrk:
            self.name = f"{wrk}, {args.threads} threads, {args.connections} connections"
        else:
            self.name = f"Python asyncio + httpx, {args.processes} processes, {args.connections} connections"

    def run(self, url: str, pool: webhooks.Pool, duration: float) -> load.LoadResult:
        if self.use_wrk:
            return load.run_wrk(
                url,
                pool,
                connections=self.args.connections,
                threads=self.args.threads,
                duration=duration,
                workdir=self.workdir,
            )
        return load.run_python(
            url, pool, connections=self.args.connections, processes=self.args.processes, duration=duration
        )

    @property
    def slices(self) -> int:
        return self.args.threads if self.use_wrk else self.args.processes


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    info = report.machine()
    results: dict[str, Any] = {
        "options": {k: v for k, v in vars(args).items() if k != "postgres"}
        | {"postgres": bool(args.postgres)},
        "machine": info,
    }
    mode = " (quick)" if args.quick else " (smoke: tiny sizes, figures not judged)" if args.smoke else ""
    print("campaign bench" + mode)
    report.line("machine", f"{info['cores']} cores ({info['cores_usable']} usable), {info['platform']}")
    report.line("load average", f"{info['load_average']} at the start (a shared machine shows it here)")
    report.line("python", info["python"])
    report.line("uvicorn", f"{info['uvicorn']}, loop {info['loop']}, http {info['http']} (auto)")
    report.line("sections", ", ".join(args.only))
    failed: dict[str, str] = {}

    def section(name: str, run: Callable[[], dict[str, Any]]) -> None:
        """Run one section; a crash is reported and the next section still runs."""
        if name not in args.only:
            return
        try:
            results[name] = run()
        except Exception as error:  # any crash: the other sections still run, the exit says so
            traceback.print_exc()
            failed[name] = f"crashed: {type(error).__name__}: {str(error).strip()[:300]}"
            results[name] = {"crashed": failed[name]}
            report.line("CRASHED", failed[name])
            return
        trouble = unfinished(name, results[name])
        if trouble:
            failed[name] = trouble

    with open_stack(args.postgres) as stack:
        report.line("storage", f"{stack.database}; embedded Redis (unix socket)")
        results["storage"] = stack.database
        if {"webhooks", "fanout", "scaleout"} & set(args.only):
            generator = Generator(args, stack.root)
            report.line("load generator", generator.name)
            if not generator.use_wrk:
                why = "as asked" if args.generator == "python" else "wrk is not installed"
                print(
                    f"  note: Python load generator ({why}). It cannot load a server as hard as wrk on a\n"
                    "  small machine, so its req/s are a floor. Install wrk: apt-get install -y wrk",
                    flush=True,
                )
            results["generator"] = generator.name
            results["generator_is_wrk"] = generator.use_wrk
        section("webhooks", lambda: bench_webhooks(stack, generator, args))
        section("import", lambda: bench_import(stack, args))
        section("freshness", lambda: bench_freshness(stack, args))
        section("fanout", lambda: bench_fanout(stack, generator, args))
        section("screens", lambda: bench_screens(stack, args))
        section("soak", lambda: bench_soak(stack, args))
        section("scaleout", lambda: bench_scaleout(stack, generator, args))
        section("outbox", lambda: bench_outbox(stack, args))
        section("fold", lambda: bench_fold(stack, args))
    section("history", lambda: bench_history(args))
    results["seconds"] = round(time.monotonic() - began, 1)
    results["load_average_end"] = report.load_average()
    results["failed"] = failed
    report.heading(
        "ratios and targets (same run)"
        + (": smoke sizes are too small for the verdicts to mean anything" if args.smoke else "")
    )
    finished = {k: v for k, v in results.items() if not (isinstance(v, dict) and "crashed" in v)}
    results["ratios"] = ratios(finished)
    path = report.save(results)
    print(
        f"\nwhole run {results['seconds']:.0f} s (load average at the end {results['load_average_end']});"
        f" results in {os.path.relpath(path)}"
    )
    if failed:
        print("\nsections that did not run to the end:", file=sys.stderr)
        for name, why in failed.items():
            print(f"  {name}: {why}", file=sys.stderr)
        sys.exit(1)


def unfinished(name: str, result: dict[str, Any]) -> str:
    """Why a section that returned did not run to the end, or "" (never a figure below target)."""
    problems: list[str] = []
    if result.get("error"):
        problems.append(str(result["error"]))
    if name == "webhooks" and result["ours"]["db_check"] != "ok":
        problems.append("the signatures in the database do not add up to the senders")
    if name == "fold" and result["check"] != "ok":
        problems.append("the folded figures do not add up")
    if name == "import" and result["ours"]["db_check"] != "ok":
        problems.append("the imported rows do not add up")
    if name == "freshness":
        if result["non_2xx"]:
            problems.append(f"{result['non_2xx']} webhooks not answered 2xx")
        if result["endpoints_check"] != "ok":
            problems.append(result["endpoints_check"])
    if name == "fanout":
        for stream, one in [
            ("", result),
            *((f"{k} stream: ", v) for k, v in result.get("others", {}).items()),
        ]:
            if stream and one.get("error"):
                problems.append(stream + str(one["error"]))
            if one["connected"] != one["viewers"]:
                problems.append(f"{stream}{one['connected']} of {one['viewers']} viewers connected")
    if name == "history":
        problems += [
            f"{label}: rollups do not add up ({got['check']})"
            for label, got in result.items()
            if isinstance(got, dict) and "check" in got and got["check"] != "ok"
        ]
    return "; ".join(problems)


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """Each section's figure against its target, one line each."""
    out: dict[str, Any] = {}
    if "outbox" in results:
        o = results["outbox"]
        per_million = o["queue_seconds"] * 1_000_000 / o["subscribers"]
        out["outbox_queue_seconds_per_million"] = report.target_line(
            "outbox: queue, s per million",
            f"{per_million:.1f} s",
            f"<= {QUEUE_TARGET_S:.0f} s",
            per_million <= QUEUE_TARGET_S,
            round(per_million, 2),
        )
        languages_per_million = o["languages_queue_seconds"] * 1_000_000 / o["subscribers"]
        out["outbox_queue_three_languages_seconds_per_million"] = report.target_line(
            "outbox: queue, 3 languages, s/M",
            f"{languages_per_million:.1f} s",
            f"< {LANGUAGES_QUEUE_TARGET_S:.0f} s",
            languages_per_million < LANGUAGES_QUEUE_TARGET_S,
            round(languages_per_million, 2),
        )
        out["outbox_queue_over_raw"] = {"ratio": round(o["raw_queue_seconds"] / o["queue_seconds"], 4)}
        print(
            f"  {'outbox: raw / ours (queue time)':<34} {out['outbox_queue_over_raw']['ratio']:6.1%}",
            flush=True,
        )
        out["outbox_sender_over_bare_posts"] = report.ratio_line(
            "outbox: sender / bare POSTs", o["send_per_second"], o["raw_posts_per_second"], SENDER_TARGET
        )
        lanes = o.get("lanes")
        if lanes:
            p99 = lanes["late_p99_seconds"]
            out["outbox_reply_late_p99_seconds"] = report.target_line(
                "outbox: replies under an alert, p99",
                f"{p99:.2f} s" if p99 is not None else "unsent",
                f"<= {outbox.LANES_TARGET_P99_S:g} s late",
                p99 is not None and p99 <= outbox.LANES_TARGET_P99_S,
                p99,
            )
    if "webhooks" in results:
        out["webhooks_ours_over_minimal"] = report.ratio_line(
            "webhooks: ours / minimal",
            results["webhooks"]["ours"]["per_second"],
            results["webhooks"]["minimal"]["per_second"],
            WEBHOOK_TARGET,
        )
        if not results["generator_is_wrk"]:
            out["webhooks_ours_over_minimal"]["generator_bound"] = True
            print("  (webhooks ratio measured with the Python generator, which is slower than the minimal")
            print("   endpoint: it understates the gap; install wrk for a meaningful ratio)")
        ours_ms = results["webhooks"]["ours"].get("server_cpu_ms_per_request")
        floor_ms = results["webhooks"].get("floor", {}).get("server_cpu_ms_per_request")
        if ours_ms is not None and floor_ms is not None:
            out["webhooks_cpu_ms_per_request"] = report.target_line(
                "webhooks: server CPU per request",
                f"{ours_ms:.3f} ms",
                f"<= {WEBHOOK_CPU_TARGET_MS} ms (floor {floor_ms:.3f})",
                ours_ms <= WEBHOOK_CPU_TARGET_MS,
                ours_ms,
            )
    if "import" in results:
        out["import_ours_over_raw"] = report.ratio_line(
            "CSV import: ours / raw",
            results["import"]["ours"]["per_second"],
            results["import"]["raw"]["per_second"],
            IMPORT_TARGET,
        )
        ceiling = results["import"].get("ceiling_rows_per_second")
        if ceiling:
            share = ceiling / results["import"]["raw"]["per_second"]
            out["import_ceiling_over_raw"] = {"ratio": round(share, 4)}
            print(f"  {'CSV import: ceiling / raw':<34} {share:6.1%}   (library steps only; none goes above)")
            out["import_ours_over_ceiling"] = {
                "ratio": round(results["import"]["ours"]["per_second"] / ceiling, 4)
            }
            print(f"  {'CSV import: ours / ceiling':<34} {out['import_ours_over_ceiling']['ratio']:6.1%}")
    if "freshness" in results:
        fresh = results["freshness"]
        out["freshness_p99_ms"] = report.target_line(
            "freshness: 2xx -> overlay, p99",
            f"{fresh['p99_ms']:.1f} ms",
            f"< {fresh['target_p99_ms']:.0f} ms",
            fresh["met"],
            fresh["p99_ms"],
        )
    if "fanout" in results:
        fan = results["fanout"]
        out["fanout_all_viewers_ms"] = report.target_line(
            f"fan-out: all {fan['viewers']:,} viewers",
            f"{fan['worst_all_ms']:.0f} ms",
            f"< {fan['target_s'] * 1000:.0f} ms",
            fan["met"],
            fan["worst_all_ms"],
        )
        for stream, other in fan.get("others", {}).items():
            out[f"fanout_{stream}_all_viewers_ms"] = report.target_line(
                f"fan-out, {stream}: all {other['viewers']:,}",
                f"{other['worst_all_ms']:.0f} ms",
                f"< {other['target_s'] * 1000:.0f} ms",
                other["met"],
                other["worst_all_ms"],
            )
        if fan["burst"] is not None:
            out["fanout_burst_with_over_without"] = report.target_line(
                "burst: with / without viewers",
                f"{fan['burst_ratio']:.1%}",
                "none in the issue",
                None,
                fan["burst_ratio"],
            )
    if "scaleout" in results:
        for level in results["scaleout"]["levels"]:
            out[f"scaleout_{level['processes']}_ours_over_minimal"] = report.target_line(
                f"{level['processes']} ingest process(es): ours / minimal",
                f"{level['ours_over_minimal']:.1%}" if level["ours_over_minimal"] is not None else "n/a",
                "none in the issue",
                None,
                level["ours_over_minimal"],
            )
    if "soak" in results:
        out["soak_p99_ms"] = report.target_line(
            "soak: p99 at the fixed rate",
            f"{results['soak']['p99_ms']:.1f} ms",
            "none in the issue",
            None,
            results["soak"]["p99_ms"],
        )
    if "history" in results:
        for label in ("SQLite", "PostgreSQL"):
            if label in results["history"]:
                got = results["history"][label]
                out[f"history_worst_p95_ms_{label.lower()}"] = report.target_line(
                    f"history p95, rollups, {label}",
                    f"{got['worst_p95_ms']:.0f} ms",
                    f"< {history.TARGET_MS:.0f} ms",
                    got["met"],
                    got["worst_p95_ms"],
                )
    if "screens" in results:
        scr = results["screens"]
        out["dashboard_cpu_per_screen"] = report.target_line(
            "dashboard CPU per live screen",
            "skipped" if scr["per_screen"] is None else f"{scr['per_screen']:.1%}",
            f"<= {scr['target_per_screen']:.0%} of a core (bench's)",
            scr["met"],
            scr["per_screen"],
        )
    return out


def bench_soak(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    report.heading(
        f"soak: {args.soak_rate:.0f} signed webhooks/s for {args.soak_seconds:.0f} s,"
        f" {args.soak_processes} ingest process(es) and 1 worker (open-loop sender)"
    )
    pool = _pool(stack.root / "soak.pool", int(args.soak_rate * args.soak_seconds) + 1, "+3160")

    def minute(row: dict[str, float]) -> None:
        report.line(
            f"  minute {row['minute']:.0f}",
            f"{row['answered']:,.0f} answered, {row['errors']:.0f} errors,"
            f" p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms",
        )

    result = soak.run_soak(stack, pool, args.soak_rate, args.soak_seconds, args.soak_processes, minute)
    report.lines(soak.soak_lines(result))
    return result.as_json()


def bench_scaleout(stack: Stack, generator: Generator, args: argparse.Namespace) -> dict[str, Any]:
    levels = ", ".join(str(n) for n in soak.SCALE_LEVELS)
    report.heading(
        f"scale-out: ingest with {levels} processes on one port against the minimal endpoint served"
        f" the same way, {args.duration:.0f} s each ({report.machine()['cores']} cores)"
    )
    made = iter(range(1000))

    def make_pool(prefix: str, size: int) -> webhooks.Pool:
        return _pool(stack.root / f"scale-{next(made)}.pool", size, prefix)

    results = soak.run_scaleout(stack, generator.run, make_pool, args.duration, pool_rate=POOL_RATE)
    report.lines(soak.scale_lines(results))
    return {"levels": [level.as_json() for level in results]}


def bench_fold(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    report.heading(
        f"folding counter shards: {args.fold_keys:,} tallies and {args.fold_hours:,} closed hours,"
        f" each in all {fold.shards.SHARDS} shards ({stack.dialect})"
    )
    result = fold.run(stack.runtime.engine, IMPORT_APPEAL, args.fold_keys, args.fold_hours)
    report.lines(fold.lines(result))
    return result.as_json()


def bench_history(args: argparse.Namespace) -> dict[str, Any]:
    # --postgres names the server for the scratch database; by default the local one.
    return history.run(args.history_rows, args.history_repeats, 1, args.postgres)


def bench_outbox(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    report.heading(f"outbox: an alert to {args.subscribers:,} subscribers; {args.texts:,} texts sent")
    result = outbox.run(stack, args.subscribers, args.texts, args.lanes_seconds)
    report.lines(outbox.report_lines(result))
    return result.as_json()


def bench_freshness(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    report.heading(
        f"freshness: webhook 2xx -> new total in the overlay's event stream, {args.fresh_webhooks} webhooks"
    )
    result = freshness.run(stack, args.fresh_webhooks)
    report.lines(freshness.report_lines(result))
    return result.as_json()


def bench_fanout(stack: Stack, generator: Generator, args: argparse.Namespace) -> dict[str, Any]:
    """The first stream with the webhook burst; each further one (a campaign's sum) beside it, rounds only."""
    seconds = min(args.duration, FANOUT_BURST_SECONDS)
    first, *others = args.stream
    report.heading(
        f"SSE fan-out: {args.viewers:,} overlay viewers ({first} stream) on one ingest,"
        f" {args.rounds} webhooks;"
        f" a {seconds:.0f} s webhook burst without and with them"
    )
    burst = fanout.Burst(generator.run, seconds, stack.root)
    result = fanout.run(stack, args.viewers, args.rounds, burst, first)
    report.lines(fanout.report_lines(result))
    found = result.as_json() | {"stream": first, "others": {}}
    for stream in others:
        report.heading(
            f"SSE fan-out: {args.viewers:,} viewers of the {stream} stream ({fanout.STREAMS[stream]}),"
            f" {args.rounds} webhooks, beside the {first} stream's above"
        )
        other = fanout.run(stack, args.viewers, args.rounds, None, stream)
        report.lines(fanout.report_lines(other))
        report.line(
            f"{stream} / {first}",
            f"all viewers, worst {other.worst_all_ms:.0f} ms against {result.worst_all_ms:.0f} ms",
        )
        found["others"][stream] = other.as_json()
    return found


def bench_screens(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    levels = ", ".join(str(n) for n in args.screens)
    report.heading(
        f"dashboard CPU per open /live screen: {levels} screens, {args.window:.0f} s each,"
        f" {args.trickle:.0f} webhooks/s"
    )
    result = screens.run(stack, args.screens, args.window, args.trickle)
    report.lines(screens.report_lines(result))
    return result.as_json()


def bench_webhooks(stack: Stack, generator: Generator, args: argparse.Namespace) -> dict[str, Any]:
    report.heading(f"webhooks: signed Twilio POST /webhooks/twilio, {args.duration:.0f} s per endpoint")
    made = time.monotonic()
    # Warm-up numbers (+3169...) differ from the measured run's (+3161...).
    warmup = _pool(stack.root / "warmup.pool", WARMUP_POOL, "+3169")
    pool = _pool(stack.root / "run.pool", int(POOL_RATE * args.duration), "+3161")
    report.line("requests", f"{len(pool):,} distinct, signed, built in {time.monotonic() - made:.1f} s")
    out: dict[str, Any] = {
        "pool": len(pool),
        "distinct_senders_in_pool": pool.distinct_senders(range(len(pool))),
    }

    with servers.ingest(stack) as server:
        generator.run(server.url, warmup, WARMUP_SECONDS)
        before = webhooks.settled(stack, WEBHOOK_APPEAL, 10.0)
        ours = _measured(generator, server, pool, args.duration)
        after = webhooks.settled(stack, WEBHOOK_APPEAL, 10.0)
        live_total = webhooks.live_total(stack, WEBHOOK_APPEAL, after.signatures, 5.0)
    report.line("ours (campaign ingest)", report.load_line(ours))
    sent = pool.sent(ours.sent_per_slice)
    signers = pool.distinct_senders(sent)
    added = after.signatures - before.signatures
    # Requests still unanswered when the generator stopped may or may not have been stored
    # (uvicorn drops a request whose client left before its body was read), so each of
    # them may be missing from the count, but nothing else may.
    unanswered = max(0, len(sent) - ours.requests)
    consistent = signers - unanswered <= added <= signers and after.tally_total == after.signatures
    check = "ok" if consistent else "MISMATCH"
    report.line(
        "  database check",
        f"{added:,} new signatures for {signers:,} distinct senders in {len(sent):,} requests sent"
        f" ({unanswered} unanswered at the stop): {check}",
    )
    report.line(
        "  tallies",
        f"total {after.tally_total:,} in the database, {live_total:,} in Redis "
        f"({after.signatures:,} signature rows)",
    )
    if ours.wrapped:
        report.line("  note", "the pool ran out; later requests were replays (Twilio retries)")
    out["ours"] = ours.as_json() | {
        "requests_sent": len(sent),
        "distinct_senders_sent": signers,
        "requests_unanswered_at_stop": unanswered,
        "db_new_signatures": added,
        "db_tally_total": after.tally_total,
        "redis_total": live_total,
        "db_check": check,
    }

    with servers.minimal(stack) as server:
        generator.run(server.url, warmup, WARMUP_SECONDS)
        minimal = _measured(generator, server, pool, args.duration)
    report.line("minimal ASGI endpoint", report.load_line(minimal))
    out["minimal"] = minimal.as_json()

    steps = floor.webhook_floor(pool.path, TWILIO_TOKEN, PUBLIC_URL + webhooks.PATH, FLOOR_ANSWER)
    out["floor"] = steps.as_json()
    minimal_ms = minimal.server_cpu_ms_per_request
    if minimal_ms is not None:
        total = minimal_ms + steps.per_item_us / 1000
        out["floor"]["server_cpu_ms_per_request"] = round(total, 4)
        report.line(
            "floor",
            f"{total:.3f} ms server CPU per request: the minimal endpoint's {minimal_ms:.3f}"
            f" + {steps.per_item_us / 1000:.3f} of library steps no webhook can skip",
        )
    report.line("  steps, us", _steps_text(steps))
    return out


def bench_import(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    report.heading(f"CSV import: {args.rows:,} rows (appeal,phone,signed_at)")
    path = stack.root / "signatures.csv"
    imports.write_csv(path, args.rows, IMPORT_APPEAL)
    ours = imports.run_import(stack.runtime, path, IMPORT_APPEAL)
    raw = imports.run_raw(stack.runtime, path, IMPORT_APPEAL)
    report.line(f"ours ({ours.method})", report.import_line(ours))
    check = "ok" if ours.imported == ours.db_signatures == args.rows and not ours.bad_lines else "MISMATCH"
    report.line(
        "  database check",
        f"{ours.imported:,} imported, {ours.bad_lines} bad lines, {ours.db_signatures:,} stored: {check}",
    )
    report.line(raw.method, report.import_line(raw))
    report.line("  method", raw.detail)
    steps = floor.import_floor(path)
    cores = importer.cores()  # the processes the import checked its lines in
    ceiling = floor.import_ceiling(steps, raw.per_second, cores)
    report.line(
        "ceiling",
        f"{ceiling:>9,.0f} rows/s  if ours cost nothing but the library steps of each line"
        f" ({steps.per_item_us:.1f} us) on {cores} cores while they insert it at the raw speed",
    )
    report.line("  steps, us", _steps_text(steps))
    return {
        "ours": ours.as_json() | {"db_check": check},
        "raw": raw.as_json(),
        "floor": steps.as_json(),
        "ceiling_rows_per_second": round(ceiling, 1),
        "cores": cores,
    }


def _steps_text(steps: floor.Floor) -> str:
    return ", ".join(f"{name} {us:.1f}" for name, us in steps.steps.items())


def _pool(path: Path, size: int, number_prefix: str) -> webhooks.Pool:
    return webhooks.build_pool(
        path,
        size,
        token=TWILIO_TOKEN,
        public_url=PUBLIC_URL,
        number_prefix=number_prefix,
        short_code=SHORT_CODE,
    )


def _measured(
    generator: Generator, server: servers.Server, pool: webhooks.Pool, duration: float
) -> load.LoadResult:
    """One load run, with the CPU time the server process spent on it."""
    before = server.cpu_seconds()
    result = generator.run(server.url, pool, duration)
    after = server.cpu_seconds()
    if before is not None and after is not None:
        result.server_cpu_s = after - before
    return result


if __name__ == "__main__":
    main()

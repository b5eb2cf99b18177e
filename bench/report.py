"""What the bench prints and the JSON it keeps: figures and their ratios from one run."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.imports import ImportResult
from bench.load import LoadResult

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """Cores, Python and what uvicorn's "auto" settings pick (uvloop and httptools if importable)."""
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "uvicorn": _version("uvicorn"),
        "loop": f"uvloop {_version('uvloop')}" if _importable("uvloop") else "asyncio",
        "http": f"httptools {_version('httptools')}" if _importable("httptools") else "h11",
        "load_average": load_average(),
    }


def load_average() -> str:
    """1, 5 and 15 minute load averages: other work on a shared machine shows up here."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"


def _importable(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def line(label: str, value: str) -> None:
    print(f"  {label:<22} {value}", flush=True)


def lines(rows: list[tuple[str, str]]) -> None:
    for label, value in rows:
        line(label, value)


def load_line(result: LoadResult) -> str:
    text = (
        f"{result.per_second:>9,.0f} req/s   p50 {result.p50_ms:7.2f} ms   p99 {result.p99_ms:7.2f} ms"
        f"   ({result.requests:,} in {result.duration_s:.1f} s"
    )
    if result.non_200 or result.socket_errors:
        text += f"; {result.non_200:,} not 200, {result.socket_errors:,} socket errors"
    text += ")"
    per_request = result.server_cpu_ms_per_request
    if per_request is not None and result.server_cpu_s is not None:
        busy = result.server_cpu_s / result.duration_s if result.duration_s else 0.0
        text += f"\n{'':25}server CPU {per_request:.3f} ms per request, {busy:.0%} of one core"
    return text


def import_line(result: ImportResult) -> str:
    return f"{result.per_second:>9,.0f} rows/s  ({result.rows:,} rows in {result.seconds:.2f} s)"


def ratio_line(label: str, ours: float, floor: float, target: float) -> dict[str, Any]:
    ratio = ours / floor if floor else 0.0
    verdict = "meets" if ratio >= target else "BELOW"
    print(f"  {label:<34} {ratio:6.1%}   target >= {target:.0%}: {verdict}", flush=True)
    return {"ratio": round(ratio, 4), "target": target, "met": ratio >= target}


def target_line(
    label: str, value: str, target: str, met: bool | None, figure: float | None
) -> dict[str, Any]:
    """A figure against a target that is not a ratio (a latency, a CPU share)."""
    verdict = "n/a" if met is None else "meets" if met else "MISSES"
    print(f"  {label:<34} {value:>8}   target {target}: {verdict}", flush=True)
    return {"value": figure, "target": target, "met": met}


def save(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = results["options"]
    mode = "-quick" if options["quick"] else "-smoke" if options.get("smoke") else ""
    path = RESULTS / f"bench-{stamp}{mode}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    return path

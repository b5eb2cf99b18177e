"""CPU time and memory of processes, read from /proc (Linux only).

The live-screen figures are costs per viewer or per screen, so they need the CPU and
memory of one service process (and of the processes it started: ``campaign dashboard``
runs Streamlit as a child) and of the bench's own client side, to tell whether the
client or the server was the bottleneck.  Every reader returns ``None`` or 0 rather
than failing when a process is gone or /proc is not there.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far (all its threads)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def state(pid: int) -> str | None:
    """The process's state letter (R, S, Z, ...), or None once it is gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` (children, grandchildren, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and all its living descendants, summed."""
    return sum(cpu_seconds(p) or 0.0 for p in [pid, *descendants(pid)])


def command_name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def rss_bytes(pid: int) -> int | None:
    """Resident memory of one process (VmRSS)."""
    try:
        for row in (PROC / str(pid) / "status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def own_cpu_seconds() -> float:
    """CPU time of this (bench) process, all threads; the client side of a measurement."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_open_files(wanted: int) -> int:
    """Raise this process's open-files soft limit towards ``wanted``; returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return int(soft)

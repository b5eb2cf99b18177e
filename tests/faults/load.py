"""Steady load from several sending processes, each keeping a record of what was acknowledged.

Every event is a signed Twilio webhook with its own MessageSid and sender, signed here and
handed to the senders (``tests.faults.sender``), which retry like a provider does.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import twilio_form, twilio_signature
from tests.faults.sender import send


@dataclass
class LoadResult:
    events: int = 0  # distinct events (MessageSids) sent
    requests: int = 0  # HTTP attempts, retries included
    acknowledged: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)  # "200", "503", "error:ConnectError", ...
    gave_up: list[str] = field(default_factory=list)

    def merge(self, data: dict[str, object]) -> None:
        self.events += int(data["events"])  # type: ignore[call-overload]
        self.requests += int(data["requests"])  # type: ignore[call-overload]
        self.acknowledged |= set(data["acknowledged"])  # type: ignore[call-overload]
        self.statuses.update(data["statuses"])  # type: ignore[arg-type]
        self.gave_up += list(data["gave_up"])  # type: ignore[call-overload]


def events(prefix: str, count: int) -> list[tuple[str, str]]:
    """``count`` events: (MessageSid, sender), each sender distinct, numbers drawn from ``prefix``."""
    digits = sum(ord(c) for c in prefix) % 90 + 10  # keeps different faults' numbers apart
    return [(f"SM{prefix}{i:06d}", f"+316{digits}{i:06d}") for i in range(count)]


class Load:
    """``senders`` processes sending ``count`` events at ``rate`` per second in all."""

    def __init__(self, url: str, prefix: str, count: int, rate: float, workdir: Path, senders: int = 3):
        self.url = url
        self.prefix = prefix
        self.workdir = workdir
        every = events(prefix, count)
        context = multiprocessing.get_context("spawn")
        self.processes = []
        for index in range(senders):
            out = workdir / f"load-{prefix}-{index}.json"
            share = [_signed(sid, sender) for sid, sender in every[index::senders]]
            process = context.Process(target=send, args=(url, share, rate / senders, str(out)), daemon=True)
            self.processes.append((process, out))

    def start(self) -> Load:
        """Start the senders; return once every one of them is sending."""
        for process, _ in self.processes:
            process.start()
        deadline = time.monotonic() + 60
        while not all(out.with_suffix(".sending").exists() for _, out in self.processes):
            if time.monotonic() > deadline:
                raise AssertionError("the senders did not start within 60 s")
            time.sleep(0.05)
        return self

    def wait(self, timeout: float = 120.0) -> LoadResult:
        result = LoadResult()
        deadline = time.monotonic() + timeout
        for process, out in self.processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                raise AssertionError(f"a sender did not finish within {timeout:.0f} s")
            result.merge(json.loads(out.read_text()))
        return result


def _signed(sid: str, sender: str) -> tuple[str, dict[str, str], str]:
    form = twilio_form(sid, sender, "JA")
    return sid, form, twilio_signature(form)

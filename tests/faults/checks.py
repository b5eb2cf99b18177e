"""What must hold after every fault, and the figures each fault leaves for the summary."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from campaign.live.changes import epoch_minute, tally_field
from campaign.live.keys import appeal_key
from campaign.runtime import Runtime
from campaign.storage import shards
from campaign.storage.models import Appeal, InboundMessage, Signature, Tally
from tests.faults.load import LoadResult
from tests.faults.servers import wait_for

FIGURES: list[dict[str, Any]] = []
COLUMNS = (
    "fault",
    "events",
    "requests",
    "acknowledged",
    "stored",
    "duplicates",
    "lost",
    "answered_503",
    "answered_500",
    "overlay_reconnects",
)
SLUG = "hassan"


class OverlayWatcher:
    """An overlay viewer: reads the appeal's event stream, reconnecting whenever it breaks."""

    def __init__(self, url: str, slug: str = SLUG):
        self.url = f"{url}/api/v1/appeals/{slug}/stream"
        self.totals: list[int] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> OverlayWatcher:
        self._thread.start()
        wait_for(lambda: self.totals, 20, "the overlay stream's first figure")
        return self

    @property
    def last(self) -> int | None:
        return self.totals[-1] if self.totals else None

    def _run(self) -> None:
        while not self._stop.is_set():
            with (
                contextlib.suppress(httpx.HTTPError, ValueError, KeyError),
                httpx.stream("GET", self.url, timeout=httpx.Timeout(5.0, read=20.0)) as response,
            ):
                if response.status_code != 200:
                    raise ValueError(response.status_code)
                self.connections += 1
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("data:"):
                        self.totals.append(int(json.loads(line[5:])["total"]))
            self._stop.wait(0.5)

    def stop(self) -> None:
        """Stop reading; the thread ends at its next line (a keep-alive at the latest)."""
        self._stop.set()


def database_figures(runtime: Runtime, slug: str = SLUG) -> dict[str, dict[str, int]]:
    """The appeal's tallies in the database, in the live view's field names."""
    oldest = epoch_minute_now() - 60
    with runtime.engine.connect() as connection:
        appeal_id = connection.scalar(select(Appeal.id).where(Appeal.slug == slug))
        rows = connection.execute(shards.summed(Tally.__table__, Tally.appeal_id == appeal_id)).all()
    tally = {tally_field(kind, key): count for _, kind, key, count in rows if kind != "minute"}
    minutes = {key: count for _, kind, key, count in rows if kind == "minute" and int(key) >= oldest}
    return {"tally": tally, "minutes": minutes}


def redis_figures(runtime: Runtime, slug: str = SLUG) -> dict[str, dict[str, int]]:
    tally = runtime.redis.hgetall(appeal_key(slug, "tally"))
    minutes = runtime.redis.hgetall(appeal_key(slug, "minutes"))
    oldest = epoch_minute_now() - 60
    return {
        "tally": {k: int(v) for k, v in tally.items() if k != "updated_at"},  # type: ignore[union-attr]
        "minutes": {k: int(v) for k, v in minutes.items() if int(k) >= oldest},  # type: ignore[union-attr]
    }


def epoch_minute_now() -> int:
    from datetime import UTC, datetime

    return epoch_minute(datetime.now(UTC))


def verify(
    fault: str,
    runtime: Runtime,
    result: LoadResult,
    prefix: str,
    url: str,
    spool: Path,
    watcher: OverlayWatcher,
    *,
    allow_503: bool = True,
    note: str = "",
    extra: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Everything acknowledged is stored once, Redis equals the database, the overlay agrees."""
    wait_for(lambda: not list(spool.glob("*.spool")), 60, "the spool drained")
    with runtime.engine.connect() as connection:
        stored = set(
            connection.scalars(
                select(InboundMessage.provider_message_id).where(
                    InboundMessage.provider_message_id.like(f"SM{prefix}%")
                )
            )
        )
        signed = list(
            connection.scalars(
                select(Signature.provider_message_id).where(
                    Signature.provider_message_id.like(f"SM{prefix}%")
                )
            )
        )
    duplicates = len(signed) - len(set(signed))
    lost = result.acknowledged - set(signed)
    row = {
        "fault": fault,
        "events": result.events,
        "requests": result.requests,
        "acknowledged": len(result.acknowledged),
        "stored": len(set(signed)),
        "duplicates": duplicates,
        "lost": len(lost),
        "answered_503": result.statuses.get("503", 0),
        "answered_500": result.statuses.get("500", 0),
        "overlay_reconnects": max(0, watcher.connections - 1),
        "note": note,
    }
    FIGURES.append(row)
    assert not result.gave_up, (
        f"senders gave up on {len(result.gave_up)} events ({', '.join(result.gave_up[:5])});"
        f" answers: {dict(result.statuses)}"
    )
    assert lost == set(), f"{len(lost)} acknowledged signatures lost"
    assert duplicates == 0
    assert stored == set(signed) == result.acknowledged, "the database holds exactly what was acknowledged"
    assert len(result.acknowledged) == result.events
    unexpected = {
        s: n for s, n in result.statuses.items() if not s.startswith(("2", "error:")) and s != "503"
    }
    assert not unexpected, f"answers other than 2xx or 503: {unexpected}"
    if not allow_503:
        assert "503" not in result.statuses, result.statuses
    wait_for(
        lambda: redis_figures(runtime) == database_figures(runtime), 30, "Redis figures equal the database"
    )
    total = database_figures(runtime)["tally"]["total"]
    wait_for(lambda: watcher.last == total, 30, f"the overlay shows {total}")
    assert max(watcher.totals) <= total, "the overlay never showed more than was stored"
    assert fresh_overlay_total(url) == total
    if extra is not None:
        extra()
    watcher.stop()
    return row


def fresh_overlay_total(url: str, slug: str = SLUG) -> int:
    """A viewer connecting now gets the current total as its first event."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.stream("GET", f"{url}/api/v1/appeals/{slug}/stream", timeout=5) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("data:"):
                    return int(json.loads(line[5:])["total"])
        time.sleep(0.3)
    raise AssertionError("no overlay figure within 20 s")

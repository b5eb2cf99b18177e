"""Dashboard CPU per open live screen: what each wall screen costs the Streamlit server.

Every open ``/live`` page is its own Streamlit session that reruns its board once a
second, so the dashboard's CPU grows with the screens in the room.  With a steady
trickle of webhooks into the ingest (the figures move, as on a campaign night), the
bench opens 0, 1, then more screens in headless Chromium and measures the CPU of the
``campaign dashboard`` process tree (the command and its Streamlit child) over a fixed
window per level; the marginal cost per screen is the slope over the 0-screen level.
Chromium runs on the same machine, so its CPU is reported too: on 2 cores a busy
browser slows the server it measures.

The dashboard is being finished alongside the bench, so when it (or Chromium, or the
Playwright package) is missing the section is skipped with the reason instead of failing.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench import proc, servers
from bench.sse import Signer
from bench.stack import Stack
from bench.webhooks import PATH

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = Path(__file__).resolve().parent.parent / "dashboard" / "pages"
# The bench's own yardstick, not a figure from the issue: a campaign room's five wall
# screens should together cost the dashboard at most half a core.
TARGET_PER_SCREEN = 0.10  # share of one core per open screen
NUMBER_PREFIX = "+3165"
RENDER_TIMEOUT = 45.0  # seconds for a page to show its first chart
SETTLE_SECONDS = 3.0  # after the screens of a level opened, before the window


@dataclass
class Level:
    screens: int
    dashboard_cpu: float  # share of one core over the window, whole process tree
    chromium_cpu: float
    ws_frames_per_screen_s: float  # websocket messages each screen received per second
    webhooks_per_s: float


@dataclass
class ScreensResult:
    skipped: str = ""
    error: str = ""
    window_s: float = 0.0
    rate: float = 0.0
    levels: list[Level] = field(default_factory=list)
    target_per_screen: float = TARGET_PER_SCREEN
    dashboard_log: str = ""  # errors the dashboard and the ingest logged during the section
    ingest_log: str = ""

    @property
    def per_screen(self) -> float | None:
        """Least-squares slope of dashboard CPU over open screens (the marginal cost)."""
        if len(self.levels) < 2:
            return None
        xs = [float(level.screens) for level in self.levels]
        ys = [level.dashboard_cpu for level in self.levels]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        spread = sum((x - mx) ** 2 for x in xs)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else None

    @property
    def met(self) -> bool | None:
        if self.skipped or self.per_screen is None:
            return None
        return not self.error and self.per_screen <= self.target_per_screen

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"per_screen": self.per_screen, "met": self.met}


def missing() -> str:
    """Why the section cannot run here, or "" when it can."""
    if not (PAGES / "live.py").exists():
        return f"the dashboard's live page is not there yet ({PAGES}/live.py)"
    for module in ("streamlit", "dashboard.launch", "playwright.sync_api"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            return f"{module} is not importable"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    return ""


def run(stack: Stack, levels: list[int], window: float, rate: float) -> ScreensResult:
    """Ingest + dashboard + trickle; for each level, open screens up to it and measure."""
    result = ScreensResult(skipped=missing(), window_s=window, rate=rate)
    if result.skipped:
        return result
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with (
            servers.ingest(stack) as ingest,
            servers.dashboard(stack) as dashboard,
            Trickle(ingest.url, rate) as trickle,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                screens: list[Screen] = []
                for level in levels:
                    while len(screens) < level:
                        screens.append(Screen.open(browser, f"{dashboard.url}/live?token={stack.live_token}"))
                    trouble = [s.trouble() for s in screens]
                    if any(trouble):
                        result.error = next(t for t in trouble if t)
                    time.sleep(SETTLE_SECONDS)
                    result.levels.append(_measure(dashboard, screens, trickle, window))
            finally:
                browser.close()
            time.sleep(0.5)
            result.dashboard_log, result.ingest_log = dashboard.log_problems(), ingest.log_problems()
    except (RuntimeError, PlaywrightError, httpx.HTTPError, OSError) as error:
        result.error = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
    return result


class Screen:
    """One wall screen: a browser page on /live, counting the websocket messages it receives."""

    def __init__(self, page: Page):
        self.page = page
        self.frames = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._count))

    def _count(self, _payload: object) -> None:
        self.frames += 1

    @classmethod
    def open(cls, browser: Browser, url: str) -> Screen:
        screen = cls(browser.new_page(viewport={"width": 1920, "height": 1080}))
        screen.page.goto(url, wait_until="domcontentloaded", timeout=RENDER_TIMEOUT * 1000)
        # The board is drawn once its first chart is there.
        screen.page.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=RENDER_TIMEOUT * 1000)
        return screen

    def trouble(self) -> str:
        """An error the page shows (a Streamlit exception box), or ""."""
        box = self.page.query_selector('[data-testid="stException"], [data-testid="stAlertContentError"]')
        return f"the live page shows an error: {box.inner_text()[:200]}" if box else ""


def _measure(dashboard: servers.Server, screens: list[Screen], trickle: Trickle, window: float) -> Level:
    pid = dashboard.process.pid
    frames = sum(s.frames for s in screens)
    sent = trickle.sent
    wall = time.perf_counter()
    server_cpu, browser_cpu = proc.tree_cpu_seconds(pid), _chromium_cpu()
    if screens:  # the sync API delivers the pages' events while it waits
        screens[0].page.wait_for_timeout(window * 1000)
    else:
        time.sleep(window)
    elapsed = time.perf_counter() - wall
    server_cpu = proc.tree_cpu_seconds(pid) - server_cpu
    browser_cpu = _chromium_cpu() - browser_cpu
    received = sum(s.frames for s in screens) - frames
    return Level(
        screens=len(screens),
        dashboard_cpu=round(server_cpu / elapsed, 4),
        chromium_cpu=round(browser_cpu / elapsed, 4),
        ws_frames_per_screen_s=round(received / elapsed / len(screens), 2) if screens else 0.0,
        webhooks_per_s=round((trickle.sent - sent) / elapsed, 1),
    )


def _chromium_cpu() -> float:
    """CPU of the Chromium processes this bench started (below the Playwright driver)."""
    return sum(
        proc.cpu_seconds(pid) or 0.0
        for pid in proc.descendants(os.getpid())
        if proc.command_name(pid).startswith("chrom")
    )


class Trickle:
    """Signed webhooks at a steady ``rate`` per second from a thread, so the figures move."""

    def __init__(self, url: str, rate: float):
        self.url = url
        self.rate = rate
        self.sent = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-trickle", daemon=True)

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        signer = Signer(NUMBER_PREFIX)
        step = 1 / self.rate
        due = time.monotonic()
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while not self._stop.wait(max(0.0, due - time.monotonic())):
                due += step
                body, headers = signer.next()
                try:
                    answer = client.post(PATH, content=body, headers=headers)
                    ok = 200 <= answer.status_code < 300
                except httpx.HTTPError:
                    ok = False
                self.sent += 1
                self.failed += not ok


def report_lines(result: ScreensResult) -> list[tuple[str, str]]:
    if result.skipped:
        return [("skipped", result.skipped)]
    lines: list[tuple[str, str]] = []
    if result.error:
        lines.append(("error", result.error))
    base = result.levels[0].dashboard_cpu if result.levels else 0.0
    for level in result.levels:
        extra = ""
        if level.screens:
            extra = (
                f"   +{level.dashboard_cpu - base:.1%} over 0 screens"
                f" = {(level.dashboard_cpu - base) / level.screens:.1%} each"
            )
        lines.append(
            (
                f"{level.screens} screen{'s' if level.screens != 1 else ''} open",
                f"dashboard CPU {level.dashboard_cpu:6.1%} of one core{extra}"
                f"\n{'':25}Chromium {level.chromium_cpu:.0%}; {level.ws_frames_per_screen_s:.1f} websocket"
                f" messages/s per screen; {level.webhooks_per_s:.1f} webhooks/s",
            )
        )
    lines.append(("logs", f"dashboard: {result.dashboard_log}; ingest: {result.ingest_log}"))
    per_screen = result.per_screen
    if per_screen is not None:
        verdict = "meets" if result.met else "MISSES"
        per_core = f" (~{1 / per_screen:.0f} screens per core)" if per_screen > 0 else ""
        lines.append(
            (
                "CPU per open screen",
                f"{per_screen:6.1%} of one core{per_core}, slope over the levels"
                f"\n{'':25}target <= {result.target_per_screen:.0%} (the bench's yardstick): {verdict}",
            )
        )
    return lines

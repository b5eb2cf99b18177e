"""Durability through real processes: concurrency, a killed ingest, and outages of each store.

Each test runs its own ingest process on a free port (stopped by PID); outages are made
with processes the test owns (its own redis-server, a TCP proxy in front of PostgreSQL),
never by touching the machine's shared services.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select

from campaign.live.rebuild import recount
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage import embedded_redis
from campaign.storage.models import InboundMessage, Signature
from tests.conftest import Backend, free_port, start_ingest, twilio_form, twilio_signature
from tests.faults.servers import TcpProxy

pytestmark = pytest.mark.usefixtures("hassan")


async def send_all(url: str, forms: list[dict[str, str]], concurrency: int = 100) -> list[int | None]:
    """POST signed forms concurrently; None for a request that got no answer."""
    limits = httpx.Limits(max_connections=concurrency)
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:

        async def one(form: dict[str, str]) -> int | None:
            async with semaphore:
                try:
                    response = await http.post(
                        "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(form)}
                    )
                except httpx.HTTPError:
                    return None
                return response.status_code

        return await asyncio.gather(*(one(form) for form in forms))


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.engine.connect() as connection:
        signatures = connection.scalar(select(func.count()).select_from(Signature)) or 0
        messages = connection.scalar(select(func.count()).select_from(InboundMessage)) or 0
    return signatures, messages


def total(runtime: Runtime, slug: str = "hassan") -> int | None:
    figures = runtime.live.figures(slug)
    return figures.signatures if figures is not None else None


def wait_for(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    assert check(), "condition not met in time"  # type: ignore[operator]


def test_500_concurrent_webhooks_with_duplicates_and_retries(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    server = start_ingest(settings, tmp_path / "ingest.log")
    try:
        rng = random.Random(7)
        forms = []
        for i in range(400):  # 400 messages from 300 people; some text twice
            forms.append(twilio_form(f"SMc{i:05d}", f"+316{rng.randrange(300):08d}", "JA"))
        forms += rng.sample(forms, 100)  # 100 provider retries of the same MessageSid
        rng.shuffle(forms)
        statuses = asyncio.run(send_all(server.url, forms))
    finally:
        server.stop()
    assert statuses == [200] * 500
    signers = {form["From"] for form in forms}
    assert counts(runtime) == (len(signers), 400)
    figures = runtime.live.figures("hassan")
    assert figures is not None and figures.signatures == len(signers)
    assert recount(runtime.engine)[(runtime.recorder.directory().by_slug["hassan"].id, "total", "")] == len(
        signers
    )


def test_a_killed_ingest_loses_no_acknowledged_signature(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    server = start_ingest(settings, tmp_path / "ingest.log", port=port)
    forms = [twilio_form(f"SMk{i:05d}", f"+3162{i:07d}", "JA") for i in range(3000)]
    acknowledged: list[str] = []

    async def load() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            semaphore = asyncio.Semaphore(32)

            async def one(form: dict[str, str]) -> None:
                async with semaphore:
                    with contextlib.suppress(httpx.HTTPError):
                        response = await http.post(
                            "/webhooks/twilio",
                            data=form,
                            headers={"X-Twilio-Signature": twilio_signature(form)},
                        )
                        if response.status_code == 200:
                            acknowledged.append(form["MessageSid"])
                            if len(acknowledged) == 200:  # mid-load, however busy the machine
                                killer.start()

            await asyncio.gather(*(one(form) for form in forms))

    killer = threading.Thread(target=lambda: server.stop(kill=True))
    asyncio.run(load())
    if killer.ident is not None:
        killer.join()
    assert 0 < len(acknowledged) < len(forms), "the kill should land mid-load"
    with runtime.engine.connect() as connection:
        stored = set(connection.scalars(select(InboundMessage.provider_message_id)))
        signatures = connection.scalar(select(func.count()).select_from(Signature))
    assert set(acknowledged) <= stored
    assert signatures == len(stored)
    # A new process picks up where the killed one stopped; the live view catches up.
    restarted = start_ingest(settings, tmp_path / "ingest2.log", port=port)
    try:
        wait_for(lambda: total(runtime) == signatures)
    finally:
        restarted.stop()


# -- Redis going away and coming back empty -------------------------------------------------------
@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, callable]]:  # type: ignore[valid-type]
    """A redis-server of this test's own on a free TCP port, which the test may kill."""
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(
            subprocess.Popen(
                [
                    embedded_redis.executable(),
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                cwd=tmp_path,
            )
        )
        wait_for(lambda: _pings(port), timeout=10)

    start()
    yield f"redis://127.0.0.1:{port}/0", start
    for process in processes:
        process.kill()
        process.wait()


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_redis_outage_loses_nothing_and_figures_catch_up(
    backend: Backend,
    settings: Settings,
    runtime: Runtime,
    tmp_path: Path,
    own_redis: tuple[str, callable],  # type: ignore[valid-type]
) -> None:
    url, restart = own_redis
    ours = settings.model_copy(update={"redis_url": url})
    server = start_ingest(ours, tmp_path / "ingest.log")
    try:
        live = Runtime.open(ours, migrate=False)
        wait_for(lambda: live.live.is_ready())
        first = [twilio_form(f"SMr{i}", f"+3163{i:07d}", "JA") for i in range(20)]
        assert asyncio.run(send_all(server.url, first)) == [200] * 20
        wait_for(lambda: total(live) == 20)

        redis.Redis.from_url(url).shutdown(nosave=True)  # Redis dies, and with it every figure
        during = [twilio_form(f"SMr{i}", f"+3163{i:07d}", "JA") for i in range(20, 50)]
        statuses = asyncio.run(send_all(server.url, during))
        assert statuses == [200] * 30, "signatures are stored and thanked while Redis is away"
        assert counts(runtime)[0] == 50

        restart()  # back, empty
        wait_for(lambda: total(live) == 50)
        figures = live.live.figures("hassan")
        assert figures is not None and figures.channels == {"sms": 50}
        live.close()
    finally:
        server.stop()


# -- the database going away: the spool keeps what was acknowledged ------------------------------
def test_database_outage_is_spooled_and_written_when_it_returns(
    backend: Backend, settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    if backend.name != "server":
        pytest.skip("an unreachable database is a server's failure; SQLite is a local file")
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxied = backend.database_url.replace(":5432/", f":{proxy.port}/")
    ours = settings.model_copy(update={"database_url": proxied})
    server = start_ingest(ours, tmp_path / "ingest.log")
    try:
        before = [twilio_form(f"SMd{i}", f"+3164{i:07d}", "JA") for i in range(10)]
        assert asyncio.run(send_all(server.url, before)) == [200] * 10
        proxy.cut()
        during = [twilio_form(f"SMd{i}", f"+3164{i:07d}", "JA") for i in range(10, 40)]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for form in during:
                response = http.post(
                    "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(form)}
                )
                assert response.status_code == 200, response.text
                assert "Hassan" in response.text  # thanked, without a count it cannot know yet
        assert list((ours.spool_dir).glob("*.spool")), "acknowledged texts wait in the spool"
        assert counts(runtime)[0] == 10
        proxy.restore()
        wait_for(lambda: counts(runtime) == (40, 40), timeout=30)
        wait_for(lambda: not list(ours.spool_dir.glob("*.spool")))
        wait_for(lambda: total(runtime) == 40)
    finally:
        server.stop()
        proxy.cut()

"""Faults under a steady load of signed webhooks from several sending processes.

One environment of the suite's own (PostgreSQL behind a TCP proxy, Redis without
persistence, ``campaign ingest --workers 2`` and two ``campaign worker`` processes)
takes faults (a) to (d) in turn; fault (e) runs on the embedded default (SQLite) in a
small tmpfs.  After each fault: the database holds exactly the acknowledged signatures,
Redis equals the database without a manual step, the overlay reconnects and shows the
right total, and no request got a 500.  The figures are printed in the test summary.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from campaign.appeals import registry as appeals
from campaign.live.keys import WORK_GROUP, WORK_STREAM
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage import db
from tests.conftest import PUBLIC_URL, TWILIO_TOKEN, backend_env
from tests.faults.checks import OverlayWatcher, verify
from tests.faults.load import Load
from tests.faults.servers import (
    PostgresServer,
    RedisServer,
    Services,
    TcpProxy,
    open_connections,
    postgres_bin,
    wait_for,
)

RATE = 120.0  # webhooks per second from all senders together
CLAIM_AFTER = 2  # seconds before a stalled worker's entries are claimed by another


def service_env(settings: Settings) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    return {
        **inherited,
        **backend_env(settings),
        "CAMPAIGN_PUBLIC_URL": settings.public_url,
        "CAMPAIGN_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "CAMPAIGN_WORK_CLAIM_AFTER": str(CLAIM_AFTER),
        # The overlay feed open to all: these faults are about figures, not screen links.
        "CAMPAIGN_OVERLAY_TOKENS": "false",
    }


def add_hassan(runtime: Runtime) -> None:
    summary = appeals.add_appeal(
        runtime.engine,
        slug="hassan",
        title="Stop the torture of Hassan",
        campaign="torture",
        person="Hassan",
        keywords=["HASSAN"],
        goal=100000,
        feature_on="4777",
    )
    runtime.live.publish_appeal(summary.public())


@dataclass
class Environment:
    workdir: Path
    settings: Settings
    runtime: Runtime  # the checker's own connections (to PostgreSQL directly, not via the proxy)
    services: Services
    redis_server: RedisServer
    proxy: TcpProxy | None = None

    @property
    def url(self) -> str:
        return self.services.url

    def load(self, prefix: str, count: int) -> Load:
        return Load(self.url, prefix, count, RATE, self.workdir).start()

    def check(
        self, fault: str, result: object, prefix: str, watcher: OverlayWatcher, **kwargs: object
    ) -> None:
        row = verify(
            fault,
            self.runtime,
            result,  # type: ignore[arg-type]
            prefix,
            self.url,
            self.settings.spool_dir,
            watcher,
            **kwargs,  # type: ignore[arg-type]
        )
        problems = [line for line in self.services.logs_text().splitlines() if "Traceback" in line]
        assert not problems, f"a traceback in the service logs after {fault}: {row}"


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    workdir = tmp_path_factory.mktemp("faults")
    postgres = PostgresServer()
    redis_server = RedisServer(workdir)
    proxy: TcpProxy | None = None
    services: Services | None = None
    runtime: Runtime | None = None
    try:
        postgres.start()
        redis_server.start()
        proxy = TcpProxy(("127.0.0.1", postgres.port))
        engine = db.create_db_engine(postgres.url)
        db.upgrade(engine)
        engine.dispose()
        common = {
            "data_dir": workdir / "data",
            "redis_url": redis_server.url,
            "secret_key": "fault-suite-secret-key",
            "public_url": PUBLIC_URL,
            "twilio_auth_token": TWILIO_TOKEN,
            "_env_file": None,
        }
        proxied = postgres.url.replace(f":{postgres.port}/", f":{proxy.port}/")
        settings = Settings.load(database_url=proxied, **common)
        runtime = Runtime.open(Settings.load(database_url=postgres.url, **common), migrate=False)
        add_hassan(runtime)
        services = Services(service_env(settings), workdir)
        services.start_ingest()
        services.start_worker("w1")
        services.start_worker("w2")
        yield Environment(workdir, settings, runtime, services, redis_server, proxy)
    finally:
        if services is not None:
            services.stop()
        if runtime is not None:
            runtime.close()
        if proxy is not None:
            proxy.cut()
        redis_server.kill()
        postgres.stop()


def work_settled(env: Environment) -> bool:
    """Every entry of the work stream read and acknowledged."""
    backlog = env.runtime.live.work_backlog()
    return backlog["pending"] == 0 and backlog["unread"] == 0


# -- (a) an ingest process killed ------------------------------------------------------------------
def test_a_killed_ingest_process(environment: Environment) -> None:
    env = environment
    watcher = OverlayWatcher(env.url).start()
    before = env.services.ingest_pids()
    load = env.load("a", 900)
    time.sleep(2.5)
    # The process serving the most connections at that moment, senders' and overlay's alike.
    held = {pid: open_connections(pid, env.services.port) for pid in before}
    victim = max(held, key=lambda pid: held[pid])
    os.kill(victim, signal.SIGKILL)
    result = load.wait()
    wait_for(lambda: len(env.services.ingest_pids()) == 2 and victim not in env.services.ingest_pids(), 30)
    failed = sum(n for status, n in result.statuses.items() if status.startswith("error:"))
    note = (
        f"ingest process killed holding {held[victim]} of {sum(held.values())} connections;"
        f" {failed} requests failed and were retried; the process was restarted"
    )
    env.check("a: kill -9 ingest", result, "a", watcher, note=note)
    assert result.statuses.get("200", 0) >= result.events


# -- (b) a worker killed mid-batch ---------------------------------------------------------------
def test_b_worker_killed_mid_batch(environment: Environment) -> None:
    env = environment
    watcher = OverlayWatcher(env.url).start()
    client = env.runtime.redis
    victim = env.services.workers["w1"]
    load = env.load("b", 900)
    held = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # catch w1 holding entries it has read but not acknowledged
        if _pending_of(client, "w1"):
            os.kill(victim.pid, signal.SIGSTOP)
            held = _pending_of(client, "w1")
            if held:
                break
            os.kill(victim.pid, signal.SIGCONT)
        time.sleep(0.005)
    assert held, "w1 never held an unacknowledged entry"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    result = load.wait()
    wait_for(lambda: _pending_of(client, "w1") == 0, 30, "w1's entries claimed by another worker")
    wait_for(lambda: work_settled(env), 30, "the work stream fully acknowledged")
    env.services.start_worker("w3")  # a replacement, as a service manager would start
    env.check(
        "b: kill -9 worker",
        result,
        "b",
        watcher,
        allow_503=False,
        note=f"worker killed holding {held} unacknowledged entries; claimed by w2 after {CLAIM_AFTER} s",
    )


def _pending_of(client: redis.Redis, consumer: str) -> int:
    with contextlib.suppress(redis.ResponseError):
        summary = client.xpending(WORK_STREAM, WORK_GROUP)
        for entry in summary.get("consumers", []):  # type: ignore[union-attr]
            if entry["name"] == consumer:
                return int(entry["pending"])
    return 0


# -- (c) Redis restarted with all its data gone -------------------------------------------------------
def test_c_redis_restarted_empty(environment: Environment) -> None:
    env = environment
    watcher = OverlayWatcher(env.url).start()
    load = env.load("c", 900)
    time.sleep(2.5)
    env.redis_server.kill()  # kill -9: nothing persisted, everything gone
    time.sleep(1.5)
    env.redis_server.start()  # back on the same port, empty
    result = load.wait()
    env.check(
        "c: Redis restarted empty",
        result,
        "c",
        watcher,
        allow_503=False,
        note="rebuilt from the database by the ingest's keeper; work group recreated by the workers",
        extra=lambda: wait_for(lambda: work_settled(env), 30, "work stream acknowledged"),
    )


# -- (d) the database unreachable for ten seconds -------------------------------------------------------
def test_d_database_unreachable_for_ten_seconds(environment: Environment) -> None:
    env = environment
    assert env.proxy is not None
    watcher = OverlayWatcher(env.url).start()
    load = env.load("d", 2000)
    time.sleep(2.0)
    env.proxy.cut()
    time.sleep(10.0)
    spooled = len(list(env.settings.spool_dir.glob("*.spool")))
    env.proxy.restore()
    result = load.wait()
    assert spooled > 0, "acknowledged texts waited in the spool"
    env.check(
        "d: database away 10 s",
        result,
        "d",
        watcher,
        note=f"{spooled} spool files written while the database was away, drained after",
    )


# -- (e) the embedded data dir's disk full ------------------------------------------------------------
@pytest.fixture
def full_disk_environment(tmp_path: Path) -> Iterator[tuple[Environment, Path]]:
    mount = Path(f"/tmp/cfault-disk-{os.getpid()}")
    mount.mkdir(exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a small tmpfs for the full-disk fault (needs root): {done.stderr.strip()}")
    redis_server = RedisServer(tmp_path)
    services: Services | None = None
    runtime: Runtime | None = None
    try:
        redis_server.start()
        settings = Settings.load(
            data_dir=mount / "data",
            redis_url=redis_server.url,
            secret_key="fault-suite-secret-key",
            public_url=PUBLIC_URL,
            twilio_auth_token=TWILIO_TOKEN,
            _env_file=None,
        )
        runtime = Runtime.open(settings)  # SQLite in the small tmpfs: the embedded default
        add_hassan(runtime)
        services = Services(service_env(settings), tmp_path)
        services.start_ingest()
        services.start_worker("w1")
        yield Environment(tmp_path, settings, runtime, services, redis_server), mount
    finally:
        if services is not None:
            services.stop()
        if runtime is not None:
            runtime.close()
        redis_server.kill()
        subprocess.run(["umount", "-l", str(mount)], check=False)
        with contextlib.suppress(OSError):
            mount.rmdir()


def test_e_disk_full(full_disk_environment: tuple[Environment, Path]) -> None:
    env, mount = full_disk_environment
    watcher = OverlayWatcher(env.url).start()
    filler = mount / "filler"
    load = env.load("e", 600)
    time.sleep(1.0)
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as handle:  # ENOSPC ends it
        while True:
            handle.write(b"\0" * 65536)
    time.sleep(3.0)
    filler.unlink()
    result = load.wait()
    assert result.statuses.get("503", 0) > 0, f"the full disk was never noticed: {dict(result.statuses)}"
    env.check(
        "e: disk full",
        result,
        "e",
        watcher,
        note="SQLite and the spool on a full tmpfs: answered 503 (retryable), stored on the retry",
    )

"""The live view on a real Redis Cluster: three masters started on free ports, stopped by PID.

``CAMPAIGN_REDIS_URL=redis+cluster://host:port`` names one node; the ingest writes the figures,
announces totals to the event streams, queues the workers' work and, when a master is killed
and comes back empty (no persistence), rebuilds the figures from the database by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from starlette.testclient import TestClient

from campaign.appeals import registry as appeals
from campaign.live.figures import updates
from campaign.live.keys import READY, appeal_key, campaign_key
from campaign.live.reconcile import reconcile
from campaign.live.worker import Worker
from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.app import create_app
from tests.campaign.live.test_live_slots import free_cluster_port
from tests.conftest import PUBLIC_URL, TWILIO_TOKEN, post_twilio, twilio_form
from tests.faults.servers import redis_server_binary, wait_for

SLUGS = ("hassan", "kenya", "maria", "ahmed", "li-wei", "nadia")

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")


@dataclass
class Node:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Its nodes.conf survives a restart (the node keeps its id and slots), its data does not."""
        self.process = subprocess.Popen(
            [
                *(redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        wait_for(self.pings, 10, f"cluster node on {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2)

    def pings(self) -> bool:
        with contextlib.suppress(redis.RedisError), self.client() as client:
            return bool(client.ping())
        return False

    def cluster_ok(self) -> bool:
        with contextlib.suppress(redis.RedisError), self.client() as client:
            info = client.execute_command("CLUSTER INFO")
            state = info.get("cluster_state") if isinstance(info, dict) else None
            return state == "ok" or "cluster_state:ok" in str(info)
        return False


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    made: list[Node] = []
    try:
        for number in range(3):
            workdir = tmp_path_factory.mktemp(f"cluster-node-{number}")
            node = Node(free_cluster_port(), workdir)
            node.start()
            made.append(node)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in made),
                *("--cluster-replicas", "0", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_for(lambda: all(node.cluster_ok() for node in made), 30, "cluster_state:ok on every node")
        yield made
    finally:
        for node in made:
            node.kill()


@pytest.fixture
def cluster_settings(nodes: list[Node], tmp_path: Path, sqlite_template: Path) -> Iterator[Settings]:
    path = tmp_path / "data" / "campaign.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(sqlite_template.read_bytes())
    with RedisCluster(host="127.0.0.1", port=nodes[0].port) as client:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield Settings.load(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{path}",
        redis_url=f"redis+cluster://127.0.0.1:{nodes[0].port}",
        secret_key="test-secret-key",
        public_url=PUBLIC_URL,
        twilio_auth_token=TWILIO_TOKEN,
        thank_you_delay=0,
        _env_file=None,
    )


@pytest.fixture
def cluster_runtime(cluster_settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.open(cluster_settings, migrate=False)
    for number, slug in enumerate(SLUGS):
        summary = appeals.add_appeal(
            runtime.engine,
            slug=slug,
            title=f"Appeal {slug}",
            campaign="torture",
            person=slug,
            keywords=[slug.replace("-", "").upper()],
            feature_on="4777" if number == 0 else None,
        )
        runtime.live.publish_appeal(summary.public())
    yield runtime
    runtime.close()


def sign(http: TestClient, slug: str, count: int, start: int) -> None:
    keyword = slug.replace("-", "").upper()
    for i in range(start, start + count):
        form = twilio_form(f"SMcl{slug}{i}", f"+3161{i:07d}", keyword)
        assert post_twilio(http, form).status_code == 200


def totals(runtime: Runtime) -> dict[str, int]:
    found = {slug: runtime.live.figures(slug) for slug in SLUGS}
    return {slug: figures.signatures for slug, figures in found.items() if figures is not None}


def test_the_url_names_a_cluster_and_the_appeals_spread_over_its_masters(cluster_runtime: Runtime) -> None:
    assert isinstance(cluster_runtime.redis, RedisCluster)
    owners = {
        cluster_runtime.redis.nodes_manager.get_node_from_slot(key_slot(appeal_key(s, "tally").encode())).name
        for s in SLUGS
    }
    assert len(owners) >= 2  # so a lost master loses some appeals and not others


def test_figures_event_stream_and_workers_on_a_cluster(
    cluster_settings: Settings, cluster_runtime: Runtime
) -> None:
    runtime = cluster_runtime

    async def announced(wanted: tuple[str, int]) -> bool:
        """Sign once more for kenya while subscribed; True once its new total is announced
        (a rebuild by the ingest's keeper may announce other totals first)."""
        stream = updates(runtime.redis_url)
        waiting = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.5)  # subscribed
        await asyncio.to_thread(sign, http, "kenya", 1, 100)
        try:
            async with asyncio.timeout(10):
                while await waiting != wanted:
                    waiting = asyncio.ensure_future(anext(stream))
            return True
        finally:
            waiting.cancel()
            await stream.aclose()

    with TestClient(create_app(cluster_settings, runtime), base_url=PUBLIC_URL) as http:
        for number, slug in enumerate(SLUGS):
            sign(http, slug, number + 1, number * 10)
        wait_for(lambda: totals(runtime) == {s: n + 1 for n, s in enumerate(SLUGS)}, 10, "totals in Redis")
        assert runtime.live.is_ready()
        assert asyncio.run(announced(("kenya", 3)))
        runtime.live.ensure_work_group()
        assert Worker(runtime, "cluster", settle=0).run_once(block_ms=10) >= 1
        assert runtime.live.work_backlog() == {"pending": 0, "unread": 0}


def test_a_master_killed_and_restarted_empty_gets_its_figures_back(
    nodes: list[Node], cluster_settings: Settings, cluster_runtime: Runtime
) -> None:
    runtime = cluster_runtime
    client = runtime.redis
    manager = client.nodes_manager  # type: ignore[attr-defined]

    def port_of(key: str) -> int:
        return int(manager.get_node_from_slot(key_slot(key.encode())).port)

    # A master that holds some appeals but not the ready key: only its own marker tells.
    appeal_ports = {port_of(appeal_key(slug, "tally")) for slug in SLUGS}
    victim = next(node for node in nodes if node.port != port_of(READY) and node.port in appeal_ports)
    with TestClient(create_app(cluster_settings, runtime), base_url=PUBLIC_URL) as http:
        for number, slug in enumerate(SLUGS):
            sign(http, slug, number + 1, number * 10)
        expected = {s: n + 1 for n, s in enumerate(SLUGS)}
        wait_for(lambda: totals(runtime) == expected, 10, "totals in Redis")
        victim.kill()
        victim.start()  # empty: no persistence
        wait_for(lambda: all(node.cluster_ok() for node in nodes), 30, "the cluster whole again")
        with victim.client() as direct:
            assert direct.dbsize() == 0

        def rebuilt() -> bool:
            with contextlib.suppress(redis.RedisError):
                return totals(runtime) == expected and runtime.live.is_ready()
            return False

        wait_for(rebuilt, 30, "figures rebuilt from the database")  # by the ingest itself


def test_reconcile_and_campaign_figures_on_a_cluster(
    cluster_settings: Settings, cluster_runtime: Runtime
) -> None:
    runtime = cluster_runtime
    with TestClient(create_app(cluster_settings, runtime), base_url=PUBLIC_URL) as http:
        sign(http, "maria", 2, 0)
        wait_for(lambda: totals(runtime).get("maria") == 2, 10, "maria's total in Redis")
    runtime.redis.hset(appeal_key("maria", "tally"), "total", 99)  # too high: only a forced rebuild lowers it
    differences = reconcile(runtime.engine, runtime.live, runtime.vault)
    assert any("maria" in line and "99" in line for line in differences)
    assert totals(runtime)["maria"] == 2 and runtime.live.is_ready()
    runtime.live.apply_campaigns({"torture": {"social:facebook:join": 5}})
    runtime.live.apply_campaigns({"torture": {"social:facebook:join": 3}})  # a max-register: stays 5
    assert runtime.redis.hget(campaign_key("torture", "tally"), "social:facebook:join") == "5"

"""Redis Cluster: each appeal's keys (and each campaign's) fall in one hash slot.

The slot is what redis-py's cluster client computes, checked against ``CLUSTER KEYSLOT`` of a
real redis-server started in cluster mode on a free port.
"""

from __future__ import annotations

import random
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from campaign.live.keys import NETWORK_TALLY, WORK_STREAM, appeal_key, campaign_key
from tests.faults.servers import redis_server_binary, wait_for

APPEAL_PARTS = ("meta", "tally", "minutes", "seconds", "recent")


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too, and below 65536."""
    for _ in range(200):
        port = random.randint(20_000, 50_000)
        try:
            with socket.socket() as client_port, socket.socket() as bus_port:
                client_port.bind(("127.0.0.1", port))
                bus_port.bind(("127.0.0.1", port + 10_000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports for a cluster node")


@pytest.fixture(scope="module")
def cluster_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    workdir: Path = tmp_path_factory.mktemp("cluster")
    port = free_cluster_port()
    process = subprocess.Popen(
        [
            *(redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"),
            *("--cluster-config-file", str(workdir / "nodes.conf"), "--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
        cwd=workdir,
    )
    client = redis.Redis(port=port, decode_responses=True, socket_timeout=2)

    def pings() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_for(pings, 10, "redis-server in cluster mode")
        yield client
    finally:
        client.close()
        process.kill()
        process.wait()


@pytest.mark.parametrize("slug", ["hassan", "kenya-2024", "ünïcode", "a:b}{c"])
def test_an_appeals_keys_share_one_slot(cluster_node: redis.Redis, slug: str) -> None:
    keys = [appeal_key(slug, part) for part in APPEAL_PARTS]
    slots = {key_slot(key.encode()) for key in keys}
    assert len(slots) == 1
    assert {cluster_node.execute_command("CLUSTER KEYSLOT", key) for key in keys} == slots


def test_campaign_network_and_work_keys_each_have_a_fixed_slot(cluster_node: redis.Redis) -> None:
    for key in (campaign_key("torture", "tally"), NETWORK_TALLY, WORK_STREAM):
        assert cluster_node.execute_command("CLUSTER KEYSLOT", key) == key_slot(key.encode())
    assert key_slot(appeal_key("hassan", "tally").encode()) != key_slot(appeal_key("kenya", "tally").encode())

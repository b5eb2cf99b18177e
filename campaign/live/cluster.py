"""Redis Cluster: ``CAMPAIGN_REDIS_URL=redis+cluster://host:port`` (``rediss+cluster://`` with TLS).

redis-py's ``RedisCluster`` speaks the same commands as a plain client; the key layout
(``campaign.live.keys``) keeps each appeal, each campaign, the network tally, the work
stream and the ready/building pair in one hash slot each, so every pipeline, script and
transaction of the live view stays within one slot.

What a single server does not need: a master of a cluster without persistence can come
back empty while the others kept their keys, so the one ready key (on one master) is not
enough to notice.  Each master therefore holds a marker of its own (``node_marker``), set
when the view was built; a missing one reads as "not ready" and the view is rebuilt from
the database, with no manual step.  Pub/sub messages reach every node of a cluster, so the
event streams subscribe on the seed node of the URL (``subscription_url``).
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from campaign.live.keys import node_marker

SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
MARKER_TRIES = 100_000  # numbers tried to find a marker key in each master's slots


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES


def plain_url(url: str) -> str:
    """``redis+cluster://h:p`` -> ``redis://h:p`` (what redis-py's clients take)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=SCHEMES.get(parts.scheme, parts.scheme)))


def connect(url: str, **kwargs: Any) -> redis.Redis:
    """A cluster client behind the plain client's interface (the commands used are the same)."""
    return cast(redis.Redis, RedisCluster.from_url(plain_url(url), decode_responses=True, **kwargs))


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


def markers(client: redis.Redis) -> list[str]:
    """One marker key per master, each in a slot that master serves (as the client knows it)."""
    cluster = cast(RedisCluster, client)
    masters = {node.name for node in cluster.get_primaries()}
    found: dict[str, str] = {}
    for number in range(MARKER_TRIES):
        key = node_marker(number)
        owner = cluster.nodes_manager.get_node_from_slot(key_slot(key.encode()))
        if owner is not None and owner.name in masters and owner.name not in found:
            found[owner.name] = key
            if len(found) == len(masters):
                break
    return sorted(found.values())

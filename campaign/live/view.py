"""The live view in Redis: the one façade the rest of the system uses.

The database is the source of truth; Redis is a fast copy that can be rebuilt at any
time.  ``LiveView`` puts together the parts, each in its own module:

- ``campaign.live.keys``: every Redis key name (the layout is described there);
- ``campaign.live.writes``: a commit's changes copied to Redis as max-registers;
- ``campaign.live.figures``: the figures read back for the API and the screens;
- ``campaign.live.rebuild``: Redis rebuilt from the database, and the database recounted;
- ``campaign.live.work``: the workers' queue (a Redis stream with a consumer group).
"""

from __future__ import annotations

from typing import Any

import redis

from campaign.live import cluster
from campaign.live.rebuild import LiveRebuild
from campaign.live.work import WorkQueue


def connect(url: str, **kwargs: Any) -> redis.Redis:
    """A client for ``url``: one Redis server, or a Redis Cluster (``redis+cluster://``)."""
    kwargs.setdefault("socket_timeout", 2)
    kwargs.setdefault("socket_connect_timeout", 2)
    kwargs.setdefault("health_check_interval", 10)
    if cluster.is_cluster_url(url):
        return cluster.connect(url, **kwargs)
    return redis.Redis.from_url(url, decode_responses=True, **kwargs)


class LiveView(LiveRebuild, WorkQueue):
    """Reads and writes the live figures; every Redis command of the system is in its parts."""

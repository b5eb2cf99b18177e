"""Every Redis key name of the system, and how much each key keeps (DESIGN rule 2).

Key layout (each appeal's keys share one Redis Cluster hash slot through ``{a:slug}``)::

    campaign:appeals                 set of appeal slugs
    campaign:{a:SLUG}:meta           hash: title, person, campaign, goal, status
    campaign:{a:SLUG}:tally          hash: total, channel:sms, country:NL, updated_at
    campaign:{a:SLUG}:minutes        hash: epoch minute -> signatures (last hour)
    campaign:{a:SLUG}:seconds        hash: epoch second -> signatures (last two minutes)
    campaign:{a:SLUG}:recent         list: the latest signatures (JSON), numbers masked
    campaign:{c:SLUG}:tally          hash: social:facebook:join, visits:facebook, ... per campaign
    campaign:{network}:tally         hash: members
    campaign:{live}:ready            set once the view was built from the database
    campaign:{live}:building         token of the rebuild under way (a flush midway voids it);
                                     one slot with ``ready``: marking it ready WATCHes this
    campaign:{live:N}:ready          on a Redis Cluster, one more per master (N picked so the
                                     key falls in that master's slots): a master that came
                                     back empty has lost its own, and the view is rebuilt
    campaign:updates:DB              pub/sub channel: {"appeal": slug, "total": n}; pub/sub ignores
                                     database numbers, so the channel names the one it is about
    campaign:{work}:stream           stream: one entry per commit, for the workers (group "workers")
"""

from __future__ import annotations

import redis
import redis.asyncio

PREFIX = "campaign"
APPEALS = f"{PREFIX}:appeals"
READY = f"{PREFIX}:{{live}}:ready"
BUILDING = f"{PREFIX}:{{live}}:building"
# Bumped by every appeal edit's publish and rebuild: a rebuild keeps meta newer than its snapshot.
META_VERSION = f"{PREFIX}:{{meta}}:version"
NETWORK_TALLY = f"{PREFIX}:{{network}}:tally"
WORK_STREAM = f"{PREFIX}:{{work}}:stream"
WORK_GROUP = "workers"

WORK_KEPT = 10_000  # stream entries kept (approximately); acknowledged work is history only
RECENT_LENGTH = 30  # entries of an appeal's ``recent`` list
MINUTES_KEPT = 60  # fields of an appeal's ``minutes`` hash (the live hour)
# Minutes the database keeps a per-minute tally for (``campaign.live.minute_tallies``): the live
# hour is rebuilt from them; older minutes are read by nothing (History uses the rollups), so an
# import of old signatures writes none, and the workers delete the old ones.  Two hours: the
# live hour with an hour's margin.
MINUTE_TALLIES_KEPT = 120
SECONDS_KEPT = 120  # lifetime of an appeal's ``seconds`` hash


def appeal_key(slug: str, part: str) -> str:
    return f"{PREFIX}:{{a:{slug}}}:{part}"


def appeal_of_key(key: str) -> str:
    """The appeal slug an ``appeal_key`` names."""
    return key.split("{a:", 1)[1].rsplit("}", 1)[0]


def campaign_key(slug: str, part: str) -> str:
    return f"{PREFIX}:{{c:{slug}}}:{part}"


def node_marker(number: int) -> str:
    """A per-master ready marker of a Redis Cluster (see ``campaign.live.cluster``)."""
    return f"{PREFIX}:{{live:{number}}}:ready"


def updates_channel(client: redis.Redis | redis.asyncio.Redis) -> str:
    """The pub/sub channel of the client's database number (deployments may share a server).

    A Redis Cluster has no connection pool of its own and only database 0.
    """
    pool = getattr(client, "connection_pool", None)
    return f"{PREFIX}:updates:{pool.connection_kwargs.get('db', 0) if pool is not None else 0}"

"""The workers' queue: a Redis stream with one consumer group (see ``campaign.live.worker``).

One entry per commit, appended before it; a worker reads an entry, checks that Redis shows
what the database committed, and acknowledges it.  Entries a worker read but did not
acknowledge are claimed by another after a while, so a worker killed mid-batch loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis

from campaign.live.keys import WORK_GROUP, WORK_KEPT, WORK_STREAM


class WorkQueue:
    """The work stream (a Redis Streams consumer group)."""

    redis: redis.Redis

    def queue_work(self, appeals: Iterable[str] = ()) -> None:
        """Announce a commit about to happen; "*" (no appeals named) means any appeal."""
        named = ",".join(sorted(appeals)) or "*"
        self.redis.xadd(WORK_STREAM, {"appeals": named}, maxlen=WORK_KEPT, approximate=True)

    def ensure_work_group(self) -> None:
        """Create the workers' group (and the stream) unless there; from the first entry on."""
        try:
            self.redis.xgroup_create(WORK_STREAM, WORK_GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def read_work(self, consumer: str, count: int, block_ms: int) -> list[tuple[str, dict[str, str]]]:
        """New entries for this consumer; they stay pending until ``ack_work``."""
        answer: Any = self.redis.xreadgroup(
            WORK_GROUP, consumer, {WORK_STREAM: ">"}, count=count, block=block_ms
        )
        return [entry for _, entries in answer or [] for entry in entries]

    def claim_stalled_work(self, consumer: str, idle_ms: int, count: int) -> list[tuple[str, dict[str, str]]]:
        """Take over entries another consumer read but did not acknowledge within ``idle_ms``."""
        answer: Any = self.redis.xautoclaim(WORK_STREAM, WORK_GROUP, consumer, idle_ms, "0-0", count=count)
        return [entry for entry in answer[1] if entry[1] is not None]  # deleted entries come back as None

    def ack_work(self, ids: list[str]) -> None:
        if ids:
            self.redis.xack(WORK_STREAM, WORK_GROUP, *ids)

    def work_backlog(self) -> dict[str, int]:
        """Pending (read, unacknowledged) entries, and entries not yet read by the group."""
        groups: Any = self.redis.xinfo_groups(WORK_STREAM)
        for group in groups:
            if group["name"] == WORK_GROUP:
                lag = group.get("lag")  # Redis 7; counted by hand on 6.2
                if lag is None:
                    lag = len(self.redis.xrange(WORK_STREAM, f"({group['last-delivered-id']}", "+"))  # type: ignore[arg-type]
                return {"pending": int(group["pending"]), "unread": int(lag)}
        return {"pending": 0, "unread": int(self.redis.xlen(WORK_STREAM))}

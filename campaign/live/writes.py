"""Writing the live figures to Redis: a commit's changes, campaign tallies, appeals' fields.

Tallies only grow, so Redis keeps each one as a *max-register*: a write sets a field only
when the new value is larger.  Writes from several processes can then arrive in any order,
be repeated, or follow a Redis restart, and still converge on the database's figures
without locks.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import redis

from campaign.live import cluster
from campaign.live.changes import LiveChanges, Signed
from campaign.live.keys import (
    APPEALS,
    META_VERSION,
    MINUTES_KEPT,
    NETWORK_TALLY,
    RECENT_LENGTH,
    SECONDS_KEPT,
    appeal_key,
    campaign_key,
    updates_channel,
)

# Set each field only if the new value is larger; report whether the total moved.
# KEYS[1] an appeal's meta; ARGV[1] the version of what is written, ARGV[2] 'edit' (always
# written: it is the database's latest) or 'rebuild' (not over newer meta), then field/value pairs.
PUBLISH_META = """
local current = tonumber(redis.call('HGET', KEYS[1], '_version') or '0')
if ARGV[2] == 'rebuild' and current > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return 1
"""
MAX_SET = """
local changed = 0
for i = 1, #ARGV - 1, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    if ARGV[i] == 'total' then changed = 1 end
  end
end
if changed == 1 then redis.call('HSET', KEYS[1], 'updated_at', ARGV[#ARGV]) end
return changed
"""


class LiveWrites:
    """Copies what the database committed to Redis, as max-registers, and announces moved totals."""

    def __init__(self, client: redis.Redis):
        self.redis = client
        self._max_set = client.register_script(MAX_SET)
        self.updates_channel = updates_channel(client)

    def apply(self, changes: LiveChanges, *, now: float | None = None) -> None:
        """Copy tally values after a commit to Redis and announce moved totals."""
        if not changes:
            return
        stamp = iso_stamp(now)
        oldest_minute = int(time.time() if now is None else now) // 60 - MINUTES_KEPT
        pipe = self.redis.pipeline(transaction=False)
        announcements = []
        for scope, values in changes.tallies.items():
            self._queue_tally(pipe, scope, values, stamp, oldest_minute)
            if scope != "*" and "total" in values:
                announcements.append(json.dumps({"appeal": scope, "total": values["total"]}))
        seconds: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        latest: dict[str, list[str]] = defaultdict(list)
        for signed in changes.signed:
            seconds[signed.appeal_slug][int(signed.received_at.timestamp())] += 1
            latest[signed.appeal_slug].append(ticker_entry(signed))
        for slug, entries in latest.items():  # one push per appeal, however big the batch
            pipe.lpush(appeal_key(slug, "recent"), *entries[-RECENT_LENGTH:])
            pipe.ltrim(appeal_key(slug, "recent"), 0, RECENT_LENGTH - 1)
        for slug, counts in seconds.items():
            key = appeal_key(slug, "seconds")
            for second, count in counts.items():
                pipe.hincrby(key, str(second), count)
            pipe.expire(key, SECONDS_KEPT)
        self._execute_and_announce(pipe, announcements)

    def _execute_and_announce(self, pipe: Any, announcements: list[str]) -> None:
        """Run the pipeline and publish; a cluster pipeline takes no PUBLISH, so it follows it."""
        if cluster.is_cluster(self.redis):
            pipe.execute()
            for message in announcements:
                self.redis.publish(self.updates_channel, message)
            return
        for message in announcements:
            pipe.publish(self.updates_channel, message)
        pipe.execute()

    def _queue_tally(
        self, pipe: Any, scope: str, values: Mapping[str, int], stamp: str, oldest_minute: int
    ) -> None:
        """Queue max-register writes; minutes older than the live hour stay in the database only."""

        # EVAL rather than EVALSHA: one round trip, and nothing to reload after a Redis restart
        # (and as a plain command: a cluster pipeline routes it by its key, but has no .eval()).
        def max_set(key: str, fields: Mapping[str, int]) -> None:
            args = [a for item in fields.items() for a in item]
            pipe.execute_command("EVAL", MAX_SET, 1, key, *args, stamp)

        if scope == "*":
            max_set(NETWORK_TALLY, values)
            return
        plain = {k: v for k, v in values.items() if not k.startswith("minute:")}
        minutes = {
            k[7:]: v for k, v in values.items() if k.startswith("minute:") and int(k[7:]) >= oldest_minute
        }
        if plain:
            max_set(appeal_key(scope, "tally"), plain)
        if minutes:
            max_set(appeal_key(scope, "minutes"), minutes)

    def apply_campaigns(self, tallies: Mapping[str, Mapping[str, int]], *, now: float | None = None) -> None:
        """Copy campaign tallies (social activity, visits) after a commit, as max-registers."""
        if not tallies:
            return
        stamp = iso_stamp(now)
        pipe = self.redis.pipeline(transaction=False)
        for slug, values in tallies.items():
            args = [a for item in values.items() for a in item]
            pipe.execute_command("EVAL", MAX_SET, 1, campaign_key(slug, "tally"), *args, stamp)
        self._execute_and_announce(pipe, [json.dumps({"campaign": slug}) for slug in tallies])

    def publish_appeal(self, info: Mapping[str, Any], *, as_of: int | None = None) -> bool:
        """Store an appeal's descriptive fields (title, goal, private, ...) for the screens.

        An edit's publish takes a new version.  A rebuild passes ``as_of``, the version it took
        before reading its database snapshot: meta published since then (by an edit, or by a
        rebuild that began later) is newer than the snapshot and kept, so a slow rebuild never
        brings back an old title or makes a private appeal public again.  False when kept.
        """
        slug = info["slug"]
        meta = {k: "" if v is None else str(v) for k, v in info.items() if k != "slug"}
        version = int(self.redis.incr(META_VERSION)) if as_of is None else as_of
        fields = [item for pair in {"slug": slug, "_version": str(version), **meta}.items() for item in pair]
        # One script: readers never see the meta half-written, and the version check is atomic.
        key = appeal_key(slug, "meta")
        how = "edit" if as_of is None else "rebuild"
        written = bool(self.redis.execute_command("EVAL", PUBLISH_META, 1, key, version, how, *fields))
        self.redis.sadd(APPEALS, slug)
        return written

    def forget_recent(self, entries: Mapping[str, Iterable[tuple[str, datetime]]]) -> int:
        """Remove ticker entries of erased supporters: (masked number, time) per appeal slug."""
        removed = 0
        for slug, shown in entries.items():
            wanted = {(masked, at.astimezone(UTC).isoformat(timespec="seconds")) for masked, at in shown}
            key = appeal_key(slug, "recent")
            if self.redis.type(key) != "list":
                continue
            for raw in set(self.redis.lrange(key, 0, -1)):
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                if (entry.get("number"), entry.get("at")) in wanted:
                    removed += int(self.redis.lrem(key, 0, raw))  # type: ignore[arg-type]
        return removed

    def announce_milestone(self, scope: str, milestone: int, at: str) -> None:
        """Tell every process's viewers that ``scope`` passed ``milestone`` (claimed once before)."""
        message = {"scope": scope, "milestone": milestone, "at": at}
        self.redis.publish(self.updates_channel, json.dumps(message))

    def _announce_total(self, slug: str, total: int) -> None:
        self.redis.publish(self.updates_channel, json.dumps({"appeal": slug, "total": total}))


def ticker_entry(signed: Signed) -> str:
    return json.dumps(
        {
            "number": signed.masked,
            "country": signed.country,
            "channel": signed.channel,
            "at": signed.received_at.astimezone(UTC).isoformat(timespec="seconds"),
        },
        ensure_ascii=False,
    )


def iso_stamp(now: float | None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return moment.isoformat(timespec="seconds")

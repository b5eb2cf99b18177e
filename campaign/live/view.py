"""The live view in Redis: the only module that knows Redis key names.

The database is the source of truth; Redis is a fast copy that can be rebuilt at any
time.  Tallies only grow, so Redis keeps each one as a *max-register*: a write sets a
field only when the new value is larger.  Writes from several processes can then arrive
in any order, be repeated, or follow a Redis restart, and still converge on the
database's figures without locks.

Key layout (each appeal's keys share one Redis Cluster hash slot through ``{a:slug}``)::

    campaign:appeals                 set of appeal slugs
    campaign:{a:SLUG}:meta           hash: title, person, campaign, goal, status
    campaign:{a:SLUG}:tally          hash: total, channel:sms, country:NL, updated_at
    campaign:{a:SLUG}:minutes        hash: epoch minute -> signatures (last hour)
    campaign:{a:SLUG}:seconds        hash: epoch second -> signatures (last two minutes)
    campaign:{a:SLUG}:recent         list: the latest signatures (JSON), numbers masked
    campaign:{c:SLUG}:tally          hash: social:facebook:join, visits:facebook, ... per campaign
    campaign:{network}:tally         hash: members
    campaign:live:ready              set once the view was built from the database
    campaign:live:building           token of the rebuild under way (a flush midway voids it)
    campaign:updates:DB              pub/sub channel: {"appeal": slug, "total": n}; pub/sub ignores
                                     database numbers, so the channel names the one it is about
    campaign:{work}:stream           stream: one entry per commit, for the workers (group "workers")
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import redis.asyncio
from sqlalchemy import Engine, func, select

from campaign.activity.geo import country_name
from campaign.live.changes import LiveChanges, Signed, epoch_minute, tally_field
from campaign.storage.models import (
    NETWORK,
    Appeal,
    Campaign,
    CampaignTally,
    Signature,
    SocialEvent,
    Supporter,
    Tally,
)
from campaign.supporters.phones import PhoneVault, mask, normalise

PREFIX = "campaign"
APPEALS = f"{PREFIX}:appeals"
READY = f"{PREFIX}:live:ready"
BUILDING = f"{PREFIX}:live:building"
NETWORK_TALLY = f"{PREFIX}:{{network}}:tally"
WORK_STREAM = f"{PREFIX}:{{work}}:stream"
WORK_GROUP = "workers"
WORK_KEPT = 10_000  # stream entries kept (approximately); acknowledged work is history only
RECENT_LENGTH = 30
MINUTES_KEPT = 60
SECONDS_KEPT = 120

# Set each field only if the new value is larger; report whether the total moved.
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


def appeal_key(slug: str, part: str) -> str:
    return f"{PREFIX}:{{a:{slug}}}:{part}"


def campaign_key(slug: str, part: str) -> str:
    return f"{PREFIX}:{{c:{slug}}}:{part}"


SOCIAL_PLATFORMS = frozenset({"facebook", "instagram", "flickr", "twitter", "youtube", "tiktok", "whatsapp"})


@dataclass
class CampaignFigures:
    """A campaign's live social figures: activity per platform and kind, web visits by referrer."""

    slug: str
    social: dict[str, dict[str, int]] = field(default_factory=dict)  # platform -> kind -> count
    visits: dict[str, int] = field(default_factory=dict)  # referring platform or "direct" -> count

    @property
    def visits_from_social(self) -> float | None:
        """Share of web visits referred by a social platform (the "15% through Facebook")."""
        total = sum(self.visits.values())
        if not total:
            return None
        return sum(n for k, n in self.visits.items() if k in SOCIAL_PLATFORMS) / total

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.slug,
            "social": self.social,
            "visits": self.visits,
            "visits_from_social": self.visits_from_social,
        }


def connect(url: str, **kwargs: Any) -> redis.Redis:
    kwargs.setdefault("socket_timeout", 2)
    kwargs.setdefault("socket_connect_timeout", 2)
    kwargs.setdefault("health_check_interval", 10)
    return redis.Redis.from_url(url, decode_responses=True, **kwargs)


@dataclass
class AppealFigures:
    """An appeal's live figures as the API and the screens show them."""

    slug: str
    title: str = ""
    person: str = ""
    campaign: str = ""
    status: str = ""
    goal: int | None = None
    signatures: int = 0
    last_minute: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    countries: list[dict[str, Any]] = field(default_factory=list)
    per_minute: list[dict[str, Any]] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)
    updated_at: str | None = None

    def as_json(self, *, detail: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "slug": self.slug,
            "title": self.title,
            "person": self.person,
            "campaign": self.campaign,
            "status": self.status,
            "goal": self.goal,
            "signatures": self.signatures,
            "signatures_last_minute": self.last_minute,
            "channels": self.channels,
            "top_countries": self.countries,
            "updated_at": self.updated_at,
        }
        if detail:
            data["per_minute"] = self.per_minute
            data["recent"] = self.recent
        return data


async def updates(url: str) -> AsyncIterator[tuple[str, int]]:
    """Moved totals as the write path announces them: (appeal slug, total), until cancelled."""
    client = redis.asyncio.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(updates_channel(client))
        async for message in pubsub.listen():
            try:
                data = json.loads(message["data"])
                yield str(data["appeal"]), int(data["total"])
            except (ValueError, KeyError, TypeError):
                continue  # not ours; the channel is public to every Redis client
    finally:
        await pubsub.aclose()
        await client.aclose()


def updates_channel(client: redis.Redis | redis.asyncio.Redis) -> str:
    """The pub/sub channel of the client's database number (deployments may share a server)."""
    return f"{PREFIX}:updates:{client.connection_pool.connection_kwargs.get('db', 0)}"


class LiveView:
    """Reads and writes the live figures; every Redis command of the system is here."""

    def __init__(self, client: redis.Redis):
        self.redis = client
        self._max_set = client.register_script(MAX_SET)
        self.updates_channel = updates_channel(client)

    # -- writes -----------------------------------------------------------------------------
    def apply(self, changes: LiveChanges, *, now: float | None = None) -> None:
        """Copy tally values after a commit to Redis and announce moved totals."""
        if not changes:
            return
        stamp = _iso(now)
        oldest_minute = int(time.time() if now is None else now) // 60 - MINUTES_KEPT
        pipe = self.redis.pipeline(transaction=False)
        for scope, values in changes.tallies.items():
            self._queue_tally(pipe, scope, values, stamp, oldest_minute)
            if scope != "*" and "total" in values:
                pipe.publish(self.updates_channel, json.dumps({"appeal": scope, "total": values["total"]}))
        seconds: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        latest: dict[str, list[str]] = defaultdict(list)
        for signed in changes.signed:
            seconds[signed.appeal_slug][int(signed.received_at.timestamp())] += 1
            latest[signed.appeal_slug].append(_ticker_entry(signed))
        for slug, entries in latest.items():  # one push per appeal, however big the batch
            pipe.lpush(appeal_key(slug, "recent"), *entries[-RECENT_LENGTH:])
            pipe.ltrim(appeal_key(slug, "recent"), 0, RECENT_LENGTH - 1)
        for slug, counts in seconds.items():
            key = appeal_key(slug, "seconds")
            for second, count in counts.items():
                pipe.hincrby(key, str(second), count)
            pipe.expire(key, SECONDS_KEPT)
        pipe.execute()

    def _queue_tally(
        self, pipe: Any, scope: str, values: Mapping[str, int], stamp: str, oldest_minute: int
    ) -> None:
        """Queue max-register writes; minutes older than the live hour stay in the database only."""

        # EVAL rather than EVALSHA: one round trip, and nothing to reload after a Redis restart.
        def max_set(key: str, fields: Mapping[str, int]) -> None:
            args = [a for item in fields.items() for a in item]
            pipe.eval(MAX_SET, 1, key, *args, stamp)

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
        stamp = _iso(now)
        pipe = self.redis.pipeline(transaction=False)
        for slug, values in tallies.items():
            args = [a for item in values.items() for a in item]
            pipe.eval(MAX_SET, 1, campaign_key(slug, "tally"), *args, stamp)
            pipe.publish(self.updates_channel, json.dumps({"campaign": slug}))
        pipe.execute()

    def campaign_figures(self, slug: str) -> CampaignFigures:
        stored: dict[str, str] = self.redis.hgetall(campaign_key(slug, "tally"))  # type: ignore[assignment]
        figures = CampaignFigures(slug)
        for name, value in stored.items():
            kind, _, rest = name.partition(":")
            if kind == "social":
                platform, _, action = rest.partition(":")
                figures.social.setdefault(platform, {})[action] = int(value)
            elif kind == "visits":
                figures.visits[rest] = int(value)
        return figures

    def publish_appeal(self, info: Mapping[str, Any]) -> None:
        """Store an appeal's descriptive fields (title, goal, ...) for the screens."""
        slug = info["slug"]
        meta = {k: "" if v is None else str(v) for k, v in info.items() if k != "slug"}
        pipe = self.redis.pipeline(transaction=True)  # readers never see the meta half-written
        pipe.delete(appeal_key(slug, "meta"))
        mapping: dict[Any, Any] = {"slug": slug, **meta}
        pipe.hset(appeal_key(slug, "meta"), mapping=mapping)
        pipe.execute()
        self.redis.sadd(APPEALS, slug)

    # -- reads ------------------------------------------------------------------------------
    def slugs(self) -> list[str]:
        return sorted(self.redis.smembers(APPEALS))  # type: ignore[arg-type]

    def is_ready(self) -> bool:
        return bool(self.redis.exists(READY))

    def members(self) -> int:
        return int(self.redis.hget(NETWORK_TALLY, "members") or 0)

    def figures(self, slug: str, *, now: float | None = None, top: int = 10) -> AppealFigures | None:
        many = self.many_figures([slug], now=now, top=top)
        return many[0] if many else None

    def many_figures(
        self, slugs: Iterable[str], *, now: float | None = None, top: int = 10
    ) -> list[AppealFigures]:
        slugs = list(slugs)
        pipe = self.redis.pipeline(transaction=False)
        for slug in slugs:
            pipe.hgetall(appeal_key(slug, "meta"))
            pipe.hgetall(appeal_key(slug, "tally"))
            pipe.hgetall(appeal_key(slug, "minutes"))
            pipe.hgetall(appeal_key(slug, "seconds"))
            pipe.lrange(appeal_key(slug, "recent"), 0, 19)
        results = pipe.execute()
        moment = time.time() if now is None else now
        figures = []
        for i, slug in enumerate(slugs):
            meta, tally, minutes, seconds, recent = results[i * 5 : i * 5 + 5]
            if not meta:
                continue
            figures.append(_figures(slug, meta, tally, minutes, seconds, recent, moment, top))
        return figures

    def total(self, slug: str) -> int | None:
        value = self.redis.hget(appeal_key(slug, "tally"), "total")
        exists = value is not None or self.redis.exists(appeal_key(slug, "meta"))
        return int(value or 0) if exists else None

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

    # -- rebuild from the database --------------------------------------------------------------
    def refresh(
        self, engine: Engine, vault: PhoneVault, *, force: bool = False, now: datetime | None = None
    ) -> list[str]:
        """Copy every figure from the database; ``force`` also lowers figures that are too high.

        Returns the differences found, one line each (what ``campaign reconcile`` reports).
        """
        moment = now or datetime.now(UTC)
        token = self.begin_rebuild()
        snapshot = DatabaseSnapshot.read(engine, vault, moment)
        differences: list[str] = []
        stamp = _iso(moment.timestamp())
        for info in snapshot.appeals.values():
            self.publish_appeal(info)
        known = set(snapshot.appeals)
        # Removing is lowering, so only ``force`` does it: an appeal added while a routine
        # rebuild runs is missing from its snapshot, not from the database.
        for stale in set(self.slugs()) - known:
            differences.append(f"{stale}: in Redis but not in the database" + ("; removed" if force else ""))
            if force:
                self.redis.delete(*(appeal_key(stale, p) for p in ("meta", "tally", "minutes")))
                self.redis.srem(APPEALS, stale)
        for scope, values in snapshot.tallies.items():
            key = NETWORK_TALLY if scope == "*" else appeal_key(scope, "tally")
            differences += self._sync_hash(key, scope, values, force, stamp)
        for slug, values in snapshot.campaign_tallies.items():
            differences += self._sync_hash(
                campaign_key(slug, "tally"), f"campaign {slug}", values, force, stamp
            )
        for slug, values in snapshot.minutes.items():
            key = appeal_key(slug, "minutes")
            differences += self._sync_hash(key, slug, values, force, stamp, label="minute ")
            current = self.redis.hkeys(key)
            oldest = epoch_minute(moment) - MINUTES_KEPT
            old = [m for m in current if not m.isdigit() or int(m) < oldest]
            if old:
                self.redis.hdel(key, *old)
        for slug in known:
            key = appeal_key(slug, "seconds")
            pipe = self.redis.pipeline()
            pipe.delete(key)
            if snapshot.seconds.get(slug):
                pipe.hset(key, mapping={str(k): v for k, v in snapshot.seconds[slug].items()})
                pipe.expire(key, SECONDS_KEPT)
            pipe.execute()
            recent_key = appeal_key(slug, "recent")
            if self.redis.type(recent_key) not in ("list", "none"):
                self.redis.delete(recent_key)  # written as a stream by an earlier version
            if not self.redis.exists(recent_key) and snapshot.recent.get(slug):
                entries = [_ticker_entry(signed) for signed in reversed(snapshot.recent[slug])]
                self.redis.lpush(recent_key, *entries)
        self.mark_ready(token, stamp)
        for scope, values in snapshot.tallies.items():
            if scope != "*":
                self._announce_total(scope, values.get("total", 0))
        return differences

    # -- the work stream (Redis Streams consumer group) -----------------------------------------
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

    def refresh_appeals(self, engine: Engine, slugs: Iterable[str] | None, grace: float = 0.5) -> list[str]:
        """Raise appeals' tallies in Redis to the database's (max-registers); report what was low.

        ``None`` means every appeal.  A figure that is low only because its writer has not
        got there yet is not a loss: figures still low after ``grace`` seconds are raised.
        """
        wanted = self._database_tallies(engine, None if slugs is None else set(slugs))
        low = {key: self._low_fields(key, values) for key, values in wanted.items()}
        if any(low.values()) and grace:
            time.sleep(grace)
            low = {key: self._low_fields(key, values) for key, values in wanted.items()}
        stamp = _iso(None)
        raised: list[str] = []
        for key, fields in low.items():
            if not fields:
                continue
            values = wanted[key]
            raised += [
                f"{key}: {name} was {have} in Redis, {values[name]} in the database" for name, have in fields
            ]
            args: list[Any] = [a for item in values.items() for a in item]
            if self._max_set(keys=[key], args=[*args, stamp]) and key.endswith(":tally"):
                slug = key.split("{a:", 1)[1].rsplit("}", 1)[0]
                self._announce_total(slug, values.get("total", 0))
        return raised

    def _announce_total(self, slug: str, total: int) -> None:
        self.redis.publish(self.updates_channel, json.dumps({"appeal": slug, "total": total}))

    def _low_fields(self, key: str, values: Mapping[str, int]) -> list[tuple[str, int]]:
        stored: dict[str, str] = self.redis.hgetall(key)  # type: ignore[assignment]
        return [
            (name, int(stored.get(name, 0)))
            for name, want in sorted(values.items())
            if int(stored.get(name, 0)) < want
        ]

    @staticmethod
    def _database_tallies(engine: Engine, slugs: set[str] | None) -> dict[str, dict[str, int]]:
        """The appeals' tallies and live-hour minutes, by Redis key."""
        with engine.connect() as connection:
            query = select(Appeal.slug, Appeal.id)
            if slugs is not None:
                query = query.where(Appeal.slug.in_(slugs))
            ids = dict(connection.execute(query).all())
            if not ids:
                return {}
            rows = connection.execute(
                select(Tally.appeal_id, Tally.kind, Tally.key, Tally.count).where(
                    Tally.appeal_id.in_(ids.values())
                )
            ).all()
        slug_of = {v: k for k, v in ids.items()}
        oldest = int(time.time()) // 60 - MINUTES_KEPT
        out: dict[str, dict[str, int]] = {}
        for appeal_id, kind, key, count in rows:
            slug = slug_of[appeal_id]
            if kind == "minute":
                if int(key) >= oldest:
                    out.setdefault(appeal_key(slug, "minutes"), {})[key] = count
            else:
                out.setdefault(appeal_key(slug, "tally"), {})[tally_field(kind, key)] = count
        return out

    def begin_rebuild(self) -> str:
        token = uuid.uuid4().hex
        self.redis.set(BUILDING, token)
        return token

    def mark_ready(self, token: str, stamp: str) -> None:
        """Mark the view built, unless Redis lost data (or another rebuild began) since ``token``.

        Without this, a FLUSHALL in the middle of a rebuild would leave the figures written
        before it missing while the view says it is ready, and nothing would rebuild it.
        """
        with self.redis.pipeline() as pipe:
            pipe.watch(BUILDING)  # a flush or another rebuild touches it: EXEC then fails
            if pipe.get(BUILDING) != token:
                raise redis.WatchError("Redis changed while the live view was rebuilt; rebuilding again")
            pipe.multi()
            pipe.set(READY, stamp)
            pipe.execute()

    def _sync_hash(
        self,
        key: str,
        scope: str,
        values: Mapping[str, int],
        force: bool,
        stamp: str,
        label: str = "",
    ) -> list[str]:
        stored: dict[str, str] = self.redis.hgetall(key)  # type: ignore[assignment]
        current = {k: v for k, v in stored.items() if k != "updated_at"}
        differences = []
        for name in sorted(set(values) | set(current)):
            want = values.get(name, 0)
            have = int(current.get(name, 0))
            if have != want:
                differences.append(f"{scope}: {label}{name} was {have} in Redis, {want} in the database")
        if force:
            pipe = self.redis.pipeline()
            pipe.delete(key)
            if values:
                mapping: dict[Any, Any] = dict(values)
                if key.endswith(":tally"):
                    mapping["updated_at"] = stamp
                pipe.hset(key, mapping=mapping)
            pipe.execute()
        elif values:
            args: list[Any] = [a for item in values.items() for a in item]
            self._max_set(keys=[key], args=[*args, stamp])
        return differences


@dataclass
class DatabaseSnapshot:
    """The database's figures, in the shape of the live view."""

    appeals: dict[str, dict[str, Any]]
    tallies: dict[str, dict[str, int]]
    minutes: dict[str, dict[str, int]]
    seconds: dict[str, dict[int, int]]
    recent: dict[str, list[Signed]]
    campaign_tallies: dict[str, dict[str, int]]

    @classmethod
    def read(cls, engine: Engine, vault: PhoneVault, moment: datetime) -> DatabaseSnapshot:
        with engine.connect() as connection:
            appeal_rows = (
                connection.execute(
                    select(
                        Appeal.id,
                        Appeal.slug,
                        Appeal.title,
                        Appeal.person,
                        Appeal.goal,
                        Appeal.status,
                        Campaign.slug.label("campaign"),
                    ).join(Campaign, Campaign.id == Appeal.campaign_id)
                )
                .mappings()
                .all()
            )
            slug_of = {row["id"]: row["slug"] for row in appeal_rows}
            appeals = {
                row["slug"]: {k: row[k] for k in ("slug", "title", "person", "goal", "status", "campaign")}
                for row in appeal_rows
            }
            tallies: dict[str, dict[str, int]] = {slug: {"total": 0} for slug in appeals}
            minutes: dict[str, dict[str, int]] = {slug: {} for slug in appeals}
            oldest_minute = epoch_minute(moment) - MINUTES_KEPT
            for appeal_id, kind, key, count in connection.execute(
                select(Tally.appeal_id, Tally.kind, Tally.key, Tally.count)
            ):
                if appeal_id == NETWORK:
                    tallies.setdefault("*", {})[tally_field(kind, key)] = count
                elif appeal_id in slug_of and kind == "minute":
                    if int(key) >= oldest_minute:
                        minutes[slug_of[appeal_id]][key] = count
                elif appeal_id in slug_of:
                    tallies[slug_of[appeal_id]][tally_field(kind, key)] = count
            seconds: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
            since = moment - timedelta(seconds=SECONDS_KEPT)
            for appeal_id, received_at in connection.execute(
                select(Signature.appeal_id, Signature.received_at).where(Signature.received_at >= since)
            ):
                seconds[slug_of[appeal_id]][int(received_at.timestamp())] += 1
            recent: dict[str, list[Signed]] = {}
            for appeal_id, slug in slug_of.items():
                rows = connection.execute(
                    select(
                        Signature.country,
                        Signature.channel,
                        Signature.received_at,
                        Supporter.phone_encrypted,
                    )
                    .join(Supporter, Supporter.id == Signature.supporter_id)
                    .where(Signature.appeal_id == appeal_id)
                    .order_by(Signature.id.desc())
                    .limit(20)
                )
                recent[slug] = [
                    Signed(slug, _masked(vault, encrypted), country, channel, received_at)
                    for country, channel, received_at, encrypted in rows
                ]
            campaign_tallies: dict[str, dict[str, int]] = {
                slug: {} for (slug,) in connection.execute(select(Campaign.slug))
            }
            for slug, kind, key, count in connection.execute(
                select(Campaign.slug, CampaignTally.kind, CampaignTally.key, CampaignTally.count).join(
                    Campaign, Campaign.id == CampaignTally.campaign_id
                )
            ):
                campaign_tallies[slug][f"{kind}:{key}"] = count
        return cls(appeals, tallies, minutes, dict(seconds), recent, campaign_tallies)


def recount(engine: Engine) -> dict[tuple[int, str, str], int]:
    """Tallies computed afresh from the signatures and supporters themselves."""
    counts: dict[tuple[int, str, str], int] = {}
    with engine.connect() as connection:
        for appeal_id, n in connection.execute(
            select(Signature.appeal_id, func.count()).group_by(Signature.appeal_id)
        ):
            counts[(appeal_id, "total", "")] = n
        for column, kind in ((Signature.channel, "channel"), (Signature.country, "country")):
            for appeal_id, key, n in connection.execute(
                select(Signature.appeal_id, column, func.count()).group_by(Signature.appeal_id, column)
            ):
                counts[(appeal_id, kind, key)] = n
        for appeal_id, received_at in connection.execute(select(Signature.appeal_id, Signature.received_at)):
            bucket = (appeal_id, "minute", str(epoch_minute(received_at)))
            counts[bucket] = counts.get(bucket, 0) + 1
        members = connection.scalar(
            select(func.count()).select_from(Supporter).where(Supporter.member_since.is_not(None))
        )
        if members:
            counts[(NETWORK, "members", "")] = members
    return counts


def recount_campaigns(engine: Engine) -> dict[tuple[int, str, str], int]:
    """Campaign tallies computed afresh from the social events themselves."""
    counts: dict[tuple[int, str, str], int] = {}
    with engine.connect() as connection:
        for campaign_id, platform, kind, attributes in connection.execute(
            select(SocialEvent.campaign_id, SocialEvent.platform, SocialEvent.kind, SocialEvent.attributes)
        ):
            if kind == "visit":
                key = (campaign_id, "visits", str((attributes or {}).get("referrer") or "direct"))
            else:
                key = (campaign_id, "social", f"{platform}:{kind}")
            counts[key] = counts.get(key, 0) + 1
    return counts


def _masked(vault: PhoneVault, encrypted: str | None) -> str:
    if not encrypted:
        return "(erased)"
    try:
        return mask(normalise(vault.decrypt(encrypted)))
    except ValueError:
        return "(unreadable)"


def _ticker_entry(signed: Signed) -> str:
    return json.dumps(
        {
            "number": signed.masked,
            "country": signed.country,
            "channel": signed.channel,
            "at": signed.received_at.astimezone(UTC).isoformat(timespec="seconds"),
        },
        ensure_ascii=False,
    )


def _iso(now: float | None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return moment.isoformat(timespec="seconds")


def _figures(
    slug: str,
    meta: dict[str, str],
    tally: dict[str, str],
    minutes: dict[str, str],
    seconds: dict[str, str],
    recent: list[str],
    now: float,
    top: int,
) -> AppealFigures:
    channels: dict[str, int] = {}
    countries: dict[str, int] = {}
    for name, value in tally.items():
        if name.startswith("channel:"):
            channels[name[8:]] = int(value)
        elif name.startswith("country:"):
            countries[name[8:]] = int(value)
    ranked = sorted(countries.items(), key=lambda item: (-item[1], item[0]))[:top]
    current_minute = int(now) // 60
    per_minute = [
        {
            "minute": datetime.fromtimestamp(m * 60, UTC).isoformat(timespec="minutes"),
            "signatures": int(minutes.get(str(m), 0)),
        }
        for m in range(current_minute - MINUTES_KEPT + 1, current_minute + 1)
    ]
    last_minute = sum(int(v) for k, v in seconds.items() if now - 60 < int(k) <= now)
    goal = meta.get("goal")
    return AppealFigures(
        slug=slug,
        title=meta.get("title", ""),
        person=meta.get("person", ""),
        campaign=meta.get("campaign", ""),
        status=meta.get("status", ""),
        goal=int(goal) if goal else None,
        signatures=int(tally.get("total", 0)),
        last_minute=last_minute,
        channels=channels,
        countries=[{"country": code, "name": country_name(code), "signatures": n} for code, n in ranked],
        per_minute=per_minute,
        recent=[json.loads(entry) for entry in recent],
        updated_at=tally.get("updated_at"),
    )

"""Rebuilding the live view from the database, the source of truth.

``refresh`` copies every figure (``campaign reconcile`` and start-up); ``refresh_appeals``
raises the figures of some appeals that are still low (the workers); ``recount`` and
``recount_campaigns`` compute the database's tallies afresh from the raw records.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import Engine, func, select

from campaign.appeals.milestones import marks
from campaign.live import cluster, minute_tallies
from campaign.live.changes import Signed, epoch_minute, tally_field
from campaign.live.figures import LiveReads
from campaign.live.keys import (
    APPEALS,
    BUILDING,
    META_VERSION,
    MINUTES_KEPT,
    NETWORK_TALLY,
    READY,
    SECONDS_KEPT,
    appeal_key,
    appeal_of_key,
    campaign_key,
)
from campaign.live.writes import MAX_SET, LiveWrites, iso_stamp, ticker_entry
from campaign.storage import shards
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


class LiveRebuild(LiveWrites, LiveReads):
    """Brings Redis level with the database: every figure, or the low ones of some appeals."""

    def refresh(
        self, engine: Engine, vault: PhoneVault, *, force: bool = False, now: datetime | None = None
    ) -> list[str]:
        """Copy every figure from the database; ``force`` also lowers figures that are too high.

        Returns the differences found, one line each (what ``campaign reconcile`` reports).
        """
        moment = now or datetime.now(UTC)
        token = self.begin_rebuild()
        # Taken before the snapshot (see publish_appeal): an edit published, or a rebuild begun,
        # after this point holds newer meta than this snapshot, and keeps it.
        as_of = int(self.redis.incr(META_VERSION))
        snapshot = DatabaseSnapshot.read(engine, vault, moment)
        differences: list[str] = []
        stamp = iso_stamp(moment.timestamp())
        for info in snapshot.appeals.values():
            self.publish_appeal(info, as_of=as_of)
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
            self._sync_seconds(slug, snapshot.seconds.get(slug) or {}, force, stamp)
            recent_key = appeal_key(slug, "recent")
            if self.redis.type(recent_key) not in ("list", "none"):
                self.redis.delete(recent_key)  # written as a stream by an earlier version
            if not self.redis.exists(recent_key) and snapshot.recent.get(slug):
                entries = [ticker_entry(signed) for signed in reversed(snapshot.recent[slug])]
                self.redis.lpush(recent_key, *entries)
        self.mark_ready(token, stamp)
        for scope, values in snapshot.tallies.items():
            if scope != "*":
                self._announce_total(scope, values.get("total", 0))
        return differences

    def _sync_seconds(self, slug: str, counted: Mapping[int, int], force: bool, stamp: str) -> None:
        """The last two minutes' signatures per second (the rate on screens and the counter).

        Raised, never replaced, unless ``force``: a signature committed after the snapshot was
        read has already added its second here, and replacing the hash would drop it from the
        rate for a minute.
        """
        key = appeal_key(slug, "seconds")
        pipe = self.redis.pipeline()
        if force:
            pipe.delete(key)
            if counted:
                pipe.hset(key, mapping={str(k): v for k, v in counted.items()})
        elif counted:
            args = [a for second, count in counted.items() for a in (str(second), count)]
            pipe.execute_command("EVAL", MAX_SET, 1, key, *args, stamp)
        if counted:
            pipe.expire(key, SECONDS_KEPT)
        pipe.execute()

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
        stamp = iso_stamp(None)
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
                slug = appeal_of_key(key)
                self._announce_total(slug, values.get("total", 0))
        return raised

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
            rows = connection.execute(shards.summed(Tally.__table__, Tally.appeal_id.in_(ids.values()))).all()
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
        with self.redis.pipeline(transaction=True) as pipe:  # a cluster's takes WATCH only so
            pipe.watch(BUILDING)  # a flush or another rebuild touches it: EXEC then fails
            if pipe.get(BUILDING) != token:
                raise redis.WatchError("Redis changed while the live view was rebuilt; rebuilding again")
            pipe.multi()
            pipe.set(READY, stamp)
            pipe.execute()
        if cluster.is_cluster(self.redis):  # one more per master: see campaign.live.cluster
            markers = self.redis.pipeline(transaction=False)
            for key in cluster.markers(self.redis):
                markers.set(key, stamp)
            markers.execute()

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
                        Campaign.name.label("campaign_name"),
                        Appeal.private,
                        Appeal.milestones,
                        Appeal.stretch_step,
                    ).join(Campaign, Campaign.id == Appeal.campaign_id)
                )
                .mappings()
                .all()
            )
            slug_of = {row["id"]: row["slug"] for row in appeal_rows}
            shown = ("slug", "title", "person", "goal", "status", "campaign", "campaign_name")
            appeals = {
                row["slug"]: {
                    **{k: row[k] for k in shown},
                    "private": int(bool(row["private"])),
                    "milestones": ",".join(
                        str(m) for m in marks(row["milestones"] or (), row["goal"], row["stretch_step"])
                    ),
                }
                for row in appeal_rows
            }
            tallies: dict[str, dict[str, int]] = {slug: {"total": 0} for slug in appeals}
            minutes: dict[str, dict[str, int]] = {slug: {} for slug in appeals}
            oldest_minute = epoch_minute(moment) - MINUTES_KEPT
            for appeal_id, kind, key, count in connection.execute(shards.summed(Tally.__table__)):
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
            slug_of_campaign = dict(connection.execute(select(Campaign.id, Campaign.slug)).all())
            for campaign_id, kind, key, count in connection.execute(shards.summed(CampaignTally.__table__)):
                if campaign_id in slug_of_campaign:
                    campaign_tallies[slug_of_campaign[campaign_id]][f"{kind}:{key}"] = count
        return cls(appeals, tallies, minutes, dict(seconds), recent, campaign_tallies)


def recount(engine: Engine, first_minute: int | None = None) -> dict[tuple[int, str, str], int]:
    """Tallies computed afresh from the signatures and supporters themselves; minutes from
    ``first_minute`` on (default: the window of ``minute_tallies`` now)."""
    if first_minute is None:
        first_minute = minute_tallies.first_minute()
    since = datetime.fromtimestamp(first_minute * 60, UTC)
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
        recent = select(Signature.appeal_id, Signature.received_at).where(Signature.received_at >= since)
        for appeal_id, received_at in connection.execute(recent):
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

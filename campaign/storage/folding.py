"""Folding counter shards: the counts of shards 1 and up moved into shard 0, exactly.

Writers add to their own shard's rows (``campaign.storage.shards``), so a count the
write path bumps from many transactions ends up as up to ``SHARDS`` rows.  Folding moves
each such row into the key's shard-0 row and deletes it, a batch of one shard of one table per
transaction, so readers summing over the shards see the same figure before, during and after.

Exact under concurrent writers: on PostgreSQL the fold first takes the advisory locks of
the shard and of shard 0 in the writers' own lock space, so no writer claims either while
the fold runs (a shard a writer holds is skipped until the next run).  Even a writer that
adds to one anyway (every shard taken) stays counted: the DELETE locks each row and returns
the count of the version it removed, and an addition after that makes a new row, folded next
time.  Rows are locked in key order, as a writer's ``add`` takes them, so the two do not
deadlock (were they to, PostgreSQL rolls one back whole, and nothing is half done).  Rollups fold
only periods that are over (the current hour, day or month would be sharded again at once).
SQLite has one writer at a time and uses shard 0 only; the fold works there all the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Engine, Table, delete, select, text, tuple_

from campaign.storage import shards
from campaign.storage.models import (
    CampaignTally,
    MemberHour,
    SignatureDay,
    SignatureHour,
    SignatureMonth,
    SocialHour,
    Tally,
)

TABLES = tuple(
    cast(Table, model.__table__)
    for model in (Tally, CampaignTally, SignatureHour, SignatureDay, SignatureMonth, MemberHour, SocialHour)
)
BATCH = 1000  # rows moved per transaction: short transactions, short row locks
TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:space, :shard)")


def fold(engine: Engine, *, budget: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """Fold every sharded table, at most ``budget`` rows in all; rows folded per table."""
    moment = now or datetime.now(UTC)
    left = budget
    out: dict[str, int] = {}
    for table in TABLES:
        out[table.name] = 0
        for shard in range(1, shards.SHARDS):
            while left is None or left > 0:
                limit = BATCH if left is None else min(BATCH, left)
                with engine.begin() as connection:
                    moved = fold_batch(connection, table, shard, limit, moment)
                out[table.name] += moved or 0
                if left is not None:
                    left -= moved or 0
                if moved is None or moved < limit:
                    break  # the shard is done, or a writer holds it
    return out


def fold_batch(connection: Connection, table: Table, shard: int, limit: int, now: datetime) -> int | None:
    """Move up to ``limit`` rows of ``shard`` into shard 0; None if a writer holds it or shard 0."""
    if not hold(connection, shard):
        return None
    keys = shards.key_columns(table)
    where = [table.c.shard == shard]
    closed = closed_before(keys[0].name, now)
    if closed is not None:
        where.append(keys[0] < closed)
    batch = select(*keys).where(*where).order_by(*keys).limit(limit).with_for_update()
    removed = connection.execute(
        delete(table).where(*where, tuple_(*keys).in_(batch)).returning(*keys, table.c["count"])
    ).all()
    if not removed:
        return 0
    shards.add_to_shard(connection, table, 0, {tuple(row[:-1]): int(row[-1]) for row in removed})
    return len(removed)


def hold(connection: Connection, shard: int) -> bool:
    """Take ``shard``'s and shard 0's advisory locks for this transaction, if no one holds them.

    Shard 0 too: writers then go elsewhere instead of waiting for the rows a fold adds there.
    SQLite has one writer at a time: always True.
    """
    if connection.dialect.name != "postgresql":
        return True
    return all(
        connection.execute(TRY_LOCK, {"space": shards.LOCK_CLASS, "shard": locked}).scalar()
        for locked in dict.fromkeys((shard, 0))
    )


def closed_before(unit: str, now: datetime) -> int | None:
    """The first period of ``unit`` not over yet at ``now``; None for a table without periods."""
    utc = now.astimezone(UTC)
    seconds = int(utc.timestamp())
    if unit == "hour":
        return seconds // 3600
    if unit == "day":
        return seconds // 86400
    if unit == "month":
        return (utc.year - 1970) * 12 + utc.month - 1
    return None


def rows_beyond_shard_zero(connection: Connection) -> dict[str, int]:
    """How many rows each table has outside shard 0 (what a fold would move, open periods too)."""
    out: dict[str, int] = {}
    for table in TABLES:
        found = connection.execute(select(text("count(*)")).select_from(table).where(table.c.shard != 0))
        out[table.name] = int(found.scalar() or 0)
    return out

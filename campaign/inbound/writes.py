"""The statements the write path shares: supporters upserted, signatures inserted, tallies bumped.

Tallies are counter shards (``campaign.storage.shards``): a batch adds to its own shard's rows
and reads each figure as the sum over the shards.

Used by the SMS batch (``campaign.inbound.sms_batch``) and by ``Recorder.record_signatures``.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from campaign.inbound import copy_writes, sqlite_writes
from campaign.inbound.directory import Directory
from campaign.live import minute_tallies
from campaign.live.changes import LiveChanges, epoch_minute, tally_field
from campaign.storage import shards
from campaign.storage.db import insert_for
from campaign.storage.models import NETWORK, Signature, Supporter, Tally
from campaign.supporters.phones import Sender


def upsert_supporters(
    connection: Connection, senders: Iterable[tuple[Sender, datetime]]
) -> dict[str, dict[str, Any]]:
    """Create supporters not seen before; return every sender's row by phone hash."""
    first: dict[str, tuple[Sender, datetime]] = {}
    latest: dict[str, datetime] = {}
    for sender, seen_at in senders:
        first.setdefault(sender.phone_hash, (sender, seen_at))
        latest[sender.phone_hash] = max(seen_at, latest.get(sender.phone_hash, seen_at))
    if not first:
        return {}
    hashes = sorted(first)
    bulk = _bulk_writes(connection, len(hashes))
    if bulk is not None:
        copied = [
            (h, first[h][0].phone_encrypted, first[h][0].country, first[h][1], latest[h]) for h in hashes
        ]
        return {row["phone_hash"]: row for row in bulk.upsert_supporters(connection, copied)}
    rows = [
        {
            "phone_hash": h,
            "phone_encrypted": first[h][0].phone_encrypted,
            "country": first[h][0].country,
            "first_seen_at": first[h][1],
            "subscribed": False,
            "opted_out": False,
            "last_active_at": latest[h],
        }
        for h in hashes
    ]
    connection.execute(_supporters_upsert(connection.dialect.name), rows)
    found = connection.execute(_SUPPORTERS_READ, {"hashes": hashes}).mappings()
    return {row["phone_hash"]: dict(row) for row in found}


_SUPPORTERS_READ = select(
    Supporter.id, Supporter.phone_hash, Supporter.latest_alert_appeal_id, Supporter.language
).where(Supporter.phone_hash.in_(bindparam("hashes", expanding=True)))  # built once, not per batch


@functools.cache
def _supporters_upsert(dialect: str) -> Any:
    """Built once per dialect: building an upsert costs more than a small batch's rows."""
    table = Supporter.__table__
    insert = insert_for(dialect, table)
    # A returning supporter's last activity moves forward (never back): what retention reads.
    return insert.on_conflict_do_update(
        index_elements=[table.c.phone_hash],
        set_={"last_active_at": insert.excluded.last_active_at},
        where=table.c.last_active_at.is_(None) | (table.c.last_active_at < insert.excluded.last_active_at),
    )


def insert_signatures(connection: Connection, rows: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """Insert signatures, ignoring pairs already signed; return the (appeal, supporter) added."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda row: (row["appeal_id"], row["supporter_id"]))
    bulk = _bulk_writes(connection, len(ordered))
    if bulk is not None:
        as_tuple = operator.itemgetter(*copy_writes.SIGNATURE_COLUMNS)
        return bulk.insert_signatures(connection, [as_tuple(row) for row in ordered])
    values = [{k: v for k, v in row.items() if not k.startswith("_")} for row in ordered]
    return {(a, s) for a, s in connection.execute(_signatures_insert(connection.dialect.name), values)}


def _bulk_writes(connection: Connection, rows: int) -> Any:
    """The module that writes a batch this large past SQLAlchemy's parameters, if any."""
    for module in (copy_writes, sqlite_writes):
        if module.worth_it(connection, rows):
            return module
    return None


@functools.cache
def _signatures_insert(dialect: str) -> Any:
    table = Signature.__table__
    return (
        insert_for(dialect, table).on_conflict_do_nothing().returning(table.c.appeal_id, table.c.supporter_id)
    )


def newly_signed(rows: list[dict[str, Any]], inserted: set[tuple[int, int]]) -> list[dict[str, Any]]:
    """The rows that added a signature: the first of each inserted pair, in batch order."""
    counted = []
    for row in rows:
        pair = (row["appeal_id"], row["supporter_id"])
        if pair in inserted:
            inserted.discard(pair)  # a second JA in the same batch is not counted again
            counted.append(row)
    return counted


def signature_increments(rows: Iterable[dict[str, Any]]) -> Counter[tuple[int, str, str]]:
    """The tallies the signatures add to; a minute only inside its window (``minute_tallies``)."""
    increments: Counter[tuple[int, str, str]] = Counter()
    first_minute = minute_tallies.first_minute()
    for row in rows:
        appeal_id = row["appeal_id"]
        increments[(appeal_id, "total", "")] += 1
        increments[(appeal_id, "channel", row["channel"])] += 1
        increments[(appeal_id, "country", row["country"])] += 1
        minute = epoch_minute(row["received_at"])
        if minute >= first_minute:
            increments[(appeal_id, "minute", str(minute))] += 1
    return increments


def bump_tallies(connection: Connection, increments: Counter[tuple[int, str, str]]) -> None:
    """Add to this transaction's shard of the tallies (their figures are read after the commit)."""
    shards.add(connection, Tally.__table__, increments)


def committed_tallies(
    connection: Connection,
    directory: Directory,
    names: Iterable[tuple[int, str, str]],
    changes: LiveChanges,
    read_inside: Mapping[tuple[int, str, str], int] | None = None,
) -> None:
    """Put the named tallies' figures, read just after the commit, in ``changes`` for Redis.

    If the database went away right after the commit, the figures the transaction read
    (``read_inside``) go instead: lower perhaps, never wrong, and the workers raise them.
    """
    figures = shards.committed(connection, Tally.__table__, names)
    if figures is None:
        figures = dict(read_inside or {})
    for (appeal_id, kind, key), count in figures.items():
        scope = "*" if appeal_id == NETWORK else directory.by_id[appeal_id].slug
        changes.tallies[scope][tally_field(kind, key)] = count

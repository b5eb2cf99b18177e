"""Folding counter shards back into shard 0, on the stack's database.

What a busy day leaves behind: ``keys`` tally figures of one appeal and ``hours`` closed hours
of its signature rollups, each a row in every one of the ``SHARDS`` shards.  They are written
with one ``executemany`` per table (the baseline: how fast this database takes the same rows),
then ``campaign.storage.folding.fold`` runs to the end, as ``campaign fold-shards`` does.
Checked afterwards: every figure's sum unchanged, no row left outside shard 0.  The bench's
rows are deleted again.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from campaign.storage import folding, shards
from campaign.storage.models import Appeal, SignatureHour, Tally

KIND = "channel"  # tallies of made-up channels: no figure of the stack's own is touched
CHANNEL = "bench"


@dataclass
class FoldResult:
    rows: int  # rows outside shard 0 before the fold
    write_seconds: float  # executemany of every seeded row (all shards, shard 0 included)
    written: int
    fold_seconds: float
    folded: int
    check: str

    @property
    def folded_per_second(self) -> float:
        return self.folded / self.fold_seconds if self.fold_seconds else 0.0

    @property
    def written_per_second(self) -> float:
        return self.written / self.write_seconds if self.write_seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "folded_per_second": round(self.folded_per_second, 1),
            "written_per_second": round(self.written_per_second, 1),
        }


def run(engine: Engine, appeal: str, keys: int, hours: int) -> FoldResult:
    with engine.connect() as connection:
        appeal_id = connection.scalar(select(Appeal.id).where(Appeal.slug == appeal))
    closed = int(datetime.now(UTC).timestamp()) // 3600 - 1  # the last hour that is over
    tallies = [
        {"appeal_id": appeal_id, "kind": KIND, "key": f"b{key:06d}", "shard": shard, "count": shard + 1}
        for key in range(keys)
        for shard in range(shards.SHARDS)
    ]
    rollups = [
        {
            "hour": closed - hour,
            "appeal_id": appeal_id,
            "channel": CHANNEL,
            "provider": "bench",
            "country": "ZZ",
            "shard": shard,
            "count": shard + 1,
        }
        for hour in range(hours)
        for shard in range(shards.SHARDS)
    ]
    try:
        began = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(insert(Tally), tallies)
            connection.execute(insert(SignatureHour), rollups)
        write_seconds = time.perf_counter() - began
        before = _sums(engine, appeal_id)
        outside = sum(1 for row in tallies + rollups if row["shard"] != 0)
        began = time.perf_counter()
        folded = sum(folding.fold(engine).values())
        fold_seconds = time.perf_counter() - began
        after = _sums(engine, appeal_id)
        left = _outside_shard_zero(engine, appeal_id)
        # The fold also moves rows other sections left behind: at least ours, none of ours left.
        check = "ok" if after == before and left == 0 and folded >= outside else "MISMATCH"
    finally:
        with engine.begin() as connection:
            connection.execute(delete(Tally).where(Tally.appeal_id == appeal_id, Tally.kind == KIND))
            connection.execute(
                delete(SignatureHour).where(
                    SignatureHour.appeal_id == appeal_id, SignatureHour.channel == CHANNEL
                )
            )
    return FoldResult(outside, write_seconds, len(tallies) + len(rollups), fold_seconds, folded, check)


def _outside_shard_zero(engine: Engine, appeal_id: int) -> int:
    with engine.connect() as connection:
        tallies = connection.scalar(
            select(func.count())
            .select_from(Tally)
            .where(Tally.appeal_id == appeal_id, Tally.kind == KIND, Tally.shard != 0)
        )
        hours = connection.scalar(
            select(func.count())
            .select_from(SignatureHour)
            .where(
                SignatureHour.appeal_id == appeal_id,
                SignatureHour.channel == CHANNEL,
                SignatureHour.shard != 0,
            )
        )
    return int(tallies or 0) + int(hours or 0)


def _sums(engine: Engine, appeal_id: int) -> dict[tuple[str, Any], int]:
    with engine.connect() as connection:
        tallies = connection.execute(
            select(Tally.key, func.sum(Tally.count))
            .where(Tally.appeal_id == appeal_id, Tally.kind == KIND)
            .group_by(Tally.key)
        )
        hours = connection.execute(
            select(SignatureHour.hour, func.sum(SignatureHour.count))
            .where(SignatureHour.appeal_id == appeal_id, SignatureHour.channel == CHANNEL)
            .group_by(SignatureHour.hour)
        )
        return {("tally", key): int(n) for key, n in tallies} | {("hour", h): int(n) for h, n in hours}


def lines(result: FoldResult) -> list[tuple[str, str]]:
    return [
        (
            "written (executemany)",
            f"{result.written_per_second:>9,.0f} rows/s   ({result.written:,} rows, every shard, in"
            f" {result.write_seconds:.2f} s)",
        ),
        (
            "folded into shard 0",
            f"{result.folded_per_second:>9,.0f} rows/s   ({result.folded:,} rows, {result.rows:,} of them"
            f" the bench's, in {result.fold_seconds:.2f} s, {folding.BATCH:,} per transaction)",
        ),
        ("  ratio", f"{result.folded_per_second / (result.written_per_second or 1):.0%} of the write speed"),
        ("  database check", f"sums unchanged, nothing left outside shard 0: {result.check}"),
    ]

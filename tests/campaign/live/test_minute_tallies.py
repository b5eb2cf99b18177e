"""Minute tallies only inside their window: an old signature adds none, reconcile stays exact,
the workers delete the minutes that fell out of the window."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from campaign.appeals import registry as appeals
from campaign.inbound import importer
from campaign.live import minute_tallies
from campaign.live.changes import epoch_minute
from campaign.live.keys import MINUTE_TALLIES_KEPT
from campaign.live.rebuild import recount
from campaign.live.reconcile import fix_tallies, reconcile
from campaign.live.worker import Worker
from campaign.runtime import Runtime
from campaign.storage import shards
from campaign.storage.models import Tally
from tests.campaign.inbound.test_recorder import live_equals_database

OLD = timedelta(minutes=MINUTE_TALLIES_KEPT + 30)  # before the window
RECENT = timedelta(minutes=5)


def import_at(runtime: Runtime, tmp_path: Path, *moments: datetime) -> None:
    lines = ["appeal,phone,signed_at"]
    lines += [f"hassan,+3162{i:07d},{m.isoformat()}" for i, m in enumerate(moments)]
    path = tmp_path / "signatures.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = importer.import_signatures(runtime.recorder, runtime.vault, path)
    assert report.imported == len(moments) and not report.errors
    runtime.live.apply(report.changes)


def minute_keys(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as connection:
        return set(connection.execute(select(Tally.key).where(Tally.kind == "minute")).scalars())


def test_an_old_signature_adds_no_minute_tally_a_recent_one_does(runtime: Runtime, tmp_path: Path) -> None:
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    now = datetime.now(UTC)
    import_at(runtime, tmp_path, now - OLD, now - timedelta(days=900), now - RECENT)
    assert minute_keys(runtime) == {str(epoch_minute(now - RECENT))}


def test_reconcile_is_exact_with_old_and_recent_signatures(runtime: Runtime, tmp_path: Path) -> None:
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    now = datetime.now(UTC)
    import_at(runtime, tmp_path, now - OLD, now - OLD, now - RECENT, now - timedelta(seconds=1))
    assert fix_tallies(runtime.engine) == []
    assert reconcile(runtime.engine, runtime.live, runtime.vault) == []
    live_equals_database(runtime, ["hassan"])
    hassan = runtime.recorder.directory().by_slug["hassan"].id
    assert recount(runtime.engine)[(hassan, "total", "")] == 4


def test_reconcile_leaves_minutes_before_the_window_alone(runtime: Runtime) -> None:
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    hassan = runtime.recorder.directory().by_slug["hassan"].id
    old = str(minute_tallies.first_minute() - 10)  # a tally written while its minute was recent
    with runtime.engine.begin() as connection:
        connection.execute(insert(Tally).values(appeal_id=hassan, kind="minute", key=old, shard=0, count=1))
    assert fix_tallies(runtime.engine) == []  # not compared: the workers delete it in time


def test_a_worker_deletes_minute_tallies_past_the_window(runtime: Runtime) -> None:
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    hassan = runtime.recorder.directory().by_slug["hassan"].id
    first = minute_tallies.first_minute(time.time())
    # Inside the window, or within the margin (by a minute: the clock may turn one meanwhile).
    kept = [first + 1, first - 1, first + 1 - minute_tallies.PRUNE_MARGIN]
    gone = [first - minute_tallies.PRUNE_MARGIN - 1, first - 500_000]
    rows = [
        {"appeal_id": hassan, "kind": "minute", "key": str(m), "shard": shard, "count": 1}
        for m in kept + gone
        for shard in (0, 3)
    ]
    with runtime.engine.begin() as connection:
        connection.execute(insert(Tally), rows)
    worker = Worker(runtime, "w", settle=0, fold_every=3600)
    worker.fold_when_due()
    assert worker.pruned == 2 * len(gone)
    assert minute_keys(runtime) == {str(m) for m in kept}


def test_a_shard_a_writer_or_fold_holds_is_pruned_next_time(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: every transaction uses shard 0")
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    hassan = runtime.recorder.directory().by_slug["hassan"].id
    old = str(minute_tallies.first_minute() - minute_tallies.PRUNE_MARGIN - 10)
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(Tally),
            [{"appeal_id": hassan, "kind": "minute", "key": old, "shard": s, "count": 1} for s in (0, 3, 5)],
        )
    with runtime.engine.connect() as holder, holder.begin():  # a fold of shard 5 under way
        holder.execute(text("SELECT pg_advisory_xact_lock(:space, 5)"), {"space": shards.LOCK_CLASS})
        assert minute_tallies.prune(runtime.engine) == 2
    with runtime.engine.connect() as connection:
        left = connection.execute(select(Tally.shard).where(Tally.kind == "minute")).scalars().all()
    assert left == [5]
    assert minute_tallies.prune(runtime.engine) == 1
    assert minute_keys(runtime) == set()

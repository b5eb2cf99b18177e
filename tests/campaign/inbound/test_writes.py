"""The write path's shared statements: a batch big enough for COPY (PostgreSQL) does what a small one does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from campaign.appeals import registry as appeals
from campaign.inbound.copy_writes import COPY_FROM
from campaign.inbound.writes import insert_signatures, upsert_supporters
from campaign.runtime import Runtime
from campaign.storage.models import Signature, Supporter

THEN = datetime(2008, 2, 27, 20, 15, tzinfo=UTC)
LATER = THEN + timedelta(days=1)


def last_active(runtime: Runtime) -> dict[str, datetime | None]:
    with runtime.engine.connect() as connection:
        return dict(connection.execute(select(Supporter.phone_hash, Supporter.last_active_at)).all())


def large_batch_of_supporters(runtime: Runtime) -> tuple[int, list[int]]:
    """An appeal and a batch of supporters large enough for the bulk statements, seen at THEN."""
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    appeal = runtime.recorder.directory().by_slug["hassan"]
    senders = [runtime.vault.sender(f"+3162{index:07d}") for index in range(COPY_FROM + 10)]
    with runtime.engine.begin() as connection:
        ids = [row["id"] for row in upsert_supporters(connection, [(s, THEN) for s in senders]).values()]
    return appeal.id, ids


def rows(appeal_id: int, supporters: list[int]) -> list[dict[str, object]]:
    return [
        {
            "appeal_id": appeal_id,
            "supporter_id": supporter_id,
            "channel": "sms",
            "provider": "import",
            "provider_message_id": f"file.csv:{supporter_id}",
            "country": "NL",
            "received_at": THEN,
            "_index": 0,
        }
        for supporter_id in supporters
    ]


def test_a_large_batch_upserts_supporters_as_a_small_one(runtime: Runtime) -> None:
    senders = [runtime.vault.sender(f"+3162{index:07d}") for index in range(COPY_FROM + 10)]
    with runtime.engine.begin() as connection:
        known = upsert_supporters(connection, [(s, THEN) for s in senders[:5]])
    with runtime.engine.begin() as connection:
        rows = upsert_supporters(connection, [(s, LATER) for s in senders] + [(senders[0], THEN)])
    assert set(rows) == {s.phone_hash for s in senders}
    assert all(rows[h]["id"] == row["id"] for h, row in known.items())  # the same supporters
    assert set(rows[senders[0].phone_hash]) == {"id", "phone_hash", "latest_alert_appeal_id", "language"}
    assert set(last_active(runtime).values()) == {LATER}  # moved forward to the latest text
    with runtime.engine.begin() as connection:
        upsert_supporters(connection, [(s, THEN) for s in senders])
    assert set(last_active(runtime).values()) == {LATER}  # never back


def test_a_large_batch_inserts_each_signature_once(runtime: Runtime) -> None:
    appeal_id, ids = large_batch_of_supporters(runtime)
    with runtime.engine.begin() as connection:
        assert insert_signatures(connection, rows(appeal_id, ids[:3])) == {(appeal_id, s) for s in ids[:3]}
    with runtime.engine.begin() as connection:
        added = insert_signatures(connection, rows(appeal_id, ids + ids[-2:]))  # two signed already
    assert added == {(appeal_id, s) for s in ids[3:]}


def test_a_large_batch_stores_times_as_a_small_one(runtime: Runtime) -> None:
    """Times compare as stored (text on SQLite): a large batch must store them in the same form."""
    appeal_id, ids = large_batch_of_supporters(runtime)
    with runtime.engine.begin() as connection:
        insert_signatures(connection, rows(appeal_id, ids))
    with runtime.engine.connect() as connection:
        signed = select(func.count()).select_from(Signature)
        assert connection.scalar(signed.where(Signature.received_at == THEN)) == len(ids)
        since = THEN - timedelta(seconds=1)
        assert connection.scalar(signed.where(Signature.received_at > since)) == len(ids)
        seen = select(func.count()).select_from(Supporter)
        assert connection.scalar(seen.where(Supporter.first_seen_at == THEN)) == len(ids)
        assert connection.scalar(seen.where(Supporter.last_active_at == THEN)) == len(ids)

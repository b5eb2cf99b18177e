"""The write path's shared statements: a batch big enough for COPY (PostgreSQL) does what a small one does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from campaign.appeals import registry as appeals
from campaign.inbound.copy_writes import COPY_FROM
from campaign.inbound.writes import insert_signatures, upsert_supporters
from campaign.runtime import Runtime
from campaign.storage.models import Supporter

THEN = datetime(2008, 2, 27, 20, 15, tzinfo=UTC)
LATER = THEN + timedelta(days=1)


def last_active(runtime: Runtime) -> dict[str, datetime | None]:
    with runtime.engine.connect() as connection:
        return dict(connection.execute(select(Supporter.phone_hash, Supporter.last_active_at)).all())


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
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    appeal = runtime.recorder.directory().by_slug["hassan"]
    senders = [runtime.vault.sender(f"+3162{index:07d}") for index in range(COPY_FROM + 10)]
    with runtime.engine.begin() as connection:
        ids = [row["id"] for row in upsert_supporters(connection, [(s, THEN) for s in senders]).values()]

    def rows(supporters: list[int]) -> list[dict[str, object]]:
        return [
            {
                "appeal_id": appeal.id,
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

    with runtime.engine.begin() as connection:
        assert insert_signatures(connection, rows(ids[:3])) == {(appeal.id, s) for s in ids[:3]}
    with runtime.engine.begin() as connection:
        added = insert_signatures(connection, rows(ids + ids[-2:]))  # two signed already in the batch
    assert added == {(appeal.id, s) for s in ids[3:]}

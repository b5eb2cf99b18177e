"""Folding counter shards: every key back to one row, the same figures, exact beside writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, delete, insert, select, text

from campaign.appeals.registry import AppealSummary
from campaign.history import queries as history
from campaign.history.filters import Filters, scope
from campaign.inbound.recorder import SignatureInput
from campaign.live.reconcile import reconcile
from campaign.runtime import Runtime
from campaign.storage import folding, shards
from campaign.storage.models import NETWORK, SignatureHour, Tally

MEMBERS = (NETWORK, "members", "")
TOTAL = (NETWORK, "total", "")
TALLIES = Tally.__table__
HOURS = SignatureHour.__table__
NOW = datetime(2008, 3, 1, 12, 30, tzinfo=UTC)  # the fold's clock: 2008-03-01 12:00 is the open hour


def spread(connection: Connection, table: Any) -> None:
    """Split every count over shards 0, 5 and 11, as concurrent writers would leave it."""
    rows = [row._asdict() for row in connection.execute(select(table))]
    connection.execute(delete(table))
    split = []
    for row in rows:
        parts = [row["count"] // 3, row["count"] // 3, row["count"] - 2 * (row["count"] // 3)]
        split += [row | {"shard": shard, "count": n} for shard, n in zip((0, 5, 11), parts, strict=True)]
    if split:
        connection.execute(insert(table), split)


def rows_of(connection: Connection, table: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]


def test_every_key_becomes_one_row_with_the_same_sum(runtime: Runtime) -> None:
    open_hour = folding.closed_before("hour", NOW)
    key = (0, 1, "sms", "twilio", "NL")
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(Tally),
            [
                {**dict(zip(("appeal_id", "kind", "key"), MEMBERS, strict=True)), "shard": s, "count": s + 1}
                for s in (0, 3, 7, 15)
            ],
        )
        connection.execute(
            insert(Tally), [{"appeal_id": NETWORK, "kind": "total", "key": "", "shard": 9, "count": 4}]
        )
        for hour in (open_hour - 1, open_hour):
            connection.execute(
                insert(SignatureHour),
                [
                    dict(
                        zip(
                            ("hour", "appeal_id", "channel", "provider", "country"),
                            (hour, *key[1:]),
                            strict=True,
                        )
                    )
                    | {"shard": s, "count": 2}
                    for s in (0, 2, 4)
                ],
            )
    folded = folding.fold(runtime.engine, now=NOW)
    assert folded["tallies"] == 4 and folded["signature_hours"] == 2  # the open hour stays as it is
    with runtime.engine.connect() as connection:
        assert rows_of(connection, TALLIES) == [
            (NETWORK, "members", "", 0, 1 + 4 + 8 + 16),
            (NETWORK, "total", "", 0, 4),
        ]
        hours = rows_of(connection, HOURS)
        assert hours[0] == (open_hour - 1, 1, "sms", "twilio", "NL", 0, 6)
        assert [row[-2:] for row in hours[1:]] == [(0, 2), (2, 2), (4, 2)]
        assert folding.rows_beyond_shard_zero(connection)["signature_hours"] == 2
    assert sum(folding.fold(runtime.engine, now=NOW).values()) == 0  # nothing left to fold
    folding.fold(runtime.engine, now=NOW + timedelta(hours=1))  # the hour is over: folded
    with runtime.engine.connect() as connection:
        assert sum(folding.rows_beyond_shard_zero(connection).values()) == 0


def test_a_budget_bounds_the_work_of_one_run(runtime: Runtime) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(Tally),
            [
                {"appeal_id": a, "kind": "total", "key": "", "shard": s, "count": 1}
                for a in range(10)
                for s in (0, 1, 2)
            ],
        )
    assert sum(folding.fold(runtime.engine, budget=15).values()) == 15
    assert sum(folding.fold(runtime.engine, budget=15).values()) == 5
    with runtime.engine.connect() as connection:
        assert connection.execute(shards.summed(TALLIES).order_by(Tally.appeal_id)).all() == [
            (a, "total", "", 3) for a in range(10)
        ]


def test_history_and_reconcile_give_the_same_answers_after_folding(
    runtime: Runtime, hassan: AppealSummary
) -> None:
    vault = runtime.vault
    at = datetime(2008, 2, 27, 20, tzinfo=UTC)
    inputs = [
        SignatureInput(
            "hassan",
            vault.sender(f"+3161234{n:04d}"),
            "sms",
            "twilio",
            f"i:{n}",
            at + timedelta(minutes=7 * n),
        )
        for n in range(30)
    ]
    _, changes = runtime.recorder.record_signatures(inputs)
    runtime.live.apply(changes)
    assert reconcile(runtime.engine, runtime.live, runtime.vault) == []
    with runtime.engine.begin() as connection:
        for table in folding.TABLES:
            spread(connection, table)

    def answers() -> tuple[Any, ...]:
        with runtime.engine.connect() as connection:
            where = scope(connection, Filters(), ZoneInfo("Europe/Amsterdam"))
            return (
                history.headline(connection, where),
                history.by_country(connection, where),
                history.over_time(connection, where),
                history.peaks(connection, where, 3),
                connection.execute(shards.summed(TALLIES).order_by(*shards.key_columns(TALLIES))).all(),
            )

    before = answers()
    assert before[0].signatures == 30
    assert reconcile(runtime.engine, runtime.live, runtime.vault) == []  # the spread changed no figure
    with runtime.engine.connect() as connection:
        assert folding.rows_beyond_shard_zero(connection)["tallies"] > 0
    folding.fold(runtime.engine, now=NOW)
    with runtime.engine.connect() as connection:
        assert sum(folding.rows_beyond_shard_zero(connection).values()) == 0
    assert answers() == before
    assert reconcile(runtime.engine, runtime.live, runtime.vault) == []
    assert runtime.live.figures("hassan").signatures == 30


def test_folding_beside_concurrent_writers_keeps_exact_sums(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: every transaction uses shard 0")
    engine = runtime.engine
    writers, rounds = 4, 60
    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with engine.connect() as connection:
                for n in range(rounds):
                    with connection.begin():
                        shards.add(connection, TALLIES, {MEMBERS: 1, TOTAL: n % 3 + 1})
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    folded = 0
    while any(thread.is_alive() for thread in threads):
        folded += folding.fold(engine)["tallies"]
    for thread in threads:
        thread.join()
    done.set()
    assert not failures
    folded += folding.fold(engine)["tallies"]
    expected = {MEMBERS: writers * rounds, TOTAL: writers * sum(n % 3 + 1 for n in range(rounds))}
    with engine.connect() as connection:
        assert shards.figures(connection, TALLIES, expected) == expected
        assert len(connection.execute(select(TALLIES)).all()) == 2  # one row per key
    assert folded > 0


def test_a_writer_falling_back_onto_the_shard_being_folded_stays_counted(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: every transaction uses shard 0")
    mine = shards.preferred()
    if mine == 0:
        pytest.skip("this process's preferred shard is 0, which a fold never empties")
    engine = runtime.engine
    with engine.begin() as connection:
        shards.add_to_shard(connection, TALLIES, mine, {MEMBERS: 5})
    with engine.connect() as holder, engine.connect() as folder, engine.connect() as writer:
        holder.begin()  # every shard but the folded one and 0 taken: the writer falls back onto it
        for shard in set(range(shards.SHARDS)) - {mine, 0}:
            holder.execute(text("SELECT pg_advisory_xact_lock(:c, :s)"), {"c": shards.LOCK_CLASS, "s": shard})
        folder.begin()
        assert folding.fold_batch(folder, TALLIES, mine, 10, NOW) == 1  # deleted, not committed yet
        added = threading.Event()

        def add() -> None:
            with writer.begin():
                shards.add(writer, TALLIES, {MEMBERS: 1})  # waits for the row the fold deleted
                assert shards.claim(writer) == mine
            added.set()

        thread = threading.Thread(target=add)
        thread.start()
        assert not added.wait(0.5)
        folder.commit()
        thread.join(30)
        assert added.is_set()
        holder.rollback()
    with engine.connect() as connection:
        assert rows_of(connection, TALLIES) == [
            (NETWORK, "members", "", 0, 5),  # what the fold moved
            (NETWORK, "members", "", mine, 1),  # the writer's, in a new row: folded next time
        ]
    folding.fold(engine)
    with engine.connect() as connection:
        assert rows_of(connection, TALLIES) == [(NETWORK, "members", "", 0, 6)]

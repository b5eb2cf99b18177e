"""Counter shards: concurrent transactions add to one count without waiting; the figure is exact."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from sqlalchemy import Connection, insert, inspect, select, text

from campaign.runtime import Runtime
from campaign.storage import db, shards
from campaign.storage.models import NETWORK, SignatureHour, Tally

MEMBERS = (NETWORK, "members", "")
TALLIES = Tally.__table__


def postgres_only(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: every transaction uses shard 0")


def no_waiting(connection: Connection) -> None:
    """Fail instead of waiting for a row lock (the test, not the code, puts a bound on it)."""
    connection.execute(text("SET LOCAL lock_timeout = '10s'"))


def test_figures_are_the_sum_over_the_shards(runtime: Runtime) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(Tally),
            [{"appeal_id": NETWORK, "kind": "members", "key": "", "shard": s, "count": 2} for s in (0, 3, 7)],
        )
        shards.add(connection, TALLIES, {MEMBERS: 1})
        assert shards.figures(connection, TALLIES, [MEMBERS, (NETWORK, "total", "")]) == {MEMBERS: 7}
    with runtime.engine.connect() as connection:
        assert connection.execute(shards.summed(TALLIES)).all() == [(NETWORK, "members", "", 7)]


def test_two_transactions_add_to_one_count_without_waiting(runtime: Runtime) -> None:
    postgres_only(runtime)
    engine = runtime.engine
    with engine.connect() as first, engine.connect() as second:
        first.begin()
        second.begin()
        no_waiting(second)
        shards.add(first, TALLIES, {MEMBERS: 1})
        shards.add(second, TALLIES, {MEMBERS: 2})  # did not wait for the first's row
        # The first has not committed: the second sees only its own addition.
        assert shards.figures(second, TALLIES, [MEMBERS]) == {MEMBERS: 2}
        assert shards.claim(first) != shards.claim(second)
        assert shards.claim(first) == shards.claim(first)  # one shard per transaction
        first.commit()
        # Read after its commit, on its connection: the second's figure includes the first's.
        second.commit()
        assert shards.committed(second, TALLIES, [MEMBERS]) == {MEMBERS: 3}
    with engine.connect() as connection:
        assert shards.figures(connection, TALLIES, [MEMBERS]) == {MEMBERS: 3}
        assert len(connection.execute(select(TALLIES)).all()) == 2  # one row per shard used


def test_with_every_shard_taken_transactions_share_one_and_stay_exact(runtime: Runtime) -> None:
    postgres_only(runtime)
    engine = runtime.engine
    with engine.connect() as holder, engine.connect() as first, engine.connect() as second:
        holder.begin()
        for shard in range(shards.SHARDS):
            holder.execute(text("SELECT pg_advisory_xact_lock(:c, :s)"), {"c": shards.LOCK_CLASS, "s": shard})
        first.begin()
        shards.add(first, TALLIES, {MEMBERS: 1})
        assert shards.claim(first) == shards.preferred()
        added = threading.Event()

        def add_second() -> None:
            with second.begin():
                shards.add(second, TALLIES, {MEMBERS: 1})  # waits for the first's row
                added.set()

        thread = threading.Thread(target=add_second)
        thread.start()
        assert not added.wait(0.5)  # the same shard's row: it waits, as before shards
        first.commit()
        thread.join(30)
        assert added.is_set()
        holder.rollback()
    with engine.connect() as connection:
        assert shards.figures(connection, TALLIES, [MEMBERS]) == {MEMBERS: 2}


def test_migration_sums_the_shards_going_down_and_keeps_them_going_up(runtime: Runtime) -> None:
    engine = runtime.engine
    with engine.begin() as connection:
        connection.execute(
            insert(Tally),
            [{"appeal_id": NETWORK, "kind": "members", "key": "", "shard": s, "count": 5} for s in (0, 1, 2)],
        )
    config = db.alembic_config(engine)
    command.downgrade(config, "0015")
    with engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("tallies")}
        assert "shard" not in columns
        assert connection.execute(text("SELECT appeal_id, kind, key, count FROM tallies")).all() == [
            (NETWORK, "members", "", 15)
        ]
        assert "ix_signature_hours_appeal_hour" in {
            i["name"] for i in inspect(connection).get_indexes("signature_hours")
        }
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert connection.execute(select(TALLIES)).all() == [(NETWORK, "members", "", 0, 15)]


def test_many_counts_at_once_add_as_few_do(runtime: Runtime) -> None:
    """Past ``BULK_FROM`` counts go to the driver in bulk: new keys made, known keys added to."""
    hours = SignatureHour.__table__
    many = {(hour, 1, "sms", "import", "NL"): hour % 3 + 1 for hour in range(shards.BULK_FROM + 10)}
    with runtime.engine.begin() as connection:
        shards.add(connection, hours, {(0, 1, "sms", "import", "NL"): 5, (7, 1, "sms", "import", "NL"): 1})
    with runtime.engine.begin() as connection:
        shards.add(connection, hours, many)
    with runtime.engine.connect() as connection:
        got = shards.figures(connection, hours, list(many))
    want = dict(many)
    want[(0, 1, "sms", "import", "NL")] += 5
    want[(7, 1, "sms", "import", "NL")] += 1
    assert got == want
